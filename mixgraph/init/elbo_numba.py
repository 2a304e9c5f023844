"""Pathfinder's normal approximations along an L-BFGS path and their ELBOs, inside Numba.

The kernels rebuild, from a recorded path, the L-BFGS inverse Hessian in
factorised form at each iterate (Zhang, Carpenter, Gelman and Vehtari 2022,
"Pathfinder", JMLR 23(306), Algorithms 3 and 4) and estimate the ELBO of the
normal approximation it defines by Monte Carlo (Algorithm 1, line 12), as
:mod:`mixgraph.init.pathfinder_path` does in NumPy. They are compiled for
the log-density's first-class function type by
:func:`mixgraph.init.lbfgs_numba.path_kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["batch_logps", "path_elbos"]


@njit(nogil=True, cache=True, error_model="numpy")
def batch_logps(logp_fn, float_data, int_data, positions):
    """``log p`` at every row of ``positions`` in one call, and whether its gradient is finite there.

    Non-finite log-densities are returned as ``-inf``.
    """
    count, dim = positions.shape
    logps = np.empty(count)
    finite_gradient = np.zeros(count, dtype=np.bool_)
    gradient = np.empty(dim)
    for row in range(count):
        value = logp_fn(np.ascontiguousarray(positions[row]), gradient, float_data, int_data)
        logps[row] = value if np.isfinite(value) else -np.inf
        finite_gradient[row] = np.all(np.isfinite(gradient))
    return logps, finite_gradient


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
def _push_pair(positions, gradients, index, step_rows, change_rows, stored, alpha, curvature_epsilon):
    """Add the pair of iterate ``index`` to the history (Algorithm 1, lines 6-10); ``(stored, alpha)``.

    A pair is kept when ``s @ z > curvature_epsilon * z @ z``; at most
    ``len(step_rows)`` pairs, oldest first, as
    :func:`mixgraph.init.pathfinder_path._histories_along`.
    """
    history = step_rows.shape[0]
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
    return stored, alpha


@njit(nogil=True, cache=True, error_model="numpy")
def path_elbos(logp_fn, float_data, int_data, positions, gradients, standard, history, curvature_epsilon,
               first_index):
    """The ELBO of the approximation at every iterate after the start (Algorithm 1, lines 4-12), and
    the variances of the approximation at the last iterate.

    The same bookkeeping as :func:`pathfinder_path._approximations_along`:
    a pair is kept when ``s @ z > curvature_epsilon * z @ z``, at most
    ``history`` pairs, oldest first. ``-inf`` where no approximation exists,
    and before iterate ``first_index`` (1: every iterate; ``count - 1``: the
    last alone, Pathfinder's final ELBO). The variances are
    ``diag(Sigma) = alpha (1 + diag(Q (L L^T - I) Q^T))`` (Algorithm 4's
    factors), NaN when the last iterate has no usable approximation.

    One kernel serves both uses: a second one for the last iterate (as
    before) cost 8 s more of compilation on a fresh install.
    """
    count, dim = positions.shape
    elbos = np.full(max(count - 1, 0), -np.inf)
    variances = np.full(dim, np.nan)
    alpha = np.ones(dim)
    step_rows = np.zeros((history, dim))
    change_rows = np.zeros((history, dim))
    stored = 0
    for index in range(1, count):
        stored, alpha = _push_pair(positions, gradients, index, step_rows, change_rows, stored, alpha,
                                   curvature_epsilon)
        if index < first_index:
            continue
        usable, mean, q_factor, cholesky, log_determinant = _factors(
            positions[index], gradients[index], alpha, np.ascontiguousarray(step_rows[:stored].T),
            np.ascontiguousarray(change_rows[:stored].T))
        if usable and np.all(np.isfinite(mean)):
            elbos[index - 1] = _elbo(logp_fn, float_data, int_data, mean, np.sqrt(alpha), q_factor, cholesky,
                                     log_determinant, standard)
            if index == count - 1:
                spread = (q_factor @ (cholesky @ cholesky.T - np.eye(cholesky.shape[0]))) * q_factor
                variances = alpha * (1.0 + spread.sum(axis=1))
    return elbos, variances
