"""Warm-up: initial step size, dual averaging and the diagonal mass matrix.

* :func:`find_reasonable_step_size` is Hoffman and Gelman (2014), algorithm 4.
* :func:`dual_averaging_update` is Hoffman and Gelman (2014), section 3.2.1 and
  algorithm 5 (Nesterov's dual averaging with the shrinkage point
  :math:`\\mu = \\log(10\\,\\epsilon_0)`).
* Two estimators of the inverse mass matrix from running moments:
  ``"nutpie"`` uses draws and gradients,
  :math:`M^{-1} = \\sqrt{\\mathrm{Var}[q] / \\mathrm{Var}[\\nabla\\log\\pi(q)]}`
  (Seyboldt, Carlson and Carpenter, nutpie's diagonal adaptation), and
  ``"stan"`` the regularised sample variance of the draws (Stan reference
  manual, "HMC algorithm parameters", section "Euclidean metric").

The schedules saying when each draw is collected and when the metric is
updated live in :mod:`mixgraph.mcmc.schedules`.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from mixgraph.mcmc.integrators import PhasePoint, leapfrog
from mixgraph.mcmc.metrics import draw_momentum, kinetic_energy, velocity

__all__ = [
    "INVERSE_MASS_LOWER",
    "INVERSE_MASS_UPPER",
    "DualAveragingState",
    "MomentsState",
    "dual_averaging_init",
    "dual_averaging_update",
    "find_reasonable_step_size",
    "initial_inverse_mass_matrix",
    "moments_init",
    "moments_update",
    "nutpie_inverse_mass_matrix",
    "stan_inverse_mass_matrix",
]

INVERSE_MASS_LOWER = 1e-10
INVERSE_MASS_UPPER = 1e10


class DualAveragingState(NamedTuple):
    """State of Nesterov dual averaging on :math:`\\log\\epsilon`.

    Attributes
    ----------
    iteration : int
        :math:`t`, the number of updates since the last restart.
    error_sum : float
        :math:`\\bar H_t`, the running average of ``target - acceptance``.
    log_step_size : float
        :math:`\\log\\epsilon_t`, used for the next transition during warm-up.
    log_step_size_bar : float
        :math:`\\log\\bar\\epsilon_t`, the averaged iterate used after warm-up.
    shrinkage_point : float
        :math:`\\mu`.
    """

    iteration: int
    error_sum: float
    log_step_size: float
    log_step_size_bar: float
    shrinkage_point: float


class MomentsState(NamedTuple):
    """Running means and sums of squared deviations (Welford) of draws and gradients."""

    count: int
    draw_mean: np.ndarray
    draw_sum_squares: np.ndarray
    grad_mean: np.ndarray
    grad_sum_squares: np.ndarray


@njit(nogil=True, cache=True, error_model="numpy")
def _acceptance_log_ratio(logp_fn, float_data, int_data, start, step_size, metric):
    """Log Metropolis ratio :math:`H_0 - H_1` of one leapfrog step (``-inf`` if not finite)."""
    initial_energy = -start.logp + kinetic_energy(start.momentum, start.velocity)
    point = leapfrog(logp_fn, float_data, int_data, start, step_size, metric)
    energy = -point.logp + kinetic_energy(point.momentum, point.velocity)
    log_ratio = initial_energy - energy
    return log_ratio if np.isfinite(log_ratio) else -np.inf


@njit(nogil=True, cache=True, error_model="numpy")
def find_reasonable_step_size(logp_fn, float_data, int_data, rng, position, logp, logp_grad,
                              metric, step_size):
    """Double or halve the step size until one step's acceptance crosses 1/2.

    Hoffman and Gelman (2014), algorithm 4: with one momentum draw, move
    :math:`\\epsilon \\leftarrow 2^a \\epsilon` while
    :math:`(p'/p)^a > 2^{-a}`, where :math:`a = \\pm 1` is fixed by the first
    step. Bounded to 100 trials and to :math:`[10^{-10}, 10^{7}]` (Stan
    stops at 1e7 too).

    Parameters
    ----------
    logp_fn : first-class function
    float_data, int_data : ndarray
    rng : numpy.random.Generator
    position : ndarray of shape (dim,)
    logp : float
    logp_grad : ndarray of shape (dim,)
    metric : mixgraph.mcmc.metrics.Metric
    step_size : float
        Starting guess.

    Returns
    -------
    float
    """
    momentum = draw_momentum(rng, metric)
    start = PhasePoint(position, momentum, velocity(momentum, metric), logp, logp_grad)
    log_half = np.log(0.5)
    log_ratio = _acceptance_log_ratio(logp_fn, float_data, int_data, start, step_size, metric)
    direction = 1.0 if log_ratio > log_half else -1.0
    for _ in range(100):
        # Stop once (p'/p)^a <= 2^-a, i.e. the ratio has crossed 1/2.
        if direction * log_ratio <= direction * log_half:
            break
        candidate = step_size * 2.0**direction
        if candidate < 1e-10 or candidate > 1e7:
            break
        step_size = candidate
        log_ratio = _acceptance_log_ratio(logp_fn, float_data, int_data, start, step_size,
                                          metric)
    return step_size


@njit(nogil=True, cache=True, error_model="numpy")
def dual_averaging_init(step_size: float) -> DualAveragingState:
    """Start (or restart) dual averaging around ``step_size``.

    The shrinkage point is :math:`\\mu = \\log(10\\,\\epsilon)` (Hoffman and
    Gelman 2014, section 3.2.1), which favours trying larger steps.
    """
    return DualAveragingState(0, 0.0, np.log(step_size), 0.0, np.log(10.0 * step_size))


@njit(nogil=True, cache=True, error_model="numpy")
def dual_averaging_update(state, acceptance_rate, target_accept, gamma, t0, kappa):
    """One dual-averaging update of the log step size.

    .. math::
        \\bar H_t = (1 - \\tfrac{1}{t + t_0}) \\bar H_{t-1}
                   + \\tfrac{1}{t + t_0} (\\delta - \\alpha_t), \\quad
        \\log\\epsilon_t = \\mu - \\tfrac{\\sqrt t}{\\gamma} \\bar H_t, \\quad
        \\log\\bar\\epsilon_t = t^{-\\kappa} \\log\\epsilon_t
                             + (1 - t^{-\\kappa}) \\log\\bar\\epsilon_{t-1}

    (Hoffman and Gelman 2014, equation 6 and algorithm 5.)

    Parameters
    ----------
    state : DualAveragingState
    acceptance_rate : float
        :math:`\\alpha_t`, mean Metropolis acceptance of the last transition.
    target_accept : float
        :math:`\\delta`, e.g. 0.8.
    gamma, t0, kappa : float
        0.05, 10 and 0.75 in Hoffman and Gelman (and Stan).

    Returns
    -------
    DualAveragingState
    """
    if not np.isfinite(acceptance_rate):
        acceptance_rate = 0.0
    iteration = state.iteration + 1
    weight = 1.0 / (iteration + t0)
    error_sum = (1.0 - weight) * state.error_sum + weight * (target_accept - acceptance_rate)
    log_step_size = state.shrinkage_point - np.sqrt(iteration) / gamma * error_sum
    averaging_weight = iteration ** (-kappa)
    log_step_size_bar = (averaging_weight * log_step_size
                         + (1.0 - averaging_weight) * state.log_step_size_bar)
    return DualAveragingState(iteration, error_sum, log_step_size, log_step_size_bar,
                              state.shrinkage_point)


@njit(nogil=True, cache=True, error_model="numpy")
def initial_inverse_mass_matrix(logp_grad: np.ndarray) -> np.ndarray:
    """nutpie's starting metric :math:`M^{-1}_{ii} = 1 / |\\partial_i \\log\\pi|`.

    Where the gradient is zero or not finite the component falls back to 1;
    the result is clipped to ``[INVERSE_MASS_LOWER, INVERSE_MASS_UPPER]``.
    """
    result = np.ones_like(logp_grad)
    for index in range(logp_grad.shape[0]):
        magnitude = abs(logp_grad[index])
        if np.isfinite(magnitude) and magnitude > 0.0:
            result[index] = min(max(1.0 / magnitude, INVERSE_MASS_LOWER), INVERSE_MASS_UPPER)
    return result


@njit(nogil=True, cache=True, error_model="numpy")
def moments_init(dim: int) -> MomentsState:
    """Empty running moments for ``dim`` coordinates."""
    return MomentsState(0, np.zeros(dim), np.zeros(dim), np.zeros(dim), np.zeros(dim))


@njit(nogil=True, cache=True, error_model="numpy")
def moments_update(state, position, logp_grad):
    """Add one draw and its gradient to the running moments (Welford's algorithm)."""
    count = state.count + 1
    draw_delta = position - state.draw_mean
    draw_mean = state.draw_mean + draw_delta / count
    draw_sum_squares = state.draw_sum_squares + draw_delta * (position - draw_mean)
    grad_delta = logp_grad - state.grad_mean
    grad_mean = state.grad_mean + grad_delta / count
    grad_sum_squares = state.grad_sum_squares + grad_delta * (logp_grad - grad_mean)
    return MomentsState(count, draw_mean, draw_sum_squares, grad_mean, grad_sum_squares)


@njit(nogil=True, cache=True, error_model="numpy")
def nutpie_inverse_mass_matrix(moments, previous):
    """nutpie's diagonal estimate from the draws and the gradients.

    .. math:: M^{-1} = \\sqrt{\\mathrm{Var}[q] / \\mathrm{Var}[\\nabla\\log\\pi]}

    For a Gaussian target both factors estimate the posterior variance
    (:math:`\\mathrm{Var}[\\nabla\\log\\pi] = \\Sigma^{-1}` on the diagonal of a
    diagonal Gaussian), and the geometric mean of the two is much less noisy
    on few draws than the variance alone (Seyboldt, Carlson and Carpenter).
    Components whose ratio is zero or not finite keep their ``previous``
    value; the result is clipped to ``[1e-10, 1e10]``.
    """
    if moments.count < 2:
        return previous.copy()
    result = previous.copy()
    for index in range(previous.shape[0]):
        draw_squares = moments.draw_sum_squares[index]
        grad_squares = moments.grad_sum_squares[index]
        if not (grad_squares > 0.0 and draw_squares > 0.0):
            continue
        ratio = draw_squares / grad_squares
        if np.isfinite(ratio):
            result[index] = min(max(np.sqrt(ratio), INVERSE_MASS_LOWER), INVERSE_MASS_UPPER)
    return result


@njit(nogil=True, cache=True, error_model="numpy")
def stan_inverse_mass_matrix(moments, previous):
    """Stan's regularised variance of the draws in the window.

    .. math:: M^{-1} = \\frac{n}{n + 5} \\hat\\sigma^2 + 10^{-3} \\frac{5}{n + 5}

    (Stan reference manual, "Euclidean metric" adaptation; ``learn_variance``
    in ``diag_e_adaptation.hpp``), with :math:`\\hat\\sigma^2` the unbiased
    sample variance.
    """
    count = moments.count
    if count < 2:
        return previous.copy()
    variance = moments.draw_sum_squares / (count - 1.0)
    regularised = (count / (count + 5.0)) * variance + 1e-3 * (5.0 / (count + 5.0))
    return np.minimum(np.maximum(regularised, INVERSE_MASS_LOWER), INVERSE_MASS_UPPER)
