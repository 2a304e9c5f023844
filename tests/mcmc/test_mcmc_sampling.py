"""End-to-end sampling through run_chains: posteriors, edge cases, seeds, interrupts."""

import threading

import arviz as az
import numpy as np
import pytest
from mcmc_targets import (
    NO_INTS,
    dense_gaussian_data,
    gaussian_dense_logp,
    gaussian_diagonal_logp,
    nan_region_logp,
)

from mixgraph.mcmc import STAT_NAMES, run_chains

ADAPTATIONS = ["nutpie", "stan"]
BADLY_SCALED = np.array([0.01, 0.1, 1.0, 10.0, 100.0])
CORRELATION = 0.9
CORRELATED_COVARIANCE = np.array([[1.0, CORRELATION * 2.0], [CORRELATION * 2.0, 4.0]])

# name, logp, float_data, true mean, true standard deviation
TARGETS = [
    ("iid", gaussian_diagonal_logp, np.ones(4), np.zeros(4), np.ones(4)),
    ("badly-scaled", gaussian_diagonal_logp, BADLY_SCALED, np.zeros(5), BADLY_SCALED),
    ("correlated", gaussian_dense_logp, dense_gaussian_data([1.0, -2.0], CORRELATED_COVARIANCE),
     np.array([1.0, -2.0]), np.sqrt(np.diag(CORRELATED_COVARIANCE))),
    ("one-dimensional", gaussian_diagonal_logp, np.array([3.0]), np.zeros(1), np.array([3.0])),
]


def sample(logp, float_data, dim, chains=2, draws=500, tune=500, seed=1, **kwargs):
    initial = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(chains, dim))
    return run_chains(logp, float_data, NO_INTS, initial, draws, tune, seed=seed, **kwargs)


def mcse_of_mean(draws):
    """Monte Carlo standard error of the mean of each coordinate of (chain, draw, dim)."""
    return az.mcse(az.convert_to_dataset({"x": draws}), method="mean")["x"].values


@pytest.mark.parametrize("adaptation", ADAPTATIONS)
@pytest.mark.parametrize("name, logp, float_data, mean, sd", TARGETS, ids=[t[0] for t in TARGETS])
def test_posterior_moments(name, logp, float_data, mean, sd, adaptation):
    """Mean and standard deviation within 4 Monte Carlo standard errors."""
    result = sample(logp, float_data, mean.shape[0], chains=2, draws=1000, tune=1000,
                    adaptation=adaptation)
    draws = result.positions[:, 1000:]
    mcse_mean = mcse_of_mean(draws)
    # Standard error of the sd by the delta method, from the MCSE of the mean
    # squared deviation (as arviz does; its method="sd" breaks on numpy 2.4).
    squared_deviations = (draws - draws.mean(axis=(0, 1))) ** 2
    mcse_sd = mcse_of_mean(squared_deviations) / (2.0 * draws.std(axis=(0, 1)))
    assert np.all(np.abs(draws.mean(axis=(0, 1)) - mean) < 4 * mcse_mean)
    assert np.all(np.abs(draws.std(axis=(0, 1)) - sd) < 4 * mcse_sd)
    assert result.stats["diverging"][:, 1000:].sum() == 0
    assert 0.6 < result.stats["acceptance_rate"][:, 1000:].mean() < 0.97


def test_stats_have_the_documented_names_and_types():
    result = sample(gaussian_diagonal_logp, np.ones(3), 3, draws=50, tune=50)
    assert tuple(result.stats) == STAT_NAMES
    assert result.positions.shape == (2, 100, 3)
    for name, values in result.stats.items():
        assert values.shape == (2, 100), name
    assert result.stats["tree_depth"].dtype == np.int64
    assert result.stats["diverging"].dtype == np.bool_
    depth, n_steps = result.stats["tree_depth"], result.stats["n_steps"]
    # A rejected last sub-tree adds up to 2**depth steps to the 2**depth - 1 kept.
    assert np.all((n_steps >= 2**depth - 1) & (n_steps <= 2 ** (depth + 1) - 1))
    np.testing.assert_array_equal(result.n_completed, [100, 100])
    assert not result.interrupted
    # After warm-up the step size is fixed and equals step_size_bar.
    step_sizes = result.stats["step_size"][:, 50:]
    assert np.all(step_sizes == step_sizes[:, :1])
    np.testing.assert_array_equal(step_sizes, result.stats["step_size_bar"][:, 50:])


def test_max_tree_depth_is_respected_and_reported():
    result = sample(gaussian_diagonal_logp, np.array([0.01, 100.0]), 2, draws=50, tune=0,
                    max_tree_depth=3, adaptation="stan")
    assert result.stats["tree_depth"].max() == 3
    assert result.stats["reached_max_treedepth"].any()
    assert result.stats["n_steps"].max() <= 2**3 - 1
    np.testing.assert_array_equal(result.stats["reached_max_treedepth"],
                                  result.stats["tree_depth"] == 3)


def test_nan_region_becomes_divergences_not_a_crash():
    result = sample(nan_region_logp, np.array([0.5]), 2, draws=300, tune=300)
    draws = result.positions[:, 300:]
    assert np.all(np.isfinite(draws))
    assert np.all(draws[..., 0] <= 0.5)
    assert result.stats["diverging"].sum() > 0
    assert np.all(np.isfinite(result.stats["lp"]))


def test_non_finite_initial_point_is_refused():
    with pytest.raises(ValueError, match="not finite at the initial point"):
        run_chains(nan_region_logp, np.array([0.5]), NO_INTS, np.ones((1, 2)), 10, 10, seed=0)


@pytest.mark.parametrize("adaptation", ADAPTATIONS)
def test_tune_zero_samples_without_adaptation(adaptation):
    result = sample(gaussian_diagonal_logp, np.ones(2), 2, draws=30, tune=0,
                    adaptation=adaptation)
    step_sizes = result.stats["step_size"]
    assert np.all(step_sizes == step_sizes[:, :1])
    np.testing.assert_array_equal(result.n_completed, [30, 30])


@pytest.mark.parametrize("chains, cores", [(1, None), (3, 2), (5, 1)])
def test_any_number_of_chains_and_cores(chains, cores):
    result = sample(gaussian_diagonal_logp, np.ones(2), 2, chains=chains, draws=40, tune=40,
                    cores=cores)
    assert result.positions.shape == (chains, 80, 2)
    np.testing.assert_array_equal(result.n_completed, [80] * chains)
    assert np.all(np.abs(result.positions[:, 1:]).sum(axis=2) > 0)


def test_same_seed_gives_identical_draws_whatever_the_threads_and_chunks():
    runs = [
        sample(gaussian_diagonal_logp, BADLY_SCALED, 5, chains=3, draws=60, tune=60, seed=7,
               cores=cores, chunk_size=chunk_size)
        for cores, chunk_size in [(1, 50), (2, 50), (3, 7), (2, 1000)]
    ]
    for run in runs[1:]:
        np.testing.assert_array_equal(run.positions, runs[0].positions)
        for name in STAT_NAMES:
            np.testing.assert_array_equal(run.stats[name], runs[0].stats[name])


def test_different_seeds_give_different_draws():
    first = sample(gaussian_diagonal_logp, np.ones(2), 2, draws=20, tune=20, seed=1)
    second = run_chains(gaussian_diagonal_logp, np.ones(2), NO_INTS,
                        np.random.default_rng(1).uniform(-1, 1, size=(2, 2)), 20, 20, seed=2)
    assert not np.array_equal(first.positions, second.positions)
    # Chains of one run differ from each other too.
    assert not np.array_equal(first.positions[0, 1:], first.positions[1, 1:])


def test_seed_sequence_is_accepted():
    from_int = sample(gaussian_diagonal_logp, np.ones(2), 2, draws=10, tune=10, seed=5)
    from_sequence = sample(gaussian_diagonal_logp, np.ones(2), 2, draws=10, tune=10,
                           seed=np.random.SeedSequence(5))
    np.testing.assert_array_equal(from_int.positions, from_sequence.positions)


def check_partial_trace(result, total):
    assert result.interrupted
    assert np.all(result.n_completed < total)
    for chain, completed in enumerate(result.n_completed):
        assert np.all(result.positions[chain, completed:] == 0.0)
        assert np.all(result.stats["n_steps"][chain, :completed] > 0)


def test_keyboard_interrupt_returns_the_partial_trace():
    calls = []

    def progress(completed):
        calls.append(completed)
        if len(calls) == 1:
            raise KeyboardInterrupt  # as if Ctrl-C arrived in the main thread

    total = 20000
    result = sample(gaussian_diagonal_logp, np.ones(2), 2, draws=total - 100, tune=100,
                    chunk_size=10, progress=progress)
    check_partial_trace(result, total)
    assert calls[-1] == result.n_completed.sum()


def test_stop_event_returns_the_partial_trace():
    stop_event = threading.Event()

    def progress(completed):
        if completed > 0:
            stop_event.set()

    result = sample(gaussian_diagonal_logp, np.ones(2), 2, chains=3, draws=20000, tune=100,
                    chunk_size=10, cores=2, progress=progress, stop_event=stop_event)
    check_partial_trace(result, 20100)


def test_progress_reports_growing_totals_up_to_the_end():
    calls = []
    sample(gaussian_diagonal_logp, np.ones(2), 2, draws=200, tune=200, chunk_size=20,
           progress=calls.append)
    assert calls == sorted(calls)
    assert calls[-1] == 2 * 400


def test_unknown_adaptation_is_refused():
    with pytest.raises(ValueError, match="adaptation"):
        sample(gaussian_diagonal_logp, np.ones(2), 2, adaptation="pymc")


def test_blas_runs_single_threaded_while_chains_run(monkeypatch):
    # Chains are the parallelism: a multi-threaded BLAS inside every chain's
    # np.dot oversubscribes the cores (see mixgraph.mcmc.driver).
    from threadpoolctl import threadpool_info

    import mixgraph.mcmc.driver as driver

    seen = []
    original = driver._run_one_chain

    def recording(*args, **kwargs):
        seen.append([entry["num_threads"] for entry in threadpool_info() if entry["user_api"] == "blas"])
        return original(*args, **kwargs)

    monkeypatch.setattr(driver, "_run_one_chain", recording)
    before = [entry["num_threads"] for entry in threadpool_info() if entry["user_api"] == "blas"]
    sample(gaussian_diagonal_logp, np.ones(2), 2, chains=2, draws=20, tune=20)
    assert seen and all(threads and all(count == 1 for count in threads) for threads in seen), seen
    after = [entry["num_threads"] for entry in threadpool_info() if entry["user_api"] == "blas"]
    assert after == before, "the BLAS thread count must be restored after sampling"
