"""Diagonal Euclidean metric: kinetic energy, momentum draws and the U-turn test.

With a diagonal metric the momentum is distributed as
:math:`p \\sim N(0, M)` where :math:`M^{-1}` is the (diagonal) inverse mass
matrix, and the kinetic energy is :math:`K(p) = \\tfrac12 p^T M^{-1} p`
(Betancourt 2017, section 4.2 and appendix A.1). The "velocity"
:math:`p^\\sharp = M^{-1} p = \\partial K / \\partial p` is what the generalised
No-U-Turn criterion projects onto (Betancourt 2017, appendix A.4.2).
"""

import numpy as np
from numba import njit

__all__ = [
    "draw_momentum",
    "is_turning",
    "is_turning_after_merge",
    "kinetic_energy",
    "velocity",
]


@njit(nogil=True, cache=True, error_model="numpy")
def kinetic_energy(momentum: np.ndarray, inverse_mass_matrix: np.ndarray) -> float:
    """Return the kinetic energy of a momentum under a diagonal metric.

    .. math:: K(p) = \\tfrac12 \\sum_i M^{-1}_{ii} p_i^2

    Parameters
    ----------
    momentum : ndarray of shape (dim,)
    inverse_mass_matrix : ndarray of shape (dim,)
        Diagonal of :math:`M^{-1}`.

    Returns
    -------
    float
    """
    total = 0.0
    for index in range(momentum.shape[0]):
        total += inverse_mass_matrix[index] * momentum[index] * momentum[index]
    return 0.5 * total


@njit(nogil=True, cache=True, error_model="numpy")
def velocity(momentum: np.ndarray, inverse_mass_matrix: np.ndarray) -> np.ndarray:
    """Return :math:`p^\\sharp = M^{-1} p`, the time derivative of the position.

    Parameters
    ----------
    momentum : ndarray of shape (dim,)
    inverse_mass_matrix : ndarray of shape (dim,)

    Returns
    -------
    ndarray of shape (dim,)
    """
    return inverse_mass_matrix * momentum


@njit(nogil=True, cache=True, error_model="numpy")
def draw_momentum(rng: np.random.Generator, inverse_mass_matrix: np.ndarray) -> np.ndarray:
    """Draw a momentum :math:`p \\sim N(0, M)` with :math:`M = \\mathrm{diag}(1 / M^{-1})`.

    Parameters
    ----------
    rng : numpy.random.Generator
    inverse_mass_matrix : ndarray of shape (dim,)

    Returns
    -------
    ndarray of shape (dim,)
    """
    standard_normal = rng.standard_normal(inverse_mass_matrix.shape[0])
    return standard_normal / np.sqrt(inverse_mass_matrix)


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
    inverse_mass_matrix: np.ndarray,
    first_momentum_begin: np.ndarray,
    first_momentum_end: np.ndarray,
    first_momentum_sum: np.ndarray,
    second_momentum_begin: np.ndarray,
    second_momentum_end: np.ndarray,
    second_momentum_sum: np.ndarray,
) -> bool:
    """Every U-turn check made when two adjacent trajectories are merged.

    ``first`` was integrated before ``second``; "begin" and "end" follow the
    order of integration, so ``first_momentum_end`` and
    ``second_momentum_begin`` are the two points where the trees touch. The
    checks are symmetric under reversing time, so the same function serves
    both integration directions.

    1. the generalised criterion on the merged trajectory
       (Betancourt 2017, appendix A.4.2);
    2. and 3. the criterion on the first tree extended by the first point of
       the second, and on the second tree extended by the last point of the
       first: the additional checks added in Stan 2.21 (``base_nuts.hpp``,
       discourse thread "Request for Mathematical Clarification of U-turn
       Criterion"), which catch U-turns hidden by merging two sub-trees
       that are each monotone.

    Parameters
    ----------
    inverse_mass_matrix : ndarray of shape (dim,)
    first_momentum_begin, first_momentum_end, first_momentum_sum : ndarray
        Momenta at the ends of the first tree and their sum over the tree.
    second_momentum_begin, second_momentum_end, second_momentum_sum : ndarray
        The same for the second tree.

    Returns
    -------
    bool
        True when any check detects a U-turn.
    """
    velocity_first_begin = velocity(first_momentum_begin, inverse_mass_matrix)
    velocity_first_end = velocity(first_momentum_end, inverse_mass_matrix)
    velocity_second_begin = velocity(second_momentum_begin, inverse_mass_matrix)
    velocity_second_end = velocity(second_momentum_end, inverse_mass_matrix)
    merged_sum = first_momentum_sum + second_momentum_sum
    if is_turning(velocity_first_begin, velocity_second_end, merged_sum):
        return True
    # Stan 2.21 extra check: first tree plus the first point of the second.
    extended_first = first_momentum_sum + second_momentum_begin
    if is_turning(velocity_first_begin, velocity_second_begin, extended_first):
        return True
    # Stan 2.21 extra check: last point of the first tree plus the second.
    extended_second = second_momentum_sum + first_momentum_end
    return is_turning(velocity_first_end, velocity_second_end, extended_second)
