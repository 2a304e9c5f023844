"""Forward sampling: mg.draw and sample_prior_predictive."""

import numpy as np
import pytest
import scipy.stats as stats

import mixgraph as mg


def test_draw_is_seeded_and_shaped():
    x = mg.Normal.dist(mu=np.zeros(3), sigma=1.0, size=(2, 3))
    first = mg.draw(x, draws=50, random_seed=4)
    second = mg.draw(x, draws=50, random_seed=4)
    third = mg.draw(x, draws=50, random_seed=5)
    assert first.shape == (50, 2, 3)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)
    assert mg.draw(x, random_seed=1).shape == (2, 3)


def test_draw_follows_the_distribution():
    x = mg.Exponential.dist(lam=2.0)
    values = mg.draw(x, draws=2000, random_seed=7)
    assert stats.kstest(values, stats.expon(scale=0.5).cdf).pvalue > 0.01


def test_draw_joint_dependence():
    mu = mg.Normal.dist(0.0, 10.0)
    y = mg.Normal.dist(mu, 0.001)
    mu_draws, y_draws = mg.draw([mu, y], draws=20, random_seed=1)
    np.testing.assert_allclose(mu_draws, y_draws, atol=0.01)


@pytest.fixture(scope="module")
def prior_idata():
    with mg.Model(coords={"component": ["a", "b", "c"], "obs": np.arange(6)}) as model:
        w = mg.Dirichlet("w", a=np.ones(3), dims="component")
        mu = mg.Normal("mu", 0, 1, dims="component")
        mg.Deterministic("mu_sum", mu.sum())
        mg.Normal("y", mu[0] * w[0], 1.0, observed=np.zeros(6), dims="obs")
        idata = mg.sample_prior_predictive(draws=400, random_seed=2)
    return idata


def test_prior_predictive_groups_dims_and_coords(prior_idata):
    assert set(prior_idata.groups()) == {"prior", "prior_predictive", "observed_data"}
    assert prior_idata.prior["w"].dims == ("chain", "draw", "component")
    assert list(prior_idata.prior["w"].component.values) == ["a", "b", "c"]
    assert prior_idata.prior_predictive["y"].shape == (1, 400, 6)
    np.testing.assert_allclose(prior_idata.prior["w"].sum("component"), 1.0)
    np.testing.assert_allclose(prior_idata.prior["mu_sum"], prior_idata.prior["mu"].sum("component"))


def test_prior_draws_match_the_prior(prior_idata):
    mu = prior_idata.prior["mu"].values.reshape(-1)
    assert stats.kstest(mu, stats.norm.cdf).pvalue > 0.01
    first_weight = prior_idata.prior["w"].values[..., 0].ravel()
    assert stats.kstest(first_weight, stats.beta(1, 2).cdf).pvalue > 0.01
