"""Step-size heuristic, dual averaging, mass-matrix estimators and warm-up schedules."""

import numpy as np
import pytest
from mcmc_targets import NO_INTS, gaussian_diagonal_logp

from mixgraph.mcmc.adaptation import (
    dual_averaging_init,
    dual_averaging_update,
    find_reasonable_step_size,
    initial_inverse_mass_matrix,
    moments_init,
    moments_update,
    nutpie_inverse_mass_matrix,
    stan_inverse_mass_matrix,
)
from mixgraph.mcmc.integrators import evaluate_logp
from mixgraph.mcmc.metrics import diagonal_metric
from mixgraph.mcmc.schedules import nutpie_schedule, stan_schedule, window_capacity


def heuristic_step_size(scale, seed, initial_step_size=1.0):
    scales = np.full(2, scale)
    position = np.full(2, scale)
    logp, logp_grad = evaluate_logp(gaussian_diagonal_logp, scales, NO_INTS, position)
    return find_reasonable_step_size(gaussian_diagonal_logp, scales, NO_INTS,
                                     np.random.default_rng(seed), position, logp, logp_grad,
                                     diagonal_metric(np.ones(2)), initial_step_size)


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_size_heuristic_scales_with_the_target(scale, seed):
    """A step of about the target's scale gives a one-step acceptance near 1/2."""
    step_size = heuristic_step_size(scale, seed)
    assert 0.1 * scale <= step_size <= 8.0 * scale
    # Power-of-two moves from the starting guess of 1 (Hoffman & Gelman, alg. 4).
    assert np.log2(step_size) == pytest.approx(round(np.log2(step_size)))


def test_step_size_heuristic_does_not_depend_on_the_start_guess_much():
    assert heuristic_step_size(1.0, 0, 1e-3) / heuristic_step_size(1.0, 0, 1e3) == \
        pytest.approx(1.0, rel=3.0)


def run_dual_averaging(acceptance_of_step_size, n_iterations, step_size=1.0, target=0.8):
    state = dual_averaging_init(step_size)
    for _ in range(n_iterations):
        acceptance = acceptance_of_step_size(np.exp(state.log_step_size))
        state = dual_averaging_update(state, acceptance, target, 0.05, 10.0, 0.75)
    return state


@pytest.mark.parametrize("acceptance, grows", [(1.0, True), (0.0, False), (0.95, True),
                                              (0.5, False)])
def test_dual_averaging_moves_the_step_size_the_right_way(acceptance, grows):
    state = run_dual_averaging(lambda step_size: acceptance, 20)
    assert (np.exp(state.log_step_size_bar) > 1.0) == grows
    assert (np.exp(state.log_step_size) > 1.0) == grows


@pytest.mark.parametrize("target", [0.6, 0.8, 0.95])
@pytest.mark.parametrize("initial_step_size", [1e-3, 1.0, 50.0])
def test_dual_averaging_converges_to_the_target(target, initial_step_size):
    """With acceptance exp(-step_size) the answer is -log(target).

    Dual averaging forgets a bad start slowly (the averaged iterate carries
    weights t**-0.75), so the error must shrink with more iterations.
    """
    answer = -np.log(target)
    errors = []
    for n_iterations in (1000, 10000):
        state = run_dual_averaging(lambda step_size: np.exp(-step_size), n_iterations,
                                   initial_step_size, target)
        errors.append(abs(np.exp(state.log_step_size_bar) / answer - 1.0))
    assert errors[1] < 0.06
    assert errors[1] < errors[0] or errors[0] < 0.005


def test_dual_averaging_treats_nan_acceptance_as_zero():
    state = dual_averaging_update(dual_averaging_init(1.0), np.nan, 0.8, 0.05, 10.0, 0.75)
    reference = dual_averaging_update(dual_averaging_init(1.0), 0.0, 0.8, 0.05, 10.0, 0.75)
    assert state == reference


def gaussian_moments(scales, n_draws, seed=0):
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(n_draws, scales.shape[0])) * scales
    moments = moments_init(scales.shape[0])
    for draw in draws:
        moments = moments_update(moments, draw, -draw / scales**2)
    return draws, moments


def test_running_moments_match_numpy():
    draws, moments = gaussian_moments(np.array([0.1, 2.0, 30.0]), 500)
    assert moments.count == 500
    np.testing.assert_allclose(moments.draw_mean, draws.mean(axis=0))
    np.testing.assert_allclose(moments.draw_sum_squares / 499, draws.var(axis=0, ddof=1))


@pytest.mark.parametrize("estimator", [nutpie_inverse_mass_matrix, stan_inverse_mass_matrix])
def test_inverse_mass_estimates_the_posterior_variance(estimator):
    scales = np.array([0.01, 1.0, 100.0])
    _, moments = gaussian_moments(scales, 2000)
    estimate = estimator(moments, np.ones(3))
    np.testing.assert_allclose(estimate, scales**2, rtol=0.1, atol=2e-3)


def test_nutpie_estimate_keeps_previous_value_where_undefined():
    moments = moments_init(2)
    for draw in [np.array([1.0, 0.0]), np.array([2.0, 0.0])]:
        moments = moments_update(moments, draw, np.array([-1.0, 0.0]))
    # Both variances vanish in one coordinate: keep the previous values.
    np.testing.assert_allclose(nutpie_inverse_mass_matrix(moments, np.array([5.0, 7.0])),
                               [5.0, 7.0])


def test_stan_estimate_is_regularised():
    moments = moments_init(1)
    for value in [1.0, 3.0]:
        moments = moments_update(moments, np.array([value]), np.array([0.0]))
    expected = (2 / 7) * 2.0 + 1e-3 * (5 / 7)
    np.testing.assert_allclose(stan_inverse_mass_matrix(moments, np.ones(1)), [expected])


def test_initial_inverse_mass_from_gradient():
    result = initial_inverse_mass_matrix(np.array([4.0, -0.5, 0.0, np.nan, 1e-30]))
    np.testing.assert_allclose(result, [0.25, 2.0, 1.0, 1.0, 1e10])


def window_ends(schedule):
    return list(np.flatnonzero(schedule.update) + 1)


@pytest.mark.parametrize(
    "tune, ends, n_collected",
    [
        (1000, [100, 150, 250, 450, 950], 875),  # Stan's default 75/25.../50
        (200, [100, 150], 75),
        (100, [90], 75),  # short warm-up: 15% / 75% / 10%
        (10, [], 0),
        (0, [], 0),
    ],
)
def test_stan_schedule_windows(tune, ends, n_collected):
    schedule = stan_schedule(tune)
    assert window_ends(schedule) == ends
    assert schedule.collect.sum() == n_collected
    if ends:
        assert not schedule.collect[ends[-1]:].any()


@pytest.mark.parametrize("tune", [0, 1, 30, 200, 1000, 5000])
def test_nutpie_schedule(tune):
    schedule = nutpie_schedule(tune)
    metric_end = tune - int(0.15 * tune)
    assert schedule.collect.sum() == metric_end
    assert not schedule.update[metric_end:].any()
    # The diagonal metric is refreshed after every draw of the metric phase.
    assert schedule.refresh.sum() == metric_end
    gaps = np.diff([0] + window_ends(schedule))
    early = [gap for end, gap in zip(window_ends(schedule), gaps) if end <= 0.3 * tune]
    assert all(gap == 10 for gap in early)
    assert all(gap in (10, 80) for gap in gaps)
    # No switch once a full window no longer fits before the metric freezes;
    # from there on dual averaging uses the symmetric statistic.
    for end in window_ends(schedule):
        window = 10 if end - 1 < int(0.3 * tune) else 80
        assert end - 1 + window <= metric_end
    assert schedule.late[metric_end:].all()
    if tune >= 200:
        # late from the first iteration where a late window no longer fits
        assert not schedule.late[0]
        assert schedule.late.sum() == tune - (metric_end - 80 + 1)


def test_nutpie_schedule_refreshes_costly_metrics_every_interval():
    schedule = nutpie_schedule(1000, refresh_interval=10)
    refreshed = set(np.flatnonzero(schedule.refresh))
    assert set(range(0, 850, 10)) <= refreshed
    assert set(np.flatnonzero(schedule.update)) <= refreshed
    assert 849 in refreshed and max(refreshed) == 849


@pytest.mark.parametrize("tune, adaptation, expected", [
    (1000, "stan", 500),  # the last slow window, 450..950
    (1000, "nutpie", None),
    (0, "nutpie", 0),
])
def test_window_capacity_is_the_longest_foreground(tune, adaptation, expected):
    schedule = stan_schedule(tune) if adaptation == "stan" else nutpie_schedule(tune)
    capacity = window_capacity(schedule, adaptation)
    if expected is not None:
        assert capacity == expected
        return
    # nutpie: the last foreground is the previous background plus every later draw.
    last_switch = window_ends(schedule)[-1]
    previous = window_ends(schedule)[-2]
    assert capacity == 850 - previous
    assert capacity > 850 - last_switch
