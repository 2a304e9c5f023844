"""L-BFGS and the ELBO along a path inside Numba: optima, the recorded path, agreement with NumPy, pruning."""

from collections import namedtuple

import numpy as np
import pytest
from numba import njit

from mixgraph.init.multipath import multi_path, pruning_threshold
from mixgraph.init.pathfinder_path import (
    CURVATURE_EPSILON, HISTORY_SIZE, _approximations_along, _elbo, approximation_draws, lbfgs_path,
    target_logps,
)
from mixgraph.init.lbfgs_numba import CONVERGED, STOP_ITERATIONS, path_kernels
from gaussian_target import GAUSSIAN_DATA, MEAN, NO_INTS, dense_gaussian_logp as gaussian_logp

Compiled = namedtuple("Compiled", "logp_fn float_data int_data")


@njit(cache=True)
def offset_quadratic_logp(position, grad_out, float_data, int_data):
    """-(1000 + sum(x_i^2 / (2 s_i^2))) with scales s = float_data: |log p| is large at the optimum."""
    grad_out[:] = -position / float_data**2
    return -1000.0 - 0.5 * np.sum((position / float_data) ** 2)


def test_the_relative_tolerance_stops_a_path_early_on_a_quadratic():
    scales = np.linspace(1.0, 30.0, 12)
    start = np.full(12, 20.0)
    arguments = (offset_quadratic_logp, scales, NO_INTS, start, 500, 1e-12)
    full = lbfgs_path(*arguments, 0.0)
    early = lbfgs_path(*arguments, 1e-7)
    assert full.converged and early.converged
    assert len(early.positions) < len(full.positions) and early.evaluations < full.evaluations
    # the rule: every step but the last lowered -log p by more than 1e-7 relatively, the last by less
    objective = -early.logps
    decrease = -np.diff(objective) / np.maximum(np.maximum(np.abs(objective[:-1]), np.abs(objective[1:])), 1.0)
    assert np.all(decrease[:-1] > 1e-7) and decrease[-1] <= 1e-7
    # and the path is where the full one went: log p within 1e-7 * 1000 * (a few) of the optimum's -1000
    assert early.logps[-1] > -1000.0 - 1e-3
    np.testing.assert_array_equal(early.positions, full.positions[:len(early.positions)])
    capped = lbfgs_path(*arguments[:4], 2, 1e-12, 1e-7)
    assert capped.status == STOP_ITERATIONS and not capped.converged and len(capped.positions) == 3
    assert early.status == CONVERGED


@njit(cache=True)
def rosenbrock_logp(position, grad_out, float_data, int_data):
    """-(1 - x)^2 - 100 (y - x^2)^2: a curved valley, optimum at (1, 1)."""
    x, y = position[0], position[1]
    grad_out[0] = 2.0 * (1.0 - x) + 400.0 * x * (y - x * x)
    grad_out[1] = -200.0 * (y - x * x)
    return -((1.0 - x) ** 2) - 100.0 * (y - x * x) ** 2


@njit(cache=True)
def half_line_logp(position, grad_out, float_data, int_data):
    """N(0.9, 1) times (1 - x)^0.01 on x < 1 (-inf beyond): the line search must back off the edge.

    The optimum solves (0.9 - x)(1 - x) = 0.01: x = 1 - (0.1 + sqrt(0.05)) / 2.
    """
    if position[0] >= 1.0:
        grad_out[0] = np.nan
        return -np.inf
    grad_out[0] = -(position[0] - 0.9) - 0.01 / (1.0 - position[0])
    return -0.5 * (position[0] - 0.9) ** 2 + 0.01 * np.log(1.0 - position[0])


@njit(cache=True)
def unequal_modes_logp(position, grad_out, float_data, int_data):
    """Modes at -10 and +10 per coordinate with log-weights float_data[0], float_data[1]."""
    low = float_data[0] - 0.5 * np.sum((position + 10.0) ** 2)
    high = float_data[1] - 0.5 * np.sum((position - 10.0) ** 2)
    top = max(low, high)
    share_low, share_high = np.exp(low - top), np.exp(high - top)
    total = share_low + share_high
    grad_out[:] = (share_low * -(position + 10.0) + share_high * -(position - 10.0)) / total
    return top + np.log(total)


@pytest.mark.parametrize("start", [np.zeros(3), np.array([10.0, 10.0, -10.0]), np.array([-50.0, 3.0, 7.0])])
def test_lbfgs_reaches_the_gaussian_mode_and_records_the_path(start):
    path = lbfgs_path(gaussian_logp, GAUSSIAN_DATA, NO_INTS, start, 200, 1e-9)
    np.testing.assert_allclose(path.positions[-1], MEAN, atol=1e-6)
    np.testing.assert_array_equal(path.positions[0], start)
    assert np.all(np.diff(path.logps) > 0)  # every accepted step raises log p
    for position, gradient, logp in zip(path.positions, path.gradients, path.logps):
        expected_gradient = np.zeros(3)
        assert logp == pytest.approx(gaussian_logp(position, expected_gradient, GAUSSIAN_DATA, NO_INTS), rel=1e-14)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-14)
    assert path.evaluations >= len(path.positions)


def test_lbfgs_follows_the_rosenbrock_valley_to_its_optimum():
    path = lbfgs_path(rosenbrock_logp, np.zeros(0), NO_INTS, np.array([-1.2, 1.0]), 500, 1e-10, 0.0)
    np.testing.assert_allclose(path.positions[-1], [1.0, 1.0], atol=1e-5)
    assert len(path.positions) < 200  # quasi-Newton, not steepest descent (which needs thousands)


def test_lbfgs_backs_off_a_support_edge_and_a_non_finite_start_gives_no_path():
    path = lbfgs_path(half_line_logp, np.zeros(0), NO_INTS, np.array([-30.0]), 100, 1e-10)
    assert np.all(path.positions[:, 0] < 1.0) and np.all(np.isfinite(path.logps))
    assert path.positions[-1, 0] == pytest.approx(1.0 - (0.1 + np.sqrt(0.05)) / 2.0, abs=1e-8)
    gradient = np.zeros(1)
    assert abs(half_line_logp(path.positions[-1], gradient, np.zeros(0), NO_INTS) - path.logps[-1]) < 1e-12
    assert abs(gradient[0]) < 1e-8
    empty = lbfgs_path(half_line_logp, np.zeros(0), NO_INTS, np.array([2.0]), 100, 1e-10)
    assert empty.positions.shape == (0, 1) and empty.logps.shape == (0,)


@pytest.mark.parametrize("target, data, start", [
    (gaussian_logp, GAUSSIAN_DATA, np.array([6.0, 4.0, -3.0])),
    (rosenbrock_logp, np.zeros(0), np.array([-1.2, 1.0])),
])
def test_numba_elbos_equal_the_numpy_algorithm_on_the_same_path(target, data, start):
    path = lbfgs_path(target, data, NO_INTS, start, 60, 1e-10)
    standard = np.random.default_rng(2).standard_normal((5, start.size))
    path_elbos = path_kernels().path_elbos
    elbos, _ = path_elbos(target, data, NO_INTS, path.positions, path.gradients, standard, HISTORY_SIZE,
                          CURVATURE_EPSILON, 1)
    expected = []
    for approximation in _approximations_along(path.positions, path.gradients):
        draws, logq = approximation_draws(approximation, None, 5, standard)
        expected.append(_elbo(target_logps(target, data, NO_INTS, draws), logq))
    assert len(expected) == len(path.positions) - 1 > 3
    np.testing.assert_allclose(elbos, expected, rtol=1e-9, atol=1e-9)
    # from a later iterate on: the same values there, -inf before
    later, _ = path_elbos(target, data, NO_INTS, path.positions, path.gradients, standard, HISTORY_SIZE,
                          CURVATURE_EPSILON, 3)
    np.testing.assert_array_equal(later[:2], -np.inf)
    np.testing.assert_allclose(later[2:], expected[2:], rtol=1e-9, atol=1e-9)


def test_the_last_iterate_alone_gives_the_last_elbo_and_the_numpy_variances():
    from mixgraph.init.pathfinder_path import _approximation_at

    path = lbfgs_path(rosenbrock_logp, np.zeros(0), NO_INTS, np.array([-1.2, 1.0]), 60, 1e-10)
    standard = np.random.default_rng(2).standard_normal((5, 2))
    kernels = path_kernels()
    last = len(path.positions) - 1
    elbos, variances = kernels.path_elbos(rosenbrock_logp, np.zeros(0), NO_INTS, path.positions, path.gradients,
                                          standard, HISTORY_SIZE, CURVATURE_EPSILON, last)
    along, variances_along = kernels.path_elbos(rosenbrock_logp, np.zeros(0), NO_INTS, path.positions,
                                                path.gradients, standard, HISTORY_SIZE, CURVATURE_EPSILON, 1)
    np.testing.assert_array_equal(elbos[:-1], -np.inf)
    assert elbos[-1] == pytest.approx(along[-1], rel=1e-12)
    expected = _approximation_at(path.positions, path.gradients, last).variances
    np.testing.assert_allclose(variances, expected, rtol=1e-9)
    np.testing.assert_array_equal(variances_along, variances)


def test_pruning_drops_paths_in_a_mode_far_below_and_keeps_the_result():
    # log-weights 0 and -80: the minor mode's draws would get weights near exp(-80), its ELBO is 80 lower.
    target = Compiled(unequal_modes_logp, np.array([0.0, -80.0]), NO_INTS)
    starts = np.concatenate([np.full((3, 2), -8.0), np.full((3, 2), 8.0)]) + np.arange(6.0)[:, None] / 10
    kept = multi_path(target, starts, np.random.default_rng(1), 200, 100)
    pruned = multi_path(target, starts, np.random.default_rng(1), 200, 100, prune_margin=20.0)
    assert np.all(np.isfinite(kept.elbo))
    assert np.all(np.isfinite(pruned.elbo[:3])) and np.all(pruned.elbo[3:] == -np.inf)
    assert np.all(kept.draws[:, 0] < 0) and np.all(pruned.draws[:, 0] < 0)
    assert set(np.unique(pruned.path_of_draw)) <= {0, 1, 2}
    assert pruned.evaluations < kept.evaluations
    # a gap smaller than the margin prunes nothing
    close = Compiled(unequal_modes_logp, np.array([0.0, -10.0]), NO_INTS)
    assert np.all(np.isfinite(multi_path(close, starts, np.random.default_rng(1), 200, 100, prune_margin=20.0).elbo))


def test_pruning_threshold():
    finals = np.array([-10.0, -np.inf, -50.0])
    assert pruning_threshold(finals, 20.0) == -30.0
    assert pruning_threshold(finals, None) == -np.inf
    assert pruning_threshold(np.full(2, -np.inf), 20.0) == -np.inf
    # against the best converged path alone; none converged: no threshold
    assert pruning_threshold(finals, 20.0, np.array([False, True, True])) == -70.0
    assert pruning_threshold(finals, 20.0, np.zeros(3, dtype=bool)) == -np.inf


@njit(cache=True)
def funnel_logp(position, grad_out, float_data, int_data):
    """Neal's funnel in 10 dimensions: log_scale ~ N(0, 3), x_i ~ N(0, exp(log_scale / 2)).

    Its log-density is unbounded towards the neck (x = 0, log_scale -> -inf is
    a thin region of little mass), the highest point an optimiser can find.
    """
    log_scale = position[0]
    total = -log_scale**2 / 18.0
    grad_out[0] = -log_scale / 9.0
    for index in range(1, position.shape[0]):
        total += -0.5 * position[index] ** 2 * np.exp(-log_scale) - 0.5 * log_scale
        grad_out[index] = -position[index] * np.exp(-log_scale)
        grad_out[0] += 0.5 * position[index] ** 2 * np.exp(-log_scale) - 0.5
    return total


def test_pruned_multi_path_on_a_funnel_draws_from_the_bulk_not_the_neck():
    rng = np.random.default_rng(4)
    starts = np.column_stack([rng.normal(0.0, 3.0, 16), rng.normal(0.0, 3.0, (16, 9))])
    result = multi_path(Compiled(funnel_logp, np.zeros(0), NO_INTS), starts, rng, 400, 50, max_iterations=100,
                        prune_margin=20.0)
    # The draws' log_scale follows N(0, 3) roughly: not the neck, where log_scale is far below -5.
    assert np.mean(result.draws[:, 0] < -5.0) < 0.1
    assert np.median(result.draws[:, 0]) > -4.0
