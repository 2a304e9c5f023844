"""Posterior predictive sampling, predictions on new data, log-likelihood."""

import numpy as np
import pytest
import scipy.stats as stats
import xarray

import mixgraph as mg

RNG = np.random.default_rng(42)


def _fake_posterior(model, draws=40, chains=2, seed=0):
    """A posterior group drawn from the prior: enough to test shapes and bookkeeping."""
    prior = mg.sample_prior_predictive(draws=draws * chains, model=model, random_seed=seed).prior
    import arviz as az

    posterior = {name: prior[name].values.reshape((chains, draws) + prior[name].shape[2:])
                 for name in [rv.name for rv in model.free_RVs]}
    return az.from_dict(posterior=posterior)


def _doc_examples():
    data = np.r_[RNG.poisson(2, 10), RNG.poisson(9, 10)]
    normal_data = RNG.normal(size=20)
    with mg.Model() as poissons_list:
        w = mg.Dirichlet("w", a=np.array([1, 1]))
        lam1 = mg.Exponential("lam1", lam=1)
        lam2 = mg.Exponential("lam2", lam=1)
        mg.Mixture("like", w=w, comp_dists=[mg.Poisson.dist(mu=lam1), mg.Poisson.dist(mu=lam2)], observed=data)
    with mg.Model() as poissons_batched:
        w = mg.Dirichlet("w", a=np.array([1, 1]))
        lam1 = mg.Exponential("lam1", lam=1)
        lam2 = mg.Exponential("lam2", lam=1)
        mg.Mixture("like", w=w, comp_dists=mg.Poisson.dist(mu=mg.math.stack([lam1, lam2]), shape=(2,)),
                   observed=data)
    with mg.Model() as normal_studentt:
        w = mg.Dirichlet("w", a=np.array([1, 1]))
        mu = mg.Normal("mu", 0, 1)
        mg.Mixture("like", w=w, comp_dists=[mg.Normal.dist(mu=mu, sigma=1),
                                            mg.StudentT.dist(nu=4, mu=mu, sigma=1)], observed=normal_data)
    with mg.Model() as five_by_three:
        w = mg.Dirichlet("w", a=np.ones(3), shape=(5, 3))
        mu = mg.Normal("mu", mu=np.arange(3), sigma=1, shape=3)
        mg.Mixture("like", w=w, comp_dists=mg.Normal.dist(mu=mu, sigma=1, shape=(5, 3)),
                   observed=RNG.normal(size=(20, 5)))
    with mg.Model() as dirichlets:
        w = mg.Dirichlet("w", a=np.ones(2))
        mg.Mixture("like", w=w, comp_dists=mg.Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]], shape=(2, 3)),
                   observed=RNG.dirichlet([5, 5, 5], size=7))
    return {
        "poissons-list": (poissons_list, (20,)),
        "poissons-batched": (poissons_batched, (20,)),
        "normal-studentt": (normal_studentt, (20,)),
        "5x3": (five_by_three, (20, 5)),
        "dirichlets": (dirichlets, (7, 3)),
    }


EXAMPLES = _doc_examples()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_posterior_predictive_shapes_for_documentation_examples(name):
    model, observed_shape = EXAMPLES[name]
    idata = _fake_posterior(model)
    predictive = mg.sample_posterior_predictive(idata, model=model, random_seed=1)
    assert predictive.posterior_predictive["like"].shape == (2, 40) + observed_shape
    assert "observed_data" in predictive.groups()
    if name == "dirichlets":  # each draw is a whole point of the simplex
        np.testing.assert_allclose(predictive.posterior_predictive["like"].values.sum(-1), 1.0)


def test_predictive_draws_follow_posterior_values():
    """With the weight pinned on one component, predictions come from that component only."""
    model, _ = EXAMPLES["poissons-list"]
    import arviz as az

    posterior = az.from_dict(posterior={"w": np.tile([1.0, 0.0], (1, 50, 1)),
                                        "lam1": np.full((1, 50), 1e-9), "lam2": np.full((1, 50), 50.0)})
    predictive = mg.sample_posterior_predictive(posterior, model=model, random_seed=3)
    assert np.all(predictive.posterior_predictive["like"].values == 0)


@pytest.fixture(scope="module")
def regression():
    x = np.linspace(-1, 1, 30)
    y = 0.5 + 2.0 * x + RNG.normal(0, 0.3, size=30)
    with mg.Model(coords={"obs": np.arange(30)}) as model:
        x_data = mg.Data("x", x, dims="obs")
        y_data = mg.Data("y_data", y, dims="obs")
        intercept = mg.Normal("intercept", 0, 5)
        slope = mg.Normal("slope", 0, 5)
        sigma = mg.HalfNormal("sigma", 1)
        mg.Normal("y", intercept + slope * x_data, sigma, observed=y_data, dims="obs")
    idata = mg.sample(draws=150, tune=150, chains=2, random_seed=5, model=model, progressbar=False,
                      idata_kwargs={"log_likelihood": True})
    return model, idata


def test_regression_predictive_dims_and_new_data(regression):
    model, idata = regression
    predictive = mg.sample_posterior_predictive(idata, model=model, random_seed=1)
    assert predictive.posterior_predictive["y"].dims == ("chain", "draw", "obs")
    observed = model["y_data"].get_value()
    # the observed data share dim "obs" with x: both change in one call (the new y is a placeholder)
    mg.set_data({"x": np.array([0.0, 10.0]), "y_data": np.zeros(2)}, model=model, coords={"obs": ["a", "b"]})
    try:
        predictions = mg.sample_posterior_predictive(idata, model=model, predictions=True, random_seed=1)
    finally:
        mg.set_data({"x": np.linspace(-1, 1, 30), "y_data": observed}, model=model, coords={"obs": np.arange(30)})
    assert predictions.predictions["y"].shape == (2, 150, 2)
    assert list(predictions.predictions["y"].obs.values) == ["a", "b"]
    assert "predictions_constant_data" in predictions.groups()
    at_ten = predictions.predictions["y"].sel(obs="b").values.ravel()
    expected = (idata.posterior["intercept"] + 10 * idata.posterior["slope"]).values.ravel()
    assert abs(at_ten.mean() - expected.mean()) < 5 * at_ten.std() / np.sqrt(at_ten.size)


def test_extend_inferencedata(regression):
    model, idata = regression
    extended = mg.sample_posterior_predictive(idata.copy(), model=model, extend_inferencedata=True, random_seed=2)
    assert {"posterior", "posterior_predictive", "observed_data"} <= set(extended.groups())


def test_log_likelihood_sums_to_the_observed_log_density(regression):
    model, idata = regression
    fresh = mg.compute_log_likelihood(idata, model=model, extend_inferencedata=False)
    np.testing.assert_allclose(fresh.log_likelihood["y"].values, idata.log_likelihood["y"].values, rtol=1e-10)
    posterior = idata.posterior
    chain, draw = 1, 17
    mean = float(posterior["intercept"][chain, draw]) + float(posterior["slope"][chain, draw]) * np.linspace(-1, 1, 30)
    expected = stats.norm(mean, float(posterior["sigma"][chain, draw])).logpdf(idata.observed_data["y"].values)
    assert float(fresh.log_likelihood["y"][chain, draw].sum()) == pytest.approx(expected.sum(), rel=1e-10)


def test_conjugate_posterior_predictive_matches_analytic():
    """Normal mean with known sigma: predictive is N(m_n, s_n^2 + sigma^2)."""
    data = RNG.normal(1.0, 1.0, size=10)
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 2.0)
        mg.Normal("y", mu, 1.0, observed=data[:1], shape=(1,))
    precision = 1 / 4 + 1
    posterior_mean, posterior_sd = data[0] / precision, precision**-0.5
    import arviz as az

    posterior = az.from_dict(posterior={"mu": RNG.normal(posterior_mean, posterior_sd, size=(1, 3000))})
    predictive = mg.sample_posterior_predictive(posterior, model=model, random_seed=9)
    draws = predictive.posterior_predictive["y"].values.ravel()
    analytic = stats.norm(posterior_mean, np.sqrt(posterior_sd**2 + 1.0))
    assert stats.kstest(draws, analytic.cdf).pvalue > 0.01


def test_loo_on_a_mixture_is_finite():
    import arviz as az

    data = np.r_[RNG.normal(-3, 1, 40), RNG.normal(3, 1, 40)]
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(2))
        mu = mg.Normal("mu", 0, 5, shape=2, transform=mg.transforms.ordered, initval=np.array([-1.0, 1.0]))
        mg.Mixture("y", w=w, comp_dists=mg.Normal.dist(mu, 1.0), observed=data)
    idata = mg.sample(draws=150, tune=150, chains=2, random_seed=1, model=model, progressbar=False)
    idata = mg.compute_log_likelihood(idata, model=model)
    assert idata.log_likelihood["y"].shape == (2, 150, 80)
    loo = az.loo(idata)
    assert np.isfinite(loo.elpd_loo)
