"""Multi-path Pathfinder: draws against known targets, PSIS resampling across modes, fit_pathfinder."""

from collections import namedtuple

import numpy as np
import pytest
from numba import njit

import mixgraph as mg
from mixgraph.init.multipath import PathfinderFailure, multi_path, psis_log_weights
from mixgraph.init.pathfinder_path import _approximation, approximation_draws
from gaussian_target import COVARIANCE, GAUSSIAN_DATA, MEAN, NO_INTS, dense_gaussian_logp

Compiled = namedtuple("Compiled", "logp_fn float_data int_data")


@njit(cache=True)
def two_mode_logp(position, grad_out, float_data, int_data):
    """Mixture of N(-mode_offset, 1) and N(mode_offset, 1) per coordinate sum, weights in float_data[:2]."""
    offset = float_data[2]
    low = np.log(float_data[0]) - 0.5 * np.sum((position + offset) ** 2)
    high = np.log(float_data[1]) - 0.5 * np.sum((position - offset) ** 2)
    top = max(low, high)
    share_low = np.exp(low - top)
    share_high = np.exp(high - top)
    total = share_low + share_high
    grad_out[:] = (share_low * -(position + offset) + share_high * -(position - offset)) / total
    return top + np.log(total)


def _gaussian_target():
    return Compiled(dense_gaussian_logp, GAUSSIAN_DATA, NO_INTS)


def test_approximation_draws_have_the_factorised_covariance_and_exact_log_density():
    # Algorithm 4's draws: covariance diag(alpha) + beta gamma beta^T; log q the normal density.
    rng = np.random.default_rng(4)
    dim = 4
    alpha = rng.uniform(0.5, 2.0, dim)
    steps = [rng.normal(size=dim) for _ in range(2)]
    changes = [step * rng.uniform(0.5, 2.0, dim) for step in steps]  # positive curvature s @ z > 0
    approximation = _approximation(np.zeros(dim), np.zeros(dim), alpha, steps, changes)
    draws, logq = approximation_draws(approximation, rng, 200_000)
    sample_covariance = np.cov(draws.T)
    expected_diagonal = approximation.variances
    np.testing.assert_allclose(np.diag(sample_covariance), expected_diagonal, rtol=0.02)
    covariance = (np.diag(approximation.sqrt_alpha) @ (np.eye(dim) + approximation.q_factor @ (
        approximation.cholesky @ approximation.cholesky.T - np.eye(approximation.cholesky.shape[0]))
        @ approximation.q_factor.T) @ np.diag(approximation.sqrt_alpha))
    from scipy import stats
    np.testing.assert_allclose(logq[:50], stats.multivariate_normal(approximation.mean, covariance).logpdf(draws[:50]),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.diag(covariance), expected_diagonal, rtol=1e-12)
    # the inverse-Hessian estimate satisfies the secant equation of the newest pair: H z = s
    step_matrix, change_matrix = np.array(steps).T, np.array(changes).T
    np.testing.assert_allclose(covariance @ change_matrix[:, -1], step_matrix[:, -1], rtol=1e-8, atol=1e-10)


def _effective_size(log_ratios):
    log_weights, _ = psis_log_weights(log_ratios)
    weights = np.exp(log_weights)
    return 1.0 / np.sum(weights**2)


def test_draws_on_a_correlated_gaussian_match_its_mean_and_covariance():
    rng = np.random.default_rng(11)
    starts = rng.normal(0.0, 3.0, size=(4, 3))
    result = multi_path(_gaussian_target(), starts, rng, num_draws=4000, num_draws_per_path=2000)
    assert result.pareto_k < 0.7
    # Effective size: PSIS weights, then resampling with replacement (1/n_eff = 1/ess + 1/draws).
    effective = 1.0 / (1.0 / _effective_size(result.logp - result.logq) + 1.0 / 4000)
    mean_error = result.draws.mean(axis=0) - MEAN
    assert np.all(np.abs(mean_error) < 4.0 * np.sqrt(np.diag(COVARIANCE) / effective))
    variances = np.diag(COVARIANCE)
    covariance_se = np.sqrt((np.outer(variances, variances) + COVARIANCE**2) / effective)
    assert np.all(np.abs(np.cov(result.draws.T) - COVARIANCE) < 4.0 * covariance_se)


def test_resampling_keeps_the_mode_that_carries_the_mass():
    # Modes at -4 and +4 (2-d) with masses 0.99 and 0.01; half the paths start in each.
    target = Compiled(two_mode_logp, np.array([0.99, 0.01, 4.0]), NO_INTS)
    rng = np.random.default_rng(3)
    starts = np.concatenate([rng.normal(-4.0, 0.5, (4, 2)), rng.normal(4.0, 0.5, (4, 2))])
    result = multi_path(target, starts, rng, num_draws=4000, num_draws_per_path=1000)
    in_minor_mode = np.mean(result.draws[:, 0] > 0.0)
    # the expected share is 0.01; binomial sd of a 4000-draw share is 0.0016, PSIS noise adds some
    assert 0.002 < in_minor_mode < 0.025
    assert set(np.unique(result.path_of_draw[result.draws[:, 0] < 0])) <= {0, 1, 2, 3}


def test_a_target_without_finite_points_is_a_pathfinder_failure():
    @njit
    def nowhere(position, grad_out, float_data, int_data):
        grad_out[:] = np.nan
        return -np.inf

    with pytest.raises(PathfinderFailure, match="none of the 2 Pathfinder paths"):
        multi_path(Compiled(nowhere, np.zeros(0), NO_INTS), np.zeros((2, 2)), np.random.default_rng(0), 10, 10)


@pytest.fixture(scope="module")
def grouped_model():
    rng = np.random.default_rng(5)
    observed = rng.normal([1.0, -1.0, 3.0], 0.5, size=(40, 3))
    with mg.Model(coords={"group": ["a", "b", "c"]}) as model:
        mu = mg.Normal("mu", 0.0, 5.0, dims="group")
        sigma = mg.HalfNormal("sigma", 2.0)
        mg.Deterministic("mu_sum", mu.sum())
        mg.Normal("y", mu, sigma, observed=observed)
    return model, observed


def test_fit_pathfinder_returns_inference_data_with_dims_and_pareto_k(grouped_model):
    model, observed = grouped_model
    idata = mg.fit_pathfinder(num_paths=3, num_draws=500, num_draws_per_path=300, random_seed=2, model=model)
    posterior = idata.posterior
    assert posterior["mu"].dims == ("chain", "draw", "group")
    assert posterior["mu"].shape == (1, 500, 3)
    assert list(posterior["group"].values) == ["a", "b", "c"]
    assert posterior["sigma"].shape == (1, 500) and np.all(posterior["sigma"].values > 0)
    np.testing.assert_allclose(posterior["mu_sum"].values, posterior["mu"].values.sum(axis=-1))
    assert set(idata.sample_stats.data_vars) == {"lp", "logq", "path"}
    assert 0 <= int(idata.sample_stats["path"].max()) < 3
    assert np.isfinite(posterior.attrs["pareto_k"]) and len(posterior.attrs["elbo"]) == 3
    # posterior means within a few posterior standard deviations of the data's means
    np.testing.assert_allclose(posterior["mu"].mean(("chain", "draw")).values, observed.mean(axis=0), atol=0.3)
    again = mg.fit_pathfinder(num_paths=3, num_draws=500, num_draws_per_path=300, random_seed=2, model=model)
    np.testing.assert_array_equal(again.posterior["mu"].values, posterior["mu"].values)


def test_fit_pathfinder_rejects_bad_arguments(grouped_model):
    model, _ = grouped_model
    with pytest.raises(ValueError, match="num_paths"):
        mg.fit_pathfinder(num_paths=0, model=model)
    with pytest.raises(TypeError, match="unexpected keyword argument 'paths'"):
        mg.fit_pathfinder(paths=3, model=model)


def test_fit_pathfinder_with_an_improper_prior_says_what_to_do():
    with mg.Model() as model:
        mu = mg.Flat("mu")
        mg.Normal("y", mu, 1.0, observed=np.array([0.1, -0.3]))
    with pytest.raises(mg.init.PriorDrawError, match="proper priors"):
        mg.fit_pathfinder(num_paths=2, num_draws=10, model=model)
