"""L-BFGS inside Numba, on the compiled log-density; the Pathfinder kernels compiled for every model.

One call runs a whole optimisation path, and one call the normal
approximation and its Monte Carlo ELBO at every iterate
(:mod:`mixgraph.init.elbo_numba`), without returning to Python between
log-density evaluations (scipy's L-BFGS-B, driven from
Python, paid about 100 us of interpreter overhead per evaluation and the
per-iterate linear algebra as many small NumPy calls).

The kernels are compiled on first use (:func:`path_kernels`) for the
log-density's first-class function type, and cached on disk, so they serve
every model.

References: Nocedal and Wright (2006), *Numerical Optimization*, 2nd ed.,
Algorithm 7.4 (the two-loop recursion) and eq. 7.20 (the initial scaling);
Lewis and Overton (2013), "Nonsmooth optimization via quasi-Newton methods",
section 4.2 (the bisection line search for the weak Wolfe conditions).
"""

from __future__ import annotations

import functools
import threading
from typing import NamedTuple

import numba
import numpy as np
from numba import njit

from mixgraph.init.elbo_numba import batch_logps, path_elbos

__all__ = ["CONVERGED", "PathKernels", "STOP_ITERATIONS", "STOP_LINE_SEARCH", "lbfgs_iterates", "path_kernels"]

CONVERGED = 0
"""``lbfgs_iterates``'s status when the gradient or relative objective tolerance stopped it."""

STOP_LINE_SEARCH = 1
"""Status when no step satisfying the Wolfe conditions was found."""

STOP_ITERATIONS = 2
"""Status when the iteration cap stopped it (or the start was not finite)."""

_ARMIJO = 1e-4
"""Sufficient decrease constant c1 of the Wolfe conditions (Nocedal and Wright, section 3.1)."""

_CURVATURE = 0.9
"""Curvature constant c2 of the weak Wolfe conditions, the usual value for quasi-Newton methods."""

_LINE_SEARCH_STEPS = 40


@njit(nogil=True, cache=True, error_model="numpy")
def _evaluate(logp_fn, float_data, int_data, position, gradient):
    """``-log p`` at ``position``, its gradient into ``gradient``; ``inf`` when either is not finite."""
    logp = logp_fn(position, gradient, float_data, int_data)
    finite = np.isfinite(logp)
    for index in range(gradient.shape[0]):
        gradient[index] = -gradient[index]
        finite = finite and np.isfinite(gradient[index])
    return -logp if finite else np.inf


@njit(nogil=True, cache=True, error_model="numpy")
def _direction(gradient, steps, changes, inverse_products, stored, newest):
    """``-H gradient`` by the two-loop recursion (Nocedal and Wright, Algorithm 7.4)."""
    history = steps.shape[0]
    q_vector = gradient.copy()
    coefficients = np.zeros(history)
    for offset in range(stored):
        slot = (newest - offset) % history
        coefficients[slot] = inverse_products[slot] * np.dot(steps[slot], q_vector)
        q_vector -= coefficients[slot] * changes[slot]
    if stored > 0:
        # H0 = (s^T y / y^T y) I from the newest pair (Nocedal and Wright, eq. 7.20).
        scale = np.dot(steps[newest], changes[newest]) / np.dot(changes[newest], changes[newest])
    else:
        scale = min(1.0, 1.0 / max(np.sqrt(np.dot(gradient, gradient)), 1e-300))
    result = scale * q_vector
    for offset in range(stored - 1, -1, -1):
        slot = (newest - offset) % history
        beta = inverse_products[slot] * np.dot(changes[slot], result)
        result += steps[slot] * (coefficients[slot] - beta)
    return -result


@njit(nogil=True, cache=True, error_model="numpy")
def _line_search(logp_fn, float_data, int_data, position, objective, gradient, direction, trial_gradient):
    """A step satisfying the weak Wolfe conditions, by bisection and doubling (Lewis and Overton 2013, 4.2).

    Returns ``(step, objective at the step, evaluations)``; ``step = 0`` when none was found.
    ``trial_gradient`` holds the gradient at the returned step.
    """
    slope = np.dot(gradient, direction)
    low, high, step = 0.0, np.inf, 1.0
    for evaluation in range(1, _LINE_SEARCH_STEPS + 1):
        trial = position + step * direction
        value = _evaluate(logp_fn, float_data, int_data, trial, trial_gradient)
        if not value <= objective + _ARMIJO * step * slope:  # also when value is inf or NaN
            high = step
        elif np.dot(trial_gradient, direction) < _CURVATURE * slope:
            low = step
        else:
            return step, value, evaluation
        step = 0.5 * (low + high) if np.isfinite(high) else 2.0 * low
    return 0.0, np.inf, _LINE_SEARCH_STEPS


@njit(nogil=True, cache=True, error_model="numpy")
def lbfgs_iterates(logp_fn, float_data, int_data, start, max_iterations, history, gradient_tolerance,
                   relative_tolerance):
    """Maximise ``log p`` by L-BFGS from ``start``; the iterates and ``grad log p`` at each.

    Stops when the largest gradient entry is below ``gradient_tolerance``,
    the relative decrease of ``-log p`` in one iteration,
    ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)``, is below
    ``relative_tolerance`` (scipy's ``ftol``, Stan's ``tol_rel_obj``), the
    line search fails, or after ``max_iterations``.

    Returns
    -------
    positions, gradients : ndarray of shape (count, dim)
        The start and every accepted iterate (``count = 0`` when the
        log-density or its gradient is not finite at the start).
    logps : ndarray of shape (count,)
        The log-density at each (increasing: every step lowers ``-log p``).
    evaluations : int
    status : int
        :data:`CONVERGED`, :data:`STOP_LINE_SEARCH` or :data:`STOP_ITERATIONS`.
    """
    dim = start.shape[0]
    positions = np.empty((max_iterations + 1, dim))
    gradients = np.empty((max_iterations + 1, dim))
    logps = np.empty(max_iterations + 1)
    steps = np.zeros((history, dim))
    changes = np.zeros((history, dim))
    inverse_products = np.zeros(history)
    position = start.copy()
    gradient = np.empty(dim)
    trial_gradient = np.empty(dim)
    objective = _evaluate(logp_fn, float_data, int_data, position, gradient)
    evaluations = 1
    if not np.isfinite(objective):
        return positions[:0], gradients[:0], logps[:0], evaluations, STOP_ITERATIONS
    positions[0] = position
    gradients[0] = -gradient
    logps[0] = -objective
    count, stored, newest = 1, 0, -1
    status = STOP_ITERATIONS
    for _ in range(max_iterations):
        if np.max(np.abs(gradient)) < gradient_tolerance:
            status = CONVERGED
            break
        direction = _direction(gradient, steps, changes, inverse_products, stored, newest)
        if not np.dot(gradient, direction) < 0.0:  # not a descent direction: restart from steepest descent
            stored = 0
            direction = _direction(gradient, steps, changes, inverse_products, stored, newest)
        step, value, used = _line_search(logp_fn, float_data, int_data, position, objective, gradient, direction,
                                         trial_gradient)
        evaluations += used
        if step == 0.0:
            status = STOP_LINE_SEARCH
            break
        step_vector = step * direction
        change = trial_gradient - gradient
        product = np.dot(step_vector, change)
        if product > 1e-12 * np.dot(change, change):
            newest = (newest + 1) % history
            steps[newest] = step_vector
            changes[newest] = change
            inverse_products[newest] = 1.0 / product
            stored = min(stored + 1, history)
        decrease = (objective - value) / max(abs(objective), abs(value), 1.0)
        position = position + step_vector
        gradient[:] = trial_gradient
        objective = value
        positions[count] = position
        gradients[count] = -gradient
        logps[count] = -objective
        count += 1
        if decrease <= relative_tolerance or np.max(np.abs(gradient)) < gradient_tolerance:
            status = CONVERGED
            break
    return positions[:count].copy(), gradients[:count].copy(), logps[:count].copy(), evaluations, status


class PathKernels(NamedTuple):
    """The Numba kernels of a Pathfinder path, compiled for the log-density's function type."""

    lbfgs_iterates: object
    path_elbos: object
    batch_logps: object


_COMPILE_LOCK = threading.Lock()


def path_kernels() -> PathKernels:
    """:class:`PathKernels` compiled for the log-density's first-class function type (:func:`_compiled_kernels`).

    Safe to call from several threads at once: the first compiles, the others wait.
    """
    with _COMPILE_LOCK:
        return _compiled_kernels()


@functools.cache
def _compiled_kernels() -> PathKernels:
    """:class:`PathKernels` compiled for the log-density's first-class function type.

    Compiled (or loaded from Numba's disk cache) on the first call, not at
    import; compilation is then closed, so that every model's ``logp_fn``
    (a Numba dispatcher) is converted to the function type instead of
    compiling a specialisation per model.
    """
    from mixgraph.mcmc.state import LOGP_FUNCTION_TYPE

    float_vector, int_vector = numba.float64[::1], numba.int64[::1]
    matrix = numba.types.Array(numba.float64, 2, "C")
    lbfgs_iterates.compile((LOGP_FUNCTION_TYPE, float_vector, int_vector, float_vector, numba.int64, numba.int64,
                            numba.float64, numba.float64))
    path_elbos.compile((LOGP_FUNCTION_TYPE, float_vector, int_vector, matrix, matrix, matrix, numba.int64,
                        numba.float64, numba.int64))
    batch_logps.compile((LOGP_FUNCTION_TYPE, float_vector, int_vector, matrix))
    kernels = PathKernels(lbfgs_iterates, path_elbos, batch_logps)
    for kernel in kernels:
        kernel.disable_compile()
    return kernels
