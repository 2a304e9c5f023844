"""Pareto-smoothed importance sampling, in NumPy on one vector of log ratios.

Vehtari, Simpson, Gelman, Yao and Gabry (2024), "Pareto smoothed importance
sampling", JMLR 25(72): the largest ``M = ceil(min(S / 5, 3 sqrt(S)))`` of
``S`` importance ratios are replaced by the expected order statistics of a
generalised Pareto distribution fitted to them (section 3), whose shape ``k``
is the diagnostic (above 0.7 the estimate is unreliable). The fit is the
empirical Bayes estimate of Zhang and Stephens (2009), "A new and efficient
estimation method for the generalized Pareto distribution", Technometrics
51(3), with the weakly informative prior on ``k`` of Vehtari et al.,
appendix C. The numbers are ArviZ's ``psislw`` (tested to 1e-10); done here
because ``psislw`` goes through xarray, whose first call in a process imports
Dask when it is installed (0.14 s, a third of a small model's Pathfinder
start in a new process).
"""

from __future__ import annotations

import numpy as np

__all__ = ["generalized_pareto_fit", "generalized_pareto_quantiles", "pareto_smoothed_log_weights"]

_PRIOR_SCALE = 3.0
"""Zhang and Stephens' prior scale for the grid of ``theta = -k / sigma`` values."""

_PRIOR_K_COUNT = 10.0
"""Weight, in observations, of the prior that pulls ``k`` towards 0.5 (Vehtari et al., appendix C)."""

_LOG_TINY = float(np.log(np.finfo(float).tiny))


def generalized_pareto_fit(exceedances: np.ndarray) -> tuple[float, float]:
    """Shape ``k`` and scale ``sigma`` of a generalised Pareto distribution fitted to ``exceedances``.

    Zhang and Stephens (2009): the profile likelihood of ``theta = -k / sigma``
    is evaluated on a grid of ``30 + sqrt(n)`` points derived from the sample
    quartile and maximum, and ``theta`` is its posterior mean under those
    weights; ``k`` is then shrunk towards 0.5 by ten pseudo-observations.

    Parameters
    ----------
    exceedances : ndarray of shape (n,)
        Positive values, sorted ascending.

    Returns
    -------
    (float, float)
    """
    size = exceedances.size
    grid_size = 30 + int(size ** 0.5)
    quartile = exceedances[int(size / 4 + 0.5) - 1]
    grid = 1.0 - np.sqrt(grid_size / (np.arange(1, grid_size + 1, dtype=float) - 0.5))
    theta = grid / (_PRIOR_SCALE * quartile) + 1.0 / exceedances[-1]
    shapes = np.log1p(-theta[:, None] * exceedances).mean(axis=1)
    profile = size * (np.log(-theta / shapes) - shapes - 1.0)
    weights = 1.0 / np.exp(profile - profile[:, None]).sum(axis=1)
    kept = weights >= 10 * np.finfo(float).eps
    weights, theta = weights[kept], theta[kept]
    theta_mean = np.sum(theta * weights / weights.sum())
    shape = np.log1p(-theta_mean * exceedances).mean()
    scale = -shape / theta_mean
    shape = (size * shape + _PRIOR_K_COUNT * 0.5) / (size + _PRIOR_K_COUNT)
    return float(shape), float(scale)


def generalized_pareto_quantiles(probabilities: np.ndarray, shape: float, scale: float) -> np.ndarray:
    """The generalised Pareto distribution's quantiles at ``probabilities`` (all in (0, 1))."""
    if scale <= 0:
        return np.full_like(probabilities, np.nan)
    if abs(shape) < np.finfo(float).eps:
        return -scale * np.log1p(-probabilities)
    return scale * np.expm1(-shape * np.log1p(-probabilities)) / shape


def pareto_smoothed_log_weights(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised Pareto-smoothed log weights of ``log_ratios`` (finite), and the Pareto ``k``.

    With at most 4 ratios above the tail's threshold ``k`` is ``inf`` and the
    weights are the raw ones, normalised; so are they when the fit fails.

    Parameters
    ----------
    log_ratios : ndarray of shape (S,)

    Returns
    -------
    (ndarray of shape (S,), float)
    """
    shifted = np.array(log_ratios, dtype=np.float64) - np.max(log_ratios)
    tail_length = int(np.ceil(min(shifted.size / 5.0, 3 * shifted.size ** 0.5)))
    threshold = max(np.sort(shifted)[-tail_length - 1], _LOG_TINY) if tail_length < shifted.size else _LOG_TINY
    (tail,) = np.nonzero(shifted > threshold)
    shape = np.inf
    if tail.size > 4:
        tail = tail[np.argsort(shifted[tail])]
        shape, scale = generalized_pareto_fit(np.exp(shifted[tail]) - np.exp(threshold))
        if np.isfinite(shape):
            expected = generalized_pareto_quantiles(np.arange(0.5, tail.size) / tail.size, shape, scale)
            shifted[tail] = np.minimum(np.log(expected + np.exp(threshold)), 0.0)
    log_total = np.max(shifted) + np.log(np.sum(np.exp(shifted - np.max(shifted))))
    return shifted - log_total, shape
