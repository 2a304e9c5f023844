"""The SMC kernels on their own: resampling, tempering, and whole runs on a conjugate target."""

import numba
import numpy as np
import pytest
from scipy import stats

from mixgraph.mcmc.state import LOGP_SIGNATURE
from mixgraph.smc import (
    KERNELS,
    SMCFunctions,
    SMCSettings,
    effective_sample_size,
    log_mean_exp,
    next_inverse_temperature,
    run_smc_chains,
    systematic_resampling,
)

# Conjugate target: mu ~ Normal(0, PRIOR_SIGMA), y_i ~ Normal(mu, 1).
PRIOR_SIGMA = 2.0
OBSERVED = np.random.default_rng(5).normal(1.5, 1.0, size=20)


@numba.njit(LOGP_SIGNATURE, cache=True)
def _prior(position, grad_out, float_data, int_data):
    grad_out[0] = -position[0] / PRIOR_SIGMA ** 2
    return -0.5 * (position[0] / PRIOR_SIGMA) ** 2 - np.log(PRIOR_SIGMA) - 0.5 * np.log(2 * np.pi)


@numba.njit(LOGP_SIGNATURE, cache=True)
def _likelihood(position, grad_out, float_data, int_data):
    residuals = float_data - position[0]
    grad_out[0] = np.sum(residuals)
    return -0.5 * np.sum(residuals ** 2) - 0.5 * float_data.shape[0] * np.log(2 * np.pi)


def _closed_form():
    n = OBSERVED.size
    covariance = PRIOR_SIGMA ** 2 * np.ones((n, n)) + np.eye(n)
    log_ml = stats.multivariate_normal(np.zeros(n), covariance).logpdf(OBSERVED)
    precision = 1 / PRIOR_SIGMA ** 2 + n
    return log_ml, OBSERVED.sum() / precision, 1 / precision


@pytest.mark.parametrize("weights", [
    np.array([0.1, 0.2, 0.3, 0.4]),
    np.array([0.05, 0.0, 0.5, 0.45]),
    np.random.default_rng(0).dirichlet(np.ones(50)),
])
def test_systematic_resampling_counts(weights):
    count = weights.size
    rng = np.random.default_rng(1)
    with np.errstate(divide="ignore"):  # a zero weight is a log weight of -inf
        log_weights = np.log(weights)
    totals = np.zeros(count)
    repeats = 4000
    for _ in range(repeats):
        counts = np.bincount(systematic_resampling(rng, log_weights), minlength=count)
        # Each particle is copied floor(n w) or ceil(n w) times.
        assert np.all(counts >= np.floor(count * weights) - 1e-9)
        assert np.all(counts <= np.ceil(count * weights) + 1e-9)
        totals += counts
    # The mean count is n w: the count is one of two neighbouring integers, so its
    # standard deviation is at most 1/2, and the mean of `repeats` is within 4 / (2 sqrt(repeats)).
    np.testing.assert_allclose(totals / repeats, count * weights, atol=4 * 0.5 / np.sqrt(repeats))


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.9])
@pytest.mark.parametrize("beta", [0.0, 0.2])
def test_bisection_hits_the_threshold_ess(threshold, beta):
    log_likelihoods = np.random.default_rng(2).normal(-50.0, 10.0, size=1000)
    next_beta = next_inverse_temperature(log_likelihoods, beta, threshold)
    assert beta < next_beta < 1.0
    ess = effective_sample_size((next_beta - beta) * log_likelihoods)
    np.testing.assert_allclose(ess, threshold * log_likelihoods.size, rtol=1e-6)


def test_bisection_goes_to_one_when_the_ess_allows():
    log_likelihoods = np.random.default_rng(3).normal(0.0, 0.01, size=100)
    assert next_inverse_temperature(log_likelihoods, 0.4, 0.5) == 1.0


def test_minus_infinite_likelihoods_get_no_weight():
    log_likelihoods = np.array([-np.inf, 0.0, -1.0, -np.inf])
    assert effective_sample_size(0.5 * log_likelihoods) <= 2.0
    np.testing.assert_allclose(log_mean_exp(np.array([0.0, -np.inf])), np.log(0.5))
    indices = systematic_resampling(np.random.default_rng(0), 0.5 * log_likelihoods)
    assert not np.isin(indices, [0, 3]).any()


def _settings(kernel):
    return SMCSettings(0.5, 0.01, 0.85, 100, KERNELS[kernel], 8, 0.65)


@pytest.mark.parametrize("kernel", ["imh", "hmc"])
def test_runs_match_the_conjugate_posterior_and_marginal_likelihood(kernel):
    functions = SMCFunctions(_prior, np.zeros(1), np.zeros(1, dtype=np.int64),
                             _likelihood, OBSERVED, np.zeros(1, dtype=np.int64))
    chains, draws = 4, 2000
    particles = np.random.default_rng(4).normal(0.0, PRIOR_SIGMA, size=(chains, draws, 1))
    result = run_smc_chains(functions, particles, _settings(kernel), seed=7)
    log_ml, mean, variance = _closed_form()
    assert result.completed.all() and not result.interrupted
    for stages in result.stages:
        assert stages["beta"][-1] == 1.0 and np.all(np.diff(stages["beta"]) > 0)
    np.testing.assert_allclose(result.log_marginal_likelihood, log_ml, atol=0.1)
    values = result.particles[..., 0]
    # Monte Carlo standard error of the mean of chains * draws particles (ESS at least half).
    standard_error = np.sqrt(variance / (chains * draws / 2))
    assert abs(values.mean() - mean) < 4 * standard_error
    np.testing.assert_allclose(values.var(), variance, rtol=0.1)


def test_runs_are_reproducible():
    functions = SMCFunctions(_prior, np.zeros(1), np.zeros(1, dtype=np.int64),
                             _likelihood, OBSERVED, np.zeros(1, dtype=np.int64))
    particles = np.random.default_rng(4).normal(0.0, PRIOR_SIGMA, size=(2, 300, 1))
    first = run_smc_chains(functions, particles, _settings("imh"), seed=11)
    second = run_smc_chains(functions, particles, _settings("imh"), seed=11, cores=1)
    np.testing.assert_array_equal(first.particles, second.particles)
    np.testing.assert_array_equal(first.log_marginal_likelihood, second.log_marginal_likelihood)
