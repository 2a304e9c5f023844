"""Single-path Pathfinder: normal approximations along an L-BFGS path, the best one kept.

Zhang, Carpenter, Gelman and Vehtari (2022), "Pathfinder: parallel
quasi-Newton variational inference", JMLR 23(306). L-BFGS runs on the
compiled log-density (``CompiledLogp.logp_fn``) inside Numba; its iterates and
gradients are recorded, and the paper's Algorithm 1 rebuilds from them, at
every iterate, the L-BFGS inverse Hessian in factorised form (Algorithm 3),
draws from the normal approximation it defines (Algorithm 4) and estimates
the ELBO by Monte Carlo, also inside Numba
(:func:`mixgraph.init.lbfgs_numba.path_elbos`). The iterate with the largest
ELBO is the path's approximation; its factors are rebuilt here, in NumPy.

Nothing here knows the sampler; it works on flat unconstrained positions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mixgraph.init.lbfgs_numba import path_kernels

__all__ = [
    "LbfgsPath", "NormalApproximation", "PathResult", "best_approximation", "final_elbo", "lbfgs_path",
    "path_from_iterates", "single_path", "target_logps",
]

HISTORY_SIZE = 6
"""Correction pairs kept by L-BFGS and by the approximation (the paper's J = 6)."""

CURVATURE_EPSILON = 1e-12
"""A pair (s, z) is kept when ``s @ z > CURVATURE_EPSILON * z @ z`` (Algorithm 1, line 8)."""

RELATIVE_TOLERANCE = 1e-12
"""L-BFGS stops when one iteration lowers ``-log p`` by less than this, relatively (scipy's ``ftol``)."""


class NormalApproximation(NamedTuple):
    """The normal approximation at one iterate: ``N(mean, diag(alpha) + beta gamma beta^T)``.

    Draws use ``Q`` and ``cholesky`` of Algorithm 4, so that a draw costs
    O(dim * history) and its log-density is exact.
    """

    mean: np.ndarray
    sqrt_alpha: np.ndarray
    q_factor: np.ndarray
    cholesky: np.ndarray
    log_determinant: float
    variances: np.ndarray


class PathResult(NamedTuple):
    """One path's best approximation, its draws and their log-densities."""

    approximation: NormalApproximation | None
    elbo: float
    draws: np.ndarray  # (num_draws, dim)
    logp: np.ndarray  # target log-density of each draw
    logq: np.ndarray  # approximation's log-density of each draw
    iterations: int
    evaluations: int


class LbfgsPath(NamedTuple):
    """The start and every accepted L-BFGS iterate, with ``grad log p`` and ``log p`` there."""

    positions: np.ndarray  # (count, dim); no rows when the start is not finite
    gradients: np.ndarray  # (count, dim)
    logps: np.ndarray  # (count,), increasing
    evaluations: int
    status: int  # lbfgs_numba.CONVERGED, STOP_LINE_SEARCH or STOP_ITERATIONS

    @property
    def converged(self) -> bool:
        """Whether a tolerance stopped the optimiser (not the iteration cap, not the line search)."""
        from mixgraph.init.lbfgs_numba import CONVERGED

        return self.status == CONVERGED


def lbfgs_path(logp_fn, float_data, int_data, start: np.ndarray, max_iterations: int,
               gradient_tolerance: float, relative_tolerance: float = RELATIVE_TOLERANCE) -> LbfgsPath:
    """Run L-BFGS on ``-log p`` from ``start`` (Algorithm 1, line 2), inside Numba
    (:func:`mixgraph.init.lbfgs_numba.lbfgs_iterates`)."""
    start = np.ascontiguousarray(start, dtype=np.float64)
    kernel = path_kernels().lbfgs_iterates
    return LbfgsPath(*kernel(logp_fn, float_data, int_data, start, int(max_iterations), HISTORY_SIZE,
                             float(gradient_tolerance), float(relative_tolerance)))


def _updated_alpha(alpha: np.ndarray, step: np.ndarray, change: np.ndarray) -> np.ndarray:
    """The diagonal of the initial inverse Hessian after one pair (Algorithm 3, line 3;
    the diagonal update of Gilbert and Lemarechal 1989, eq. 4.9)."""
    a = change @ (alpha * change)
    b = change @ step
    c = step @ (step / alpha)
    inverse = a / (b * alpha) + change**2 / b - a * step**2 / (b * c * alpha**2)
    return 1.0 / inverse


def _approximation(position, gradient, alpha, steps, changes) -> NormalApproximation | None:
    """Algorithm 4's factors of ``Sigma = diag(alpha) + beta gamma beta^T`` and its mean.

    ``beta`` and ``gamma`` are the compact L-BFGS representation of the
    inverse Hessian (Byrd, Nocedal and Schnabel 1994, eq. 2.6; the paper's
    Algorithm 3, lines 4-7). The mean is one quasi-Newton step from the
    iterate: ``x + Sigma grad log p(x)``.
    """
    dim = position.shape[0]
    if len(steps) == 0:
        variances = alpha.copy()
        return NormalApproximation(position + alpha * gradient, np.sqrt(alpha), np.zeros((dim, 0)),
                                   np.zeros((0, 0)), float(np.sum(np.log(alpha))), variances)
    step_matrix = np.array(steps).T  # (dim, m)
    change_matrix = np.array(changes).T
    products = step_matrix.T @ change_matrix
    upper = np.triu(products)
    diagonal = np.diag(np.diag(products))
    try:
        upper_inverse = np.linalg.inv(upper)
    except np.linalg.LinAlgError:
        return None
    count = step_matrix.shape[1]
    gamma = np.zeros((2 * count, 2 * count))
    gamma[:count, count:] = -upper_inverse
    gamma[count:, :count] = -upper_inverse.T
    gamma[count:, count:] = upper_inverse.T @ (diagonal + change_matrix.T @ (alpha[:, None] * change_matrix)) @ upper_inverse
    beta = np.concatenate([alpha[:, None] * change_matrix, step_matrix], axis=1)
    sqrt_alpha = np.sqrt(alpha)
    q_factor, r_factor = np.linalg.qr(beta / sqrt_alpha[:, None])
    inner = np.eye(q_factor.shape[1]) + r_factor @ gamma @ r_factor.T
    try:
        cholesky = np.linalg.cholesky(0.5 * (inner + inner.T))
    except np.linalg.LinAlgError:
        return None
    log_determinant = float(np.sum(np.log(alpha)) + 2.0 * np.sum(np.log(np.diag(cholesky))))
    hessian_gradient = alpha * gradient + beta @ (gamma @ (beta.T @ gradient))
    # diag(Sigma) = alpha * (1 + sum over rows of (Q (L L^T - I) Q^T)_ii)
    spread = (q_factor @ (cholesky @ cholesky.T - np.eye(q_factor.shape[1]))) * q_factor
    variances = alpha * (1.0 + spread.sum(axis=1))
    return NormalApproximation(position + hessian_gradient, sqrt_alpha, q_factor, cholesky, log_determinant,
                               variances)


def approximation_draws(approximation: NormalApproximation, rng: np.random.Generator | None,
                        count: int, standard: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``count`` draws and their log-densities under the approximation (Algorithm 4, lines 6-8).

    ``standard`` (shape ``(count, dim)``), when given, are the standard
    normal draws to transform instead of fresh ones from ``rng``.
    """
    dim = approximation.mean.shape[0]
    if standard is None:
        standard = rng.standard_normal((count, dim))
    projected = standard @ approximation.q_factor
    correction = (projected @ (approximation.cholesky - np.eye(approximation.cholesky.shape[0])).T) @ approximation.q_factor.T
    draws = approximation.mean + approximation.sqrt_alpha * (standard + correction)
    logq = -0.5 * (approximation.log_determinant + np.sum(standard**2, axis=1) + dim * np.log(2.0 * np.pi))
    return draws, logq


def target_logps(logp_fn, float_data, int_data, draws: np.ndarray) -> np.ndarray:
    """The target log-density of every row of ``draws`` (-inf where not finite), in one Numba call."""
    draws = np.ascontiguousarray(draws, dtype=np.float64)
    return path_kernels().batch_logps(logp_fn, float_data, int_data, draws)[0]


def _elbo(logp: np.ndarray, logq: np.ndarray) -> float:
    """Monte Carlo ELBO (Algorithm 1, line 12); NaN draws count as -inf."""
    difference = np.where(np.isfinite(logp), logp - logq, -np.inf)
    return float(np.mean(difference))


def _histories_along(positions: np.ndarray, gradients: np.ndarray):
    """Yield ``(alpha, steps, changes)`` at every iterate after the start (Algorithm 1, lines 4-10).

    :func:`mixgraph.init.lbfgs_numba.path_elbos` keeps the same history inside Numba.
    """
    dim = positions.shape[1]
    alpha = np.ones(dim)
    steps: list = []
    changes: list = []
    for index in range(1, positions.shape[0]):
        step = positions[index] - positions[index - 1]
        # z is the change in the gradient of -log p (the paper's y_l sign convention).
        change = gradients[index - 1] - gradients[index]
        if step @ change > CURVATURE_EPSILON * (change @ change):
            steps.append(step)
            changes.append(change)
            if len(steps) > HISTORY_SIZE:
                steps.pop(0)
                changes.pop(0)
            updated = _updated_alpha(alpha, step, change)
            if np.all(np.isfinite(updated)) and np.all(updated > 0):
                alpha = updated
        yield alpha, steps, changes


def _approximations_along(positions: np.ndarray, gradients: np.ndarray):
    """Yield the approximation at every iterate after the start (Algorithm 1, lines 4-10)."""
    for index, (alpha, steps, changes) in enumerate(_histories_along(positions, gradients), start=1):
        yield _approximation(positions[index], gradients[index], alpha, steps, changes)


def _approximation_at(positions: np.ndarray, gradients: np.ndarray, index: int) -> NormalApproximation | None:
    """The approximation at iterate ``index`` (at least 1)."""
    for current, (alpha, steps, changes) in enumerate(_histories_along(positions, gradients), start=1):
        if current == index:
            return _approximation(positions[index], gradients[index], alpha, steps, changes)
    raise IndexError(f"iterate {index} is not on a path of {positions.shape[0]} points")


def final_elbo(logp_fn, float_data, int_data, path: LbfgsPath, rng: np.random.Generator,
               num_elbo_draws: int) -> tuple[float, np.ndarray]:
    """The ELBO of the approximation at the path's last iterate alone (-inf when there is none),
    and that approximation's variances (NaN when there is none)."""
    dim = path.positions.shape[1]
    if path.positions.shape[0] < 2:
        return -np.inf, np.full(dim, np.nan)
    standard = rng.standard_normal((num_elbo_draws, dim))
    elbos, variances = path_kernels().path_elbos(logp_fn, float_data, int_data, path.positions, path.gradients,
                                                 standard, HISTORY_SIZE, CURVATURE_EPSILON, path.positions.shape[0] - 1)
    return (float(elbos[-1]) if np.isfinite(elbos[-1]) else -np.inf), variances


def best_approximation(logp_fn, float_data, int_data, path: LbfgsPath, rng: np.random.Generator,
                       num_elbo_draws: int = 10) -> tuple[NormalApproximation | None, float, int]:
    """Algorithm 1, lines 4-13, on a finished L-BFGS path: the approximation with the best ELBO.

    Returns
    -------
    approximation : NormalApproximation or None
        None when no iterate gave a usable approximation (the start was not
        finite, or every inverse-Hessian estimate failed).
    elbo : float
        Its ELBO (-inf when None).
    evaluations : int
        Log-density evaluations of the ELBO estimates.
    """
    positions, gradients = path.positions, path.gradients
    # The same standard normal draws at every iterate (common random numbers): the
    # ELBO estimates are compared with each other, and their differences are then
    # far less noisy than with fresh draws (the exact approximation of a Gaussian
    # target has zero-variance estimate log Z).
    standard = rng.standard_normal((num_elbo_draws, positions.shape[1]))
    elbos, _ = path_kernels().path_elbos(logp_fn, float_data, int_data, positions, gradients, standard, HISTORY_SIZE,
                                         CURVATURE_EPSILON, 1)
    elbos = np.where(np.isnan(elbos), -np.inf, elbos)
    evaluations = num_elbo_draws * int(np.count_nonzero(np.isfinite(elbos)))
    if not (elbos.size and np.any(elbos > -np.inf)):
        return None, -np.inf, evaluations
    best_index = int(np.argmax(elbos))
    best = _approximation_at(positions, gradients, best_index + 1)
    return best, (float(elbos[best_index]) if best is not None else -np.inf), evaluations


def path_from_iterates(logp_fn, float_data, int_data, path: LbfgsPath, rng: np.random.Generator,
                       num_draws: int, num_elbo_draws: int = 10) -> PathResult:
    """Algorithm 1, lines 4-14, on a finished L-BFGS path: the best-ELBO approximation and its draws.

    Returns
    -------
    PathResult
        ``approximation`` is None (and ``elbo`` is -inf) when no iterate
        gave a usable approximation (:func:`best_approximation`).
    """
    dim = path.positions.shape[1]
    best, elbo, evaluations = best_approximation(logp_fn, float_data, int_data, path, rng, num_elbo_draws)
    evaluations += path.evaluations
    if best is None:
        return PathResult(None, -np.inf, np.zeros((0, dim)), np.zeros(0), np.zeros(0), len(path.positions),
                          evaluations)
    draws, logq = approximation_draws(best, rng, num_draws)
    logp = target_logps(logp_fn, float_data, int_data, draws)
    return PathResult(best, elbo, draws, logp, logq, len(path.positions), evaluations + num_draws)


def single_path(logp_fn, float_data, int_data, start: np.ndarray, rng: np.random.Generator,
                num_draws: int, num_elbo_draws: int = 10, max_iterations: int = 1000,
                gradient_tolerance: float = 1e-8) -> PathResult:
    """Pathfinder's Algorithm 1 from ``start``: the approximation with the best ELBO and its draws."""
    path = lbfgs_path(logp_fn, float_data, int_data, start, max_iterations, gradient_tolerance)
    return path_from_iterates(logp_fn, float_data, int_data, path, rng, num_draws, num_elbo_draws)
