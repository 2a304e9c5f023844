"""L-BFGS and Pathfinder's ELBO along the path, inside Numba, on the compiled log-density.

One call runs a whole path: the optimiser's iterations, then the normal
approximation and its Monte Carlo ELBO at every iterate, without returning
to Python between log-density evaluations (scipy's L-BFGS-B, driven from
Python, paid about 100 us of interpreter overhead per evaluation and the
per-iterate linear algebra as many small NumPy calls).

The kernels are compiled on first use (:func:`path_kernels`) for the
log-density's first-class function type, and cached on disk, so they serve
every model.

References: Nocedal and Wright (2006), *Numerical Optimization*, 2nd ed.,
Algorithm 7.4 (the two-loop recursion) and eq. 7.20 (the initial scaling);
Lewis and Overton (2013), "Nonsmooth optimization via quasi-Newton methods",
section 4.2 (the bisection line search for the weak Wolfe conditions);
Zhang, Carpenter, Gelman and Vehtari (2022), "Pathfinder", JMLR 23(306),
Algorithms 1, 3 and 4 (the approximation, as in
:mod:`mixgraph.init.pathfinder_path`).
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numba import njit

__all__ = ["path_kernels"]

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
    the relative decrease of ``-log p`` in one iteration is below
    ``relative_tolerance`` (scipy's ``ftol``), the line search fails, or
    after ``max_iterations``.

    Returns
    -------
    positions, gradients : ndarray of shape (count, dim)
        The start and every accepted iterate (``count = 0`` when the
        log-density or its gradient is not finite at the start).
    logps : ndarray of shape (count,)
        The log-density at each (increasing: every step lowers ``-log p``).
    evaluations : int
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
        return positions[:0], gradients[:0], logps[:0], evaluations
    positions[0] = position
    gradients[0] = -gradient
    logps[0] = -objective
    count, stored, newest = 1, 0, -1
    for _ in range(max_iterations):
        if np.max(np.abs(gradient)) < gradient_tolerance:
            break
        direction = _direction(gradient, steps, changes, inverse_products, stored, newest)
        if not np.dot(gradient, direction) < 0.0:  # not a descent direction: restart from steepest descent
            stored = 0
            direction = _direction(gradient, steps, changes, inverse_products, stored, newest)
        step, value, used = _line_search(logp_fn, float_data, int_data, position, objective, gradient, direction,
                                         trial_gradient)
        evaluations += used
        if step == 0.0:
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
        if decrease <= relative_tolerance:
            break
    return positions[:count].copy(), gradients[:count].copy(), logps[:count].copy(), evaluations


@njit(nogil=True, cache=True, error_model="numpy")
def _cholesky(matrix):
    """Lower Cholesky factor of a small symmetric matrix, and whether it is positive definite."""
    size = matrix.shape[0]
    lower = np.zeros((size, size))
    for row in range(size):
        for column in range(row + 1):
            total = matrix[row, column]
            for inner in range(column):
                total -= lower[row, inner] * lower[column, inner]
            if row == column:
                if not total > 0.0:
                    return lower, False
                lower[row, row] = np.sqrt(total)
            else:
                lower[row, column] = total / lower[column, column]
    return lower, True


@njit(nogil=True, cache=True, error_model="numpy")
def _upper_inverse(matrix):
    """Inverse of the upper triangle of a small matrix (back substitution), and whether it exists."""
    size = matrix.shape[0]
    inverse = np.zeros((size, size))
    for column in range(size):
        for row in range(column, -1, -1):
            total = 1.0 if row == column else 0.0
            for inner in range(row + 1, column + 1):
                total -= matrix[row, inner] * inverse[inner, column]
            if not (matrix[row, row] != 0.0 and np.isfinite(matrix[row, row])):
                return inverse, False
            inverse[row, column] = total / matrix[row, row]
    return inverse, True


@njit(nogil=True, cache=True, error_model="numpy")
def _updated_alpha(alpha, step, change):
    """Diagonal update of the initial inverse Hessian (Pathfinder's Algorithm 3, line 3), as in
    :func:`mixgraph.init.pathfinder_path._updated_alpha`."""
    a_term = np.dot(change, alpha * change)
    b_term = np.dot(change, step)
    c_term = np.dot(step, step / alpha)
    inverse = a_term / (b_term * alpha) + change**2 / b_term - a_term * step**2 / (b_term * c_term * alpha**2)
    return 1.0 / inverse


@njit(nogil=True, cache=True, error_model="numpy")
def _factors(position, gradient, alpha, step_matrix, change_matrix):
    """Algorithm 4's ``mean, Q, L, log det Sigma`` (as :func:`pathfinder_path._approximation`).

    Returns ``(usable, mean, q_factor, cholesky, log_determinant)``.
    """
    dim, count = step_matrix.shape
    log_alpha = np.sum(np.log(alpha))
    if count == 0:
        return True, position + alpha * gradient, np.zeros((dim, 0)), np.zeros((0, 0)), log_alpha
    products = step_matrix.T @ change_matrix
    upper_inverse, invertible = _upper_inverse(products)
    if not invertible:
        return False, position, np.zeros((dim, 0)), np.zeros((0, 0)), 0.0
    gamma = np.zeros((2 * count, 2 * count))
    gamma[:count, count:] = -upper_inverse
    gamma[count:, :count] = -upper_inverse.T
    middle = np.diag(np.diag(products)) + change_matrix.T @ (alpha.reshape((dim, 1)) * change_matrix)
    gamma[count:, count:] = upper_inverse.T @ middle @ upper_inverse
    beta = np.concatenate((alpha.reshape((dim, 1)) * change_matrix, step_matrix), axis=1)
    sqrt_alpha = np.sqrt(alpha)
    scaled = np.ascontiguousarray(beta / sqrt_alpha.reshape((dim, 1)))
    if not np.all(np.isfinite(scaled)):
        return False, position, np.zeros((dim, 0)), np.zeros((0, 0)), 0.0
    q_factor, r_factor = np.linalg.qr(scaled)
    inner = np.eye(q_factor.shape[1]) + r_factor @ gamma @ r_factor.T
    cholesky, positive = _cholesky(0.5 * (inner + inner.T))
    if not positive:
        return False, position, np.zeros((dim, 0)), np.zeros((0, 0)), 0.0
    log_determinant = log_alpha + 2.0 * np.sum(np.log(np.diag(cholesky)))
    mean = position + alpha * gradient + beta @ (gamma @ (beta.T @ gradient))
    return True, mean, q_factor, cholesky, log_determinant


@njit(nogil=True, cache=True, error_model="numpy")
def _elbo(logp_fn, float_data, int_data, mean, sqrt_alpha, q_factor, cholesky, log_determinant, standard):
    """Monte Carlo ELBO of the approximation with the given standard normal draws (Algorithm 1, line 12)."""
    draws_count, dim = standard.shape
    if q_factor.shape[1] > 0:
        correction = ((standard @ q_factor) @ (cholesky - np.eye(cholesky.shape[0])).T) @ q_factor.T
    else:
        correction = np.zeros_like(standard)
    gradient = np.empty(dim)
    total = 0.0
    for row in range(draws_count):
        draw = np.ascontiguousarray(mean + sqrt_alpha * (standard[row] + correction[row]))
        logq = -0.5 * (log_determinant + np.dot(standard[row], standard[row]) + dim * np.log(2.0 * np.pi))
        logp = logp_fn(draw, gradient, float_data, int_data)
        if not np.isfinite(logp):
            return -np.inf
        total += logp - logq
    return total / draws_count


@njit(nogil=True, cache=True, error_model="numpy")
def path_elbos(logp_fn, float_data, int_data, positions, gradients, standard, history, curvature_epsilon,
               first_index):
    """The ELBO of the approximation at every iterate after the start (Algorithm 1, lines 4-12).

    The same bookkeeping as :func:`pathfinder_path._approximations_along`:
    a pair is kept when ``s @ z > curvature_epsilon * z @ z``, at most
    ``history`` pairs, oldest first. ``-inf`` where no approximation exists,
    and before iterate ``first_index`` (1: every iterate; ``count - 1``: the last alone).
    """
    count, dim = positions.shape
    elbos = np.full(max(count - 1, 0), -np.inf)
    alpha = np.ones(dim)
    step_rows = np.zeros((history, dim))
    change_rows = np.zeros((history, dim))
    stored = 0
    for index in range(1, count):
        step = positions[index] - positions[index - 1]
        change = gradients[index - 1] - gradients[index]
        if np.dot(step, change) > curvature_epsilon * np.dot(change, change):
            if stored == history:
                step_rows[:-1] = step_rows[1:].copy()
                change_rows[:-1] = change_rows[1:].copy()
                stored -= 1
            step_rows[stored] = step
            change_rows[stored] = change
            stored += 1
            updated = _updated_alpha(alpha, step, change)
            if np.all(np.isfinite(updated)) and np.all(updated > 0):
                alpha = updated
        if index < first_index:
            continue
        usable, mean, q_factor, cholesky, log_determinant = _factors(
            positions[index], gradients[index], alpha, np.ascontiguousarray(step_rows[:stored].T),
            np.ascontiguousarray(change_rows[:stored].T))
        if usable and np.all(np.isfinite(mean)):
            elbos[index - 1] = _elbo(logp_fn, float_data, int_data, mean, np.sqrt(alpha), q_factor, cholesky,
                                     log_determinant, standard)
    return elbos


@functools.cache
def path_kernels() -> tuple:
    """``(lbfgs_iterates, path_elbos)`` compiled for the log-density's first-class function type.

    Compiled (or loaded from Numba's disk cache) on the first call, not at
    import; compilation is then closed, so that every model's ``logp_fn``
    (a Numba dispatcher) is converted to the function type instead of
    compiling a specialisation per model.
    """
    from mixgraph.mcmc.kernel import LOGP_FUNCTION_TYPE

    float_vector, int_vector = numba.float64[::1], numba.int64[::1]
    matrix = numba.types.Array(numba.float64, 2, "C")
    lbfgs_iterates.compile((LOGP_FUNCTION_TYPE, float_vector, int_vector, float_vector, numba.int64, numba.int64,
                            numba.float64, numba.float64))
    path_elbos.compile((LOGP_FUNCTION_TYPE, float_vector, int_vector, matrix, matrix, matrix, numba.int64,
                        numba.float64, numba.int64))
    for kernel in (lbfgs_iterates, path_elbos):
        kernel.disable_compile()
    return lbfgs_iterates, path_elbos
