"""Pareto-smoothed importance sampling against ArviZ's psislw and scipy's generalised Pareto distribution."""

import warnings

import arviz
import numpy as np
import pytest
from scipy import stats

from mixgraph.init.psis import generalized_pareto_fit, generalized_pareto_quantiles, pareto_smoothed_log_weights

RATIO_DRAWS = {
    "normal": lambda rng, size, scale: rng.normal(0.0, scale, size),
    "student t, 2 degrees of freedom": lambda rng, size, scale: scale * rng.standard_t(2, size),
    "gumbel": lambda rng, size, scale: rng.gumbel(0.0, scale, size),
}


@pytest.mark.parametrize("kind", list(RATIO_DRAWS))
@pytest.mark.parametrize("size", [5, 6, 24, 100, 401, 4000])
@pytest.mark.parametrize("scale", [0.1, 1.0, 10.0])
def test_weights_and_k_equal_arviz_psislw(kind, size, scale):
    rng = np.random.default_rng(size)
    log_ratios = RATIO_DRAWS[kind](rng, size, scale) + 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # psislw warns when k > 0.7
        expected, expected_k = arviz.psislw(log_ratios.copy())
    log_weights, pareto_k = pareto_smoothed_log_weights(log_ratios)
    np.testing.assert_allclose(log_weights, expected, rtol=0, atol=1e-10)
    assert pareto_k == pytest.approx(expected_k, rel=1e-12) or (np.isinf(expected_k) and np.isinf(pareto_k))
    np.testing.assert_allclose(np.exp(log_weights).sum(), 1.0, rtol=1e-12)


def test_too_short_a_tail_gives_infinite_k_and_the_raw_weights():
    log_ratios = np.array([0.0, -1.0, -2.0, -3.0, 0.5])
    log_weights, pareto_k = pareto_smoothed_log_weights(log_ratios)
    assert np.isinf(pareto_k)
    np.testing.assert_allclose(np.exp(log_weights), np.exp(log_ratios) / np.exp(log_ratios).sum(), rtol=1e-12)


@pytest.mark.parametrize("shape", [-0.3, 0.0, 0.4, 0.9])
def test_quantiles_equal_scipy_genpareto(shape):
    probabilities = np.linspace(0.01, 0.99, 25)
    np.testing.assert_allclose(generalized_pareto_quantiles(probabilities, shape, 2.5),
                               stats.genpareto.ppf(probabilities, shape, scale=2.5), rtol=1e-12)


@pytest.mark.parametrize("shape", [0.2, 0.5, 0.8])
def test_fit_recovers_the_shape_of_generalized_pareto_draws(shape):
    # 4000 draws: the estimate's standard error is about (1 + k) / sqrt(n) < 0.03; the prior's pull
    # towards 0.5 is 10 / 4010 of the distance.
    draws = np.sort(stats.genpareto.rvs(shape, scale=1.5, size=4000, random_state=7))
    fitted_shape, fitted_scale = generalized_pareto_fit(draws)
    assert abs(fitted_shape - shape) < 3 * (1 + shape) / np.sqrt(4000)
    assert fitted_scale == pytest.approx(1.5, rel=0.1)
