"""Dense and low-rank metrics estimated from a window of warm-up draws and gradients.

* :func:`dense_metric_estimate` is Stan's regularised sample covariance
  (Stan reference manual, "HMC algorithm parameters", "Euclidean metric";
  ``learn_covariance`` in ``dense_e_adaptation.hpp``):
  :math:`\\frac{n}{n + 5}\\Sigma + 10^{-3}\\frac{5}{n + 5} I`.
* :func:`low_rank_metric_estimate` is nutpie's low-rank-modified diagonal
  metric (Seyboldt, Carlson and Carpenter 2024, "Preconditioning HMC by
  minimizing Fisher divergence", section 4; nutpie's
  ``low_rank_modified_mass_matrix``): after the diagonal scaling
  :math:`\\sigma_i = \\sqrt{\\mathrm{sd}(q_i) / \\mathrm{sd}(\\partial_i\\log\\pi)}`,
  the metric is the geometric mean of the draws' covariance and the inverse
  of the gradients' covariance, which for a Gaussian target are both the
  posterior covariance. It is computed in the span of the draws and the
  gradients (dimension at most twice the number of draws, whatever the
  number of parameters), and only eigenvalues outside
  :math:`[1/c, c]` are kept, so that a leapfrog step costs
  :math:`O(\\text{dim} \\times \\text{rank})`.

The draws of the current estimation window live in a ring buffer,
:class:`DrawWindow`, whose rows are written in place.

The kernel calls an estimate through a first-class function
(:data:`WINDOW_ESTIMATES`, all with one signature), not directly: the code of
the eigen-decompositions is then compiled once, in its own library, only
when a run asks for that metric, instead of being linked, re-optimised and
re-emitted in every kernel function that reaches it.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from mixgraph.mcmc.metrics import Metric, metric_from_eigen

__all__ = [
    "LOW_RANK_EIGENVALUE_CUTOFF",
    "LOW_RANK_REGULARISATION",
    "WINDOW_ESTIMATES",
    "DrawWindow",
    "dense_metric_estimate",
    "low_rank_metric_estimate",
    "spd_geometric_mean",
    "dense_window_estimate",
    "low_rank_window_estimate",
    "no_window_estimate",
    "window_contents",
    "window_init",
    "window_push",
    "window_reset",
    "window_switch",
]


class DrawWindow(NamedTuple):
    """Ring buffer of the draws (and gradients) of the foreground estimation window.

    Attributes
    ----------
    draws, grads : ndarray of shape (capacity, dim)
        Rows ``start, start + 1, ... (mod capacity)``, ``count`` of them, oldest first.
    start, count : int
    background : int
        How many of the newest rows also belong to the background window.
    """

    draws: np.ndarray
    grads: np.ndarray
    start: int
    count: int
    background: int


@njit(nogil=True, cache=True, error_model="numpy")
def window_init(capacity: int, dim: int) -> DrawWindow:
    """An empty window holding at most ``capacity`` draws."""
    return DrawWindow(np.zeros((capacity, dim)), np.zeros((capacity, dim)), 0, 0, 0)


@njit(nogil=True, cache=True, error_model="numpy")
def window_push(window, position, logp_grad):
    """Add a draw to the foreground and the background (the oldest is dropped when full)."""
    capacity = window.draws.shape[0]
    if capacity == 0:
        return window
    row = (window.start + window.count) % capacity
    window.draws[row] = position
    window.grads[row] = logp_grad
    if window.count == capacity:
        return DrawWindow(window.draws, window.grads, (window.start + 1) % capacity,
                          window.count, min(window.background + 1, capacity))
    return DrawWindow(window.draws, window.grads, window.start, window.count + 1,
                      window.background + 1)


@njit(nogil=True, cache=True, error_model="numpy")
def window_switch(window):
    """The background becomes the foreground; a new background starts (nutpie's switch)."""
    capacity = max(window.draws.shape[0], 1)
    dropped = window.count - window.background
    return DrawWindow(window.draws, window.grads, (window.start + dropped) % capacity,
                      window.background, 0)


@njit(nogil=True, cache=True, error_model="numpy")
def window_reset(window):
    """Forget every draw (Stan: each slow window starts afresh)."""
    return DrawWindow(window.draws, window.grads, 0, 0, 0)


@njit(nogil=True, cache=True, error_model="numpy")
def window_contents(window):
    """Copies of the foreground's draws and gradients, oldest first, shape (count, dim)."""
    capacity = window.draws.shape[0]
    dim = window.draws.shape[1]
    draws = np.empty((window.count, dim))
    grads = np.empty((window.count, dim))
    for index in range(window.count):
        row = (window.start + index) % capacity
        draws[index] = window.draws[row]
        grads[index] = window.grads[row]
    return draws, grads


LOW_RANK_REGULARISATION = 1e-5
"""nutpie's ``mass_matrix_gamma``: the low-rank estimate's ridge, :math:`\\gamma n I`."""

LOW_RANK_EIGENVALUE_CUTOFF = 2.0
"""nutpie's ``mass_matrix_eigval_cutoff``: scaled eigenvalues in :math:`[1/c, c]` are dropped.

The value nutpie 0.16.8 samples with (its ``PyNutsSettings.LowRank()`` holds
2.0, nuts-rs's ``LowRankSettings::default``), although its ``sample``
docstring says 100. With 100, even a 2-D posterior correlation of 0.999
(scaled eigenvalues 44.7 and 1/44.7) is dropped and the metric is the
diagonal one.
"""


@njit(nogil=True, cache=True, error_model="numpy")
def _centred(values):
    """``values`` minus its column means."""
    return values - values.sum(axis=0) / values.shape[0]


@njit(nogil=True, cache=True, error_model="numpy")
def _scaled_metric(covariance):
    """Metric for a dense SPD ``covariance``: diagonal scaling, then the eigen-decomposition."""
    scale = np.sqrt(np.diag(covariance).copy())
    correlation = covariance / np.outer(scale, scale)
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    # C order, as in the low-rank estimate: one specialisation of metric_from_eigen.
    return metric_from_eigen(scale, np.maximum(eigenvalues, 1e-12),
                             np.ascontiguousarray(eigenvectors))


@njit(nogil=True, cache=True, error_model="numpy")
def dense_metric_estimate(draws: np.ndarray) -> Metric:
    """Stan's regularised covariance of ``draws`` (n, dim), as a (full-rank) metric.

    .. math:: M^{-1} = \\frac{n}{n + 5}\\hat\\Sigma + 10^{-3}\\frac{5}{n + 5} I

    with :math:`\\hat\\Sigma` the unbiased sample covariance (Stan reference
    manual, "HMC algorithm parameters").
    """
    count = draws.shape[0]
    centred = _centred(draws)
    covariance = (centred.T @ centred) / (count - 1.0)
    regularised = (count / (count + 5.0)) * covariance
    for index in range(draws.shape[1]):
        regularised[index, index] += 1e-3 * (5.0 / (count + 5.0))
    return _scaled_metric(regularised)


@njit(nogil=True, cache=True, error_model="numpy")
def _symmetric_power(matrix, power):
    """:math:`A^p` of a symmetric positive semi-definite matrix, by eigen-decomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    powered = np.maximum(eigenvalues, 1e-300) ** power
    return (eigenvectors * powered) @ eigenvectors.T


@njit(nogil=True, cache=True, error_model="numpy")
def spd_geometric_mean(draw_covariance, grad_covariance):
    """The SPD matrix :math:`S` with :math:`S\\, G\\, S = C`: the geometric mean of :math:`C` and :math:`G^{-1}`.

    .. math:: S = G^{-1/2} (G^{1/2} C G^{1/2})^{1/2} G^{-1/2}

    For a Gaussian target, :math:`C = \\mathrm{Cov}[q] = \\Sigma` and
    :math:`G = \\mathrm{Cov}[\\nabla\\log\\pi] = \\Sigma^{-1}`, and :math:`S = \\Sigma`
    (Seyboldt et al. 2024, section 3: the affine-invariant minimiser of the
    Fisher divergence for a Gaussian).
    """
    grad_half = _symmetric_power(grad_covariance, 0.5)
    grad_inverse_half = _symmetric_power(grad_covariance, -0.5)
    middle = grad_half @ draw_covariance @ grad_half
    middle = 0.5 * (middle + middle.T)
    return grad_inverse_half @ _symmetric_power(middle, 0.5) @ grad_inverse_half


@njit(nogil=True, cache=True, error_model="numpy")
def _diagonal_scale(centred_draws, centred_grads, previous_scale):
    """nutpie's scale :math:`\\sqrt{\\mathrm{sd}(q) / \\mathrm{sd}(\\nabla\\log\\pi)}`, per coordinate."""
    scale = previous_scale.copy()
    for index in range(scale.shape[0]):
        draw_sd = np.sqrt(np.sum(centred_draws[:, index] ** 2))
        grad_sd = np.sqrt(np.sum(centred_grads[:, index] ** 2))
        ratio = draw_sd / grad_sd if grad_sd > 0.0 else np.nan
        if np.isfinite(ratio) and ratio > 0.0:
            scale[index] = min(max(np.sqrt(ratio), 1e-10), 1e10)
    return scale


@njit(nogil=True, cache=True, error_model="numpy")
def low_rank_metric_estimate(draws, grads, previous_scale, regularisation=LOW_RANK_REGULARISATION,
                             eigenvalue_cutoff=LOW_RANK_EIGENVALUE_CUTOFF):
    """nutpie's low-rank-modified diagonal metric from ``draws`` and ``grads`` (n, dim).

    Parameters
    ----------
    draws, grads : ndarray of shape (n, dim)
    previous_scale : ndarray of shape (dim,)
        Kept for coordinates whose draws or gradients do not vary.
    regularisation : float
        :math:`\\gamma`: both covariances get :math:`\\gamma n I` added (nutpie's
        ``mass_matrix_gamma``, 1e-5).
    eigenvalue_cutoff : float
        :math:`c`: eigenvalues in :math:`[1/c, c]` are dropped (nutpie's
        ``mass_matrix_eigval_cutoff``, 2).

    Returns
    -------
    Metric
    """
    count = draws.shape[0]
    centred_draws, centred_grads = _centred(draws), _centred(grads)
    scale = _diagonal_scale(centred_draws, centred_grads, previous_scale)
    scaled_draws = centred_draws / scale
    scaled_grads = centred_grads * scale
    # Orthonormal basis of the span of the draws and the gradients: outside
    # it both covariances are the ridge alone and their mean is the identity.
    span = np.ascontiguousarray(np.concatenate((scaled_draws, scaled_grads)).T)
    basis, _ = np.linalg.qr(span)
    projected_draws = scaled_draws @ basis
    projected_grads = scaled_grads @ basis
    ridge = regularisation * count * np.eye(basis.shape[1])
    draw_covariance = projected_draws.T @ projected_draws / count + ridge
    grad_covariance = projected_grads.T @ projected_grads / count + ridge
    mean = spd_geometric_mean(draw_covariance, grad_covariance)
    eigenvalues, eigenvectors = np.linalg.eigh(0.5 * (mean + mean.T))
    keep = (eigenvalues > eigenvalue_cutoff) | (eigenvalues < 1.0 / eigenvalue_cutoff)
    kept_vectors = np.ascontiguousarray(basis @ np.ascontiguousarray(eigenvectors[:, keep]))
    return metric_from_eigen(scale, eigenvalues[keep], kept_vectors)


# The three share one signature, the kernel's ESTIMATE_SIGNATURE:
# (draws, grads, previous_scale, regularisation, eigenvalue_cutoff) -> Metric.
@njit(nogil=True, cache=True, error_model="numpy")
def dense_window_estimate(draws, grads, previous_scale, regularisation, eigenvalue_cutoff):
    """:func:`dense_metric_estimate` of ``draws`` (the other arguments are unused)."""
    return dense_metric_estimate(draws)


@njit(nogil=True, cache=True, error_model="numpy")
def low_rank_window_estimate(draws, grads, previous_scale, regularisation, eigenvalue_cutoff):
    """:func:`low_rank_metric_estimate` with every argument."""
    return low_rank_metric_estimate(draws, grads, previous_scale, regularisation,
                                    eigenvalue_cutoff)


@njit(nogil=True, cache=True, error_model="numpy")
def no_window_estimate(draws, grads, previous_scale, regularisation, eigenvalue_cutoff):
    """The diagonal metric's placeholder (never called): the previous scale, unchanged."""
    return Metric(previous_scale.copy(), np.zeros((previous_scale.shape[0], 0)), np.zeros(0),
                  np.zeros(0))


WINDOW_ESTIMATES = {
    "diag": no_window_estimate,
    "dense": dense_window_estimate,
    "low_rank": low_rank_window_estimate,
}
"""The window estimate handed to the kernel for each ``metric=``."""
