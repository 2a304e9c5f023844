"""Leapfrog integrator and U-turn criterion."""

import numpy as np
import pytest
from mcmc_targets import NO_INTS, gaussian_diagonal_logp

from mixgraph.mcmc.integrators import PhasePoint, evaluate_logp, leapfrog
from mixgraph.mcmc.metrics import (
    diagonal_metric,
    draw_momentum,
    is_turning,
    is_turning_after_merge,
    kinetic_energy,
    velocity,
)

SCALES = np.array([0.5, 1.0, 3.0])
INVERSE_MASS = np.array([0.3, 1.0, 8.0])
METRIC = diagonal_metric(INVERSE_MASS)


def start_point(position, momentum):
    logp, logp_grad = evaluate_logp(gaussian_diagonal_logp, SCALES, NO_INTS, position)
    return PhasePoint(position, momentum, velocity(momentum, METRIC), logp, logp_grad)


def integrate(point, step_size, n_steps):
    for _ in range(n_steps):
        point = leapfrog(gaussian_diagonal_logp, SCALES, NO_INTS, point, step_size, METRIC)
    return point


def energy(point):
    return -point.logp + kinetic_energy(point.momentum, point.velocity)


def test_leapfrog_is_reversible():
    start = start_point(np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.4, -0.7]))
    forward = integrate(start, 0.1, 25)
    flipped = PhasePoint(forward.position, -forward.momentum, -forward.velocity, forward.logp,
                         forward.logp_grad)
    back = integrate(flipped, 0.1, 25)
    np.testing.assert_allclose(back.position, start.position, atol=1e-12)
    np.testing.assert_allclose(-back.momentum, start.momentum, atol=1e-12)


def test_negative_step_integrates_backwards():
    start = start_point(np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.4, -0.7]))
    back = integrate(integrate(start, 0.05, 10), -0.05, 10)
    np.testing.assert_allclose(back.position, start.position, atol=1e-12)


@pytest.mark.parametrize("step_size", [0.04, 0.02, 0.01])
def test_energy_error_is_second_order(step_size):
    """Over a fixed time, halving the step divides the energy error by about 4."""
    start = start_point(np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.4, -0.7]))
    duration = 1.0
    error_full = energy(integrate(start, step_size, round(duration / step_size))) - energy(start)
    error_half = (energy(integrate(start, step_size / 2, round(2 * duration / step_size)))
                  - energy(start))
    assert 3.5 < error_full / error_half < 4.5


def test_non_finite_logp_is_reported_as_minus_infinity():
    from mcmc_targets import nan_region_logp

    logp, _ = evaluate_logp(nan_region_logp, np.array([0.0]), NO_INTS, np.array([2.0, 0.0]))
    assert logp == -np.inf


UNIT = np.ones(2)


@pytest.mark.parametrize(
    "momenta, expected",
    [
        pytest.param([[1.0, 0.0], [1.0, 0.2], [0.9, -0.2]], False, id="straight-line"),
        pytest.param([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], True, id="half-circle"),
        pytest.param([[1.0, 0.0], [0.0, 1.0]], False, id="quarter-circle"),
        pytest.param([[1.0, 0.0], [-1.0, 0.0]], True, id="reversal"),
        pytest.param([[1.0, 0.0], [np.nan, 0.0]], True, id="nan-stops"),
    ],
)
def test_is_turning_on_constructed_momenta(momenta, expected):
    momenta = np.array(momenta)
    momentum_sum = momenta.sum(axis=0)
    assert is_turning(velocity(momenta[0], diagonal_metric(UNIT)),
                      velocity(momenta[-1], diagonal_metric(UNIT)),
                      momentum_sum) == expected


def merge_check(first, second, inverse_mass=UNIT):
    first, second = np.array(first), np.array(second)
    metric = diagonal_metric(np.asarray(inverse_mass, dtype=np.float64))

    def sharp(momentum):
        return velocity(momentum, metric)

    return is_turning_after_merge(sharp(first[0]), first[-1], sharp(first[-1]),
                                  first.sum(axis=0), second[0], sharp(second[0]),
                                  sharp(second[-1]), second.sum(axis=0))


@pytest.mark.parametrize(
    "first, second, expected",
    [
        pytest.param([[1.0, 0.0], [1.0, 0.1]], [[1.0, -0.1], [1.0, 0.0]], False, id="monotone"),
        pytest.param([[1.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [-1.0, -0.5]], True, id="u-turn"),
        # The merged criterion alone misses this one; Stan's first extra
        # check (first tree + first point of the second) catches it.
        pytest.param([[1.0, 0.0]], [[-1.5, 0.0], [3.0, 0.0]], True, id="extra-check-left"),
        # Mirror image: caught by the second extra check.
        pytest.param([[3.0, 0.0], [-1.5, 0.0]], [[1.0, 0.0]], True, id="extra-check-right"),
    ],
)
def test_is_turning_after_merge(first, second, expected):
    assert merge_check(first, second) == expected


def test_extra_checks_catch_what_the_merged_criterion_misses():
    first, second = np.array([[1.0, 0.0]]), np.array([[-1.5, 0.0], [3.0, 0.0]])
    merged_sum = first.sum(axis=0) + second.sum(axis=0)
    assert not is_turning(first[0], second[-1], merged_sum)
    assert merge_check(first, second)


def test_merge_check_uses_the_metric():
    # With a metric that shrinks the second coordinate the velocities at the
    # ends still point along the summed momentum.
    first, second = [[1.0, 0.0], [0.3, 1.0]], [[0.3, -1.0], [1.0, 0.0]]
    assert not merge_check(first, second, np.array([1.0, 0.01]))
