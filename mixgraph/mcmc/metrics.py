"""Euclidean metrics (diagonal, dense, low-rank): kinetic energy, velocity, momentum draws, U-turns.

Every metric is one :class:`Metric`, a scaled low-rank update of the identity:

.. math::
    M^{-1} = D \\,(I + V A V^T)\\, D, \\qquad
    D = \\mathrm{diag}(\\sigma), \\quad A = \\mathrm{diag}(\\lambda - 1)

with :math:`V` (dim x rank) orthonormal and :math:`\\lambda` the eigenvalues of
the scaled inverse mass matrix :math:`D^{-1} M^{-1} D^{-1}` that differ from 1.
Rank 0 is the diagonal metric :math:`M^{-1} = D^2`; rank ``dim`` holds any
dense matrix (its eigen-decomposition after diagonal scaling); in between
is nutpie's low-rank-modified diagonal metric (Seyboldt, Carlson and
Carpenter 2024, "Preconditioning HMC by minimizing Fisher divergence",
section 4). One compiled code path serves all three, so the NUTS kernel is
compiled once for every metric.

The momentum is :math:`p \\sim N(0, M)`, the kinetic energy
:math:`K(p) = \\tfrac12 p^T M^{-1} p` and the "velocity"
:math:`p^\\sharp = M^{-1} p = \\partial K / \\partial p` is what the
generalised No-U-Turn criterion projects onto (Betancourt 2017, section 4.2
and appendix A.4.2).
"""

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "Metric",
    "diagonal_metric",
    "draw_momentum",
    "inverse_mass_matrix",
    "is_turning",
    "is_turning_after_merge",
    "kinetic_energy",
    "metric_from_eigen",
    "velocity",
]


class Metric(NamedTuple):
    """A Euclidean metric :math:`M^{-1} = D (I + V A V^T) D`.

    Attributes
    ----------
    scale : ndarray of shape (dim,)
        :math:`\\sigma`, the diagonal of :math:`D`.
    vectors : ndarray of shape (dim, rank)
        :math:`V`, orthonormal columns.
    velocity_factors : ndarray of shape (rank,)
        :math:`\\lambda - 1`, so that :math:`M^{-1} = D (I + V \\mathrm{diag}(\\lambda - 1) V^T) D`.
    momentum_factors : ndarray of shape (rank,)
        :math:`\\lambda^{-1/2} - 1`, so that
        :math:`p = D^{-1} (I + V \\mathrm{diag}(\\lambda^{-1/2} - 1) V^T) z` with
        :math:`z \\sim N(0, I)` has covariance :math:`M`.
    """

    scale: np.ndarray
    vectors: np.ndarray
    velocity_factors: np.ndarray
    momentum_factors: np.ndarray


@njit(nogil=True, cache=True, error_model="numpy")
def diagonal_metric(inverse_mass_diagonal: np.ndarray) -> Metric:
    """The diagonal metric with :math:`M^{-1} = \\mathrm{diag}(m)` (rank 0)."""
    dim = inverse_mass_diagonal.shape[0]
    return Metric(np.sqrt(inverse_mass_diagonal), np.zeros((dim, 0)), np.zeros(0), np.zeros(0))


@njit(nogil=True, cache=True, error_model="numpy")
def metric_from_eigen(scale: np.ndarray, eigenvalues: np.ndarray,
                      eigenvectors: np.ndarray) -> Metric:
    """The metric :math:`M^{-1} = D\\, U \\mathrm{diag}(\\lambda) U^T D` on the span of ``eigenvectors``.

    Outside the span of the orthonormal ``eigenvectors`` (dim x rank) the
    scaled inverse mass matrix is the identity.
    """
    vectors = np.ascontiguousarray(eigenvectors)
    return Metric(scale.copy(), vectors, eigenvalues - 1.0, 1.0 / np.sqrt(eigenvalues) - 1.0)


@njit(nogil=True, cache=True, error_model="numpy")
def _apply_update(vector, vectors, factors):
    """Return :math:`(I + V \\mathrm{diag}(f) V^T)` times ``vector`` (a copy)."""
    result = vector.copy()
    dim, rank = vectors.shape
    for column in range(rank):
        projection = 0.0
        for index in range(dim):
            projection += vectors[index, column] * vector[index]
        projection *= factors[column]
        for index in range(dim):
            result[index] += vectors[index, column] * projection
    return result


@njit(nogil=True, cache=True, error_model="numpy")
def velocity(momentum: np.ndarray, metric: Metric) -> np.ndarray:
    """Return :math:`p^\\sharp = M^{-1} p = D (I + V A V^T) D p`, the time derivative of the position."""
    scaled = metric.scale * momentum
    if metric.vectors.shape[1] > 0:
        scaled = _apply_update(scaled, metric.vectors, metric.velocity_factors)
    return metric.scale * scaled


@njit(nogil=True, cache=True, error_model="numpy")
def kinetic_energy(momentum: np.ndarray, velocity_: np.ndarray) -> float:
    """Return :math:`K = \\tfrac12 p \\cdot p^\\sharp` from a momentum and its velocity."""
    total = 0.0
    for index in range(momentum.shape[0]):
        total += momentum[index] * velocity_[index]
    return 0.5 * total


@njit(nogil=True, cache=True, error_model="numpy")
def draw_momentum(rng: np.random.Generator, metric: Metric) -> np.ndarray:
    """Draw :math:`p = D^{-1} (I + V B V^T) z \\sim N(0, M)`, :math:`z \\sim N(0, I)`."""
    standard_normal = rng.standard_normal(metric.scale.shape[0])
    if metric.vectors.shape[1] > 0:
        standard_normal = _apply_update(standard_normal, metric.vectors,
                                        metric.momentum_factors)
    return standard_normal / metric.scale


@njit(nogil=True, cache=True, error_model="numpy")
def inverse_mass_matrix(metric: Metric) -> np.ndarray:
    """The dense :math:`M^{-1}` (dim x dim), for tests and diagnostics."""
    dim = metric.scale.shape[0]
    result = np.empty((dim, dim))
    for column in range(dim):
        unit = np.zeros(dim)
        unit[column] = 1.0
        result[:, column] = velocity(unit, metric)
    return result


@njit(nogil=True, cache=True, error_model="numpy")
def is_turning(
    velocity_begin: np.ndarray, velocity_end: np.ndarray, momentum_sum: np.ndarray
) -> bool:
    """Generalised No-U-Turn criterion on one trajectory.

    The trajectory keeps expanding while both end velocities point along the
    summed momentum :math:`\\rho = \\sum_n p_n`
    (Betancourt 2017, appendix A.4.2; Stan's ``compute_criterion``):

    .. math:: p^\\sharp_{-} \\cdot \\rho > 0 \\quad\\text{and}\\quad p^\\sharp_{+} \\cdot \\rho > 0

    Parameters
    ----------
    velocity_begin, velocity_end : ndarray of shape (dim,)
        :math:`M^{-1} p` at the two ends of the trajectory (either order).
    momentum_sum : ndarray of shape (dim,)
        Sum of the momenta of all the points of the trajectory.

    Returns
    -------
    bool
        True when the trajectory has made a U-turn and must stop growing.
    """
    projection_begin = 0.0
    projection_end = 0.0
    for index in range(momentum_sum.shape[0]):
        projection_begin += velocity_begin[index] * momentum_sum[index]
        projection_end += velocity_end[index] * momentum_sum[index]
    # Written as "not (both > 0)" so that a NaN projection stops the tree.
    return not (projection_begin > 0.0 and projection_end > 0.0)


@njit(nogil=True, cache=True, error_model="numpy")
def is_turning_after_merge(
    first_velocity_begin: np.ndarray,
    first_momentum_end: np.ndarray,
    first_velocity_end: np.ndarray,
    first_momentum_sum: np.ndarray,
    second_momentum_begin: np.ndarray,
    second_velocity_begin: np.ndarray,
    second_velocity_end: np.ndarray,
    second_momentum_sum: np.ndarray,
) -> bool:
    """Every U-turn check made when two adjacent trajectories are merged.

    ``first`` was integrated before ``second``; "begin" and "end" follow the
    order of integration, so the ends of ``first`` and the beginning of
    ``second`` are the two points where the trees touch. The checks are
    symmetric under reversing time, so the same function serves both
    integration directions. The velocities are :math:`M^{-1} p` of the
    momenta at the same points, so that no metric is needed here.

    1. the generalised criterion on the merged trajectory
       (Betancourt 2017, appendix A.4.2);
    2. and 3. the criterion on the first tree extended by the first point of
       the second, and on the second tree extended by the last point of the
       first: the additional checks added in Stan 2.21 (``base_nuts.hpp``,
       discourse thread "Request for Mathematical Clarification of U-turn
       Criterion"), which catch U-turns hidden by merging two sub-trees
       that are each monotone.

    Returns
    -------
    bool
        True when any check detects a U-turn.
    """
    merged_sum = first_momentum_sum + second_momentum_sum
    if is_turning(first_velocity_begin, second_velocity_end, merged_sum):
        return True
    # Stan 2.21 extra check: first tree plus the first point of the second.
    extended_first = first_momentum_sum + second_momentum_begin
    if is_turning(first_velocity_begin, second_velocity_begin, extended_first):
        return True
    # Stan 2.21 extra check: last point of the first tree plus the second.
    extended_second = second_momentum_sum + first_momentum_end
    return is_turning(first_velocity_end, second_velocity_end, extended_second)
