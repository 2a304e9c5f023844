"""Systematic resampling (Kitagawa 1996; Douc, Cappé and Moulines 2005, section 2.4)."""

import numpy as np
from numba import njit

__all__ = ["systematic_resampling"]


@njit(nogil=True, cache=True, error_model="numpy")
def systematic_resampling(rng, log_weights):
    """Indices of ``n`` particles drawn by systematic resampling.

    One uniform :math:`u \\sim U(0, 1)` places ``n`` evenly spaced points
    :math:`(u + k) / n`, ``k = 0..n-1``, on the cumulative normalised weights;
    particle ``i`` is copied once for every point in its interval. Each
    particle is copied :math:`\\lfloor n w_i \\rfloor` or
    :math:`\\lceil n w_i \\rceil` times, with mean :math:`n w_i`.

    Parameters
    ----------
    rng : numpy.random.Generator
    log_weights : ndarray of shape (n,)
        Unnormalised log weights; at least one must be finite.

    Returns
    -------
    ndarray of int64, shape (n,)
        Sorted ancestor indices.
    """
    count = log_weights.shape[0]
    weights = np.exp(log_weights - np.max(log_weights))
    cumulative = np.cumsum(weights / np.sum(weights))
    cumulative[-1] = 1.0  # guard against rounding: every point falls in some interval
    offset = rng.random()
    indices = np.empty(count, dtype=np.int64)
    ancestor = 0
    for k in range(count):
        point = (offset + k) / count
        while cumulative[ancestor] < point:
            ancestor += 1
        indices[k] = ancestor
    return indices
