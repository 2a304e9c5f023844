"""Leapfrog (velocity Verlet) integration of Hamilton's equations under a Euclidean metric."""

from typing import NamedTuple

import numpy as np
from numba import njit

from mixgraph.mcmc.metrics import velocity

__all__ = ["PhasePoint", "evaluate_logp", "leapfrog"]


class PhasePoint(NamedTuple):
    """A point in phase space with its cached log-density and gradient.

    Attributes
    ----------
    position : ndarray of shape (dim,)
    momentum : ndarray of shape (dim,)
    velocity : ndarray of shape (dim,)
        :math:`M^{-1} p`, kept so that energies and U-turn checks need no
        further product with the metric.
    logp : float
        Log-density at ``position`` (the potential energy is ``-logp``).
    logp_grad : ndarray of shape (dim,)
        Gradient of the log-density at ``position``.
    """

    position: np.ndarray
    momentum: np.ndarray
    velocity: np.ndarray
    logp: float
    logp_grad: np.ndarray


@njit(nogil=True, cache=True, error_model="numpy")
def evaluate_logp(logp_fn, float_data, int_data, position):
    """Call the model's log-density and return ``(logp, logp_grad)``.

    Any non-finite value (in ``logp`` or in the gradient) is reported as
    ``logp = -inf``, so that the caller sees an infinite energy and flags a
    divergence instead of propagating NaN through the trajectory.

    Parameters
    ----------
    logp_fn : first-class function ``(position, grad_out, float_data, int_data) -> logp``
    float_data : ndarray of float64
    int_data : ndarray of int64
    position : ndarray of shape (dim,)

    Returns
    -------
    logp : float
    logp_grad : ndarray of shape (dim,)
    """
    logp_grad = np.empty_like(position)
    logp = logp_fn(position, logp_grad, float_data, int_data)
    if not np.isfinite(logp) or not np.all(np.isfinite(logp_grad)):
        logp = -np.inf
    return logp, logp_grad


@njit(nogil=True, cache=True, error_model="numpy")
def leapfrog(logp_fn, float_data, int_data, point, step_size, metric):
    """Take one leapfrog step from ``point``.

    .. math::
        p_{1/2} = p + \\tfrac{\\epsilon}{2} \\nabla \\log \\pi(q), \\quad
        q' = q + \\epsilon M^{-1} p_{1/2}, \\quad
        p' = p_{1/2} + \\tfrac{\\epsilon}{2} \\nabla \\log \\pi(q')

    (Betancourt 2017, section 5.1; Neal 2011, section 2.3.3). A negative
    ``step_size`` integrates backwards in time.

    Parameters
    ----------
    logp_fn : first-class function
        The model's log-density with gradient.
    float_data, int_data : ndarray
        Opaque buffers handed to ``logp_fn``.
    point : PhasePoint
    step_size : float
        Signed step size :math:`\\epsilon`.
    metric : mixgraph.mcmc.metrics.Metric

    Returns
    -------
    PhasePoint
        The new point; ``logp`` is ``-inf`` when the log-density or its
        gradient is not finite there.
    """
    half_step = 0.5 * step_size
    momentum_half = point.momentum + half_step * point.logp_grad
    position = point.position + step_size * velocity(momentum_half, metric)
    logp, logp_grad = evaluate_logp(logp_fn, float_data, int_data, position)
    momentum = momentum_half + half_step * logp_grad
    return PhasePoint(position, momentum, velocity(momentum, metric), logp, logp_grad)
