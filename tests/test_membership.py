"""Component membership probabilities of an observed Mixture."""

import arviz as az
import numpy as np
import pytest
from scipy import special, stats

import mixgraph as mg

RNG = np.random.default_rng(7)


def _normal_mixture_model(data, batched=True):
    with mg.Model(coords={"cluster": ["low", "high"], "obs": np.arange(len(data))}) as model:
        w = mg.Dirichlet("w", a=np.ones(2), dims="cluster")
        mu = mg.Normal("mu", 0, 5, dims="cluster", transform=mg.transforms.ordered,
                       initval=np.array([-1.0, 1.0]))
        sigma = mg.HalfNormal("sigma", 2, dims="cluster")
        components = (mg.Normal.dist(mu, sigma) if batched
                      else [mg.Normal.dist(mu[0], sigma[0]), mg.Normal.dist(mu[1], sigma[1])])
        mg.Mixture("y", w=w, comp_dists=components, observed=data, dims="obs")
    return model


@pytest.mark.parametrize("batched", [True, False])
def test_probabilities_equal_a_scipy_hand_computation(batched):
    data = np.array([-2.0, 0.1, 3.0])
    model = _normal_mixture_model(data, batched)
    posterior = az.from_dict(posterior={
        "w": np.array([[[0.3, 0.7], [0.5, 0.5]]]),
        "mu": np.array([[[-1.0, 2.0], [-0.5, 0.5]]]),
        "sigma": np.array([[[1.0, 0.5], [2.0, 1.0]]]),
    })
    probabilities = mg.component_probabilities(posterior, "y", model=model, component_dim="cluster")
    assert probabilities.dims == ("chain", "draw", "obs", "cluster")
    assert list(probabilities.cluster.values) == ["low", "high"]
    for draw in range(2):
        w = posterior.posterior["w"].values[0, draw]
        mu = posterior.posterior["mu"].values[0, draw]
        sigma = posterior.posterior["sigma"].values[0, draw]
        log_terms = np.log(w) + stats.norm(mu, sigma).logpdf(data[:, None])
        expected = np.exp(log_terms - special.logsumexp(log_terms, axis=1, keepdims=True))
        np.testing.assert_allclose(probabilities.values[0, draw], expected, rtol=1e-10)


def test_well_separated_clusters_are_recovered():
    truth = RNG.random(120) < 0.4
    data = np.where(truth, RNG.normal(4.0, 0.7, 120), RNG.normal(-4.0, 0.7, 120))
    model = _normal_mixture_model(data)
    idata = mg.sample(draws=150, tune=200, chains=2, random_seed=3, model=model, progressbar=False)
    probabilities = mg.component_probabilities(idata, "y", model=model, component_dim="cluster")
    np.testing.assert_allclose(probabilities.sum("cluster"), 1.0, rtol=1e-12)
    mean_high = probabilities.sel(cluster="high").mean(("chain", "draw")).values
    agreement = np.mean((mean_high > 0.5) == truth)
    agreement = max(agreement, 1 - agreement)  # up to label order
    assert agreement >= 0.98
    assignments = mg.component_assignments(idata, "y", model=model, random_seed=1, component_dim="cluster")
    assert assignments.dims == ("chain", "draw", "obs")
    again = mg.component_assignments(idata, "y", model=model, random_seed=1, component_dim="cluster")
    np.testing.assert_array_equal(assignments.values, again.values)
    assert abs(assignments.values.mean() - mean_high.mean()) < 0.02


def test_multivariate_components_and_batched_weights():
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(2))
        mg.Mixture("y", w=w, comp_dists=mg.Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]], shape=(2, 3)),
                   observed=np.array([[0.01, 0.09, 0.9], [0.9, 0.09, 0.01]]))
    posterior = az.from_dict(posterior={"w": np.array([[[0.5, 0.5]]])})
    probabilities = mg.component_probabilities(posterior, "y", model=model)
    assert probabilities.shape == (1, 1, 2, 2)
    assert probabilities.values[0, 0, 0, 0] > 0.99 and probabilities.values[0, 0, 1, 1] > 0.99
    with mg.Model() as batched_weights:
        w = mg.Dirichlet("w", a=np.ones(3), shape=(5, 3))
        mu = mg.Normal("mu", mu=np.arange(3), sigma=1, shape=3)
        mg.Mixture("y", w=w, comp_dists=mg.Normal.dist(mu=mu, sigma=1, shape=(5, 3)), observed=np.zeros((4, 5)))
    posterior = az.from_dict(posterior={"w": np.full((1, 2, 5, 3), 1 / 3), "mu": np.tile([0.0, 1.0, 2.0], (1, 2, 1))})
    probabilities = mg.component_probabilities(posterior, "y", model=batched_weights)
    assert probabilities.shape == (1, 2, 4, 5, 3)
    expected = special.softmax(stats.norm([0.0, 1.0, 2.0], 1).logpdf(0.0))
    np.testing.assert_allclose(probabilities.values[0, 1, 2, 3], expected, rtol=1e-10)


def test_errors_name_the_variable():
    with mg.Model() as model:
        mg.Normal("z", 0, 1, observed=[0.0])
    posterior = az.from_dict(posterior={})
    with pytest.raises(TypeError, match="'z' is not a Mixture"):
        mg.component_probabilities(posterior, "z", model=model)
