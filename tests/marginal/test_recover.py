"""Sampling models with discrete latents: the posterior, the recovered latents, and what uses them."""

import arviz as az
import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import special

import mixgraph as mg

RNG = np.random.default_rng(3)
DATA = np.r_[RNG.normal(-2.0, 1.0, 25), RNG.normal(2.0, 1.0, 15)]
SAMPLING = dict(draws=500, tune=500, chains=2, progressbar=False, compute_convergence_checks=False)


def _latent_model():
    with mg.Model(coords={"obs": np.arange(len(DATA)), "cluster": ["low", "high"]}) as model:
        mu = mg.Normal("mu", 0, 10, dims="cluster", transform=mg.transforms.ordered, initval=np.array([-1.0, 1.0]))
        sigma = mg.HalfNormal("sigma", 2)
        z = mg.Categorical("z", p=[0.6, 0.4], dims="obs")
        mg.Normal("y", mu=mu[z], sigma=sigma, observed=DATA, dims="obs")
        mg.Deterministic("centre", mu[z], dims="obs")
    return model


def _mixture_model():
    with mg.Model(coords={"obs": np.arange(len(DATA)), "cluster": ["low", "high"]}) as model:
        mu = mg.Normal("mu", 0, 10, dims="cluster", transform=mg.transforms.ordered, initval=np.array([-1.0, 1.0]))
        sigma = mg.HalfNormal("sigma", 2)
        mg.NormalMixture("y", w=[0.6, 0.4], mu=mu, sigma=sigma, observed=DATA, dims="obs")
    return model


@pytest.fixture(scope="module")
def fits():
    latent, mixture = _latent_model(), _mixture_model()
    latent_idata = mg.sample(model=latent, random_seed=5, idata_kwargs={"marginal_logp": True, "log_likelihood": True},
                             **SAMPLING)
    mixture_idata = mg.sample(model=mixture, random_seed=6, **SAMPLING)
    return latent, latent_idata, mixture, mixture_idata


def test_recovered_latent_is_integer_with_its_dims_and_reproducible(fits):
    latent, idata, _, _ = fits
    z = idata.posterior["z"]
    assert z.dims == ("chain", "draw", "obs")
    assert z.dtype.kind == "i"
    assert set(np.unique(z.values)) <= {0, 1}
    np.testing.assert_array_equal(idata.posterior["centre"].values,
                                  np.take_along_axis(idata.posterior["mu"].values, z.values, axis=-1))
    again = mg.sample(model=latent, random_seed=5, **SAMPLING)
    np.testing.assert_array_equal(again.posterior["z"].values, z.values)
    other = mg.sample(model=latent, random_seed=7, **SAMPLING)
    assert not np.array_equal(other.posterior["z"].values, z.values)


def test_marginal_logp_holds_the_conditional_probabilities(fits):
    latent, idata, _, _ = fits
    lp = idata.posterior["lp_z"].values
    assert lp.shape == (2, 500, len(DATA), 2)
    assert idata.posterior["lp_z"].dims == ("chain", "draw", "obs", "lp_z_dim")  # z's dims, then its values
    np.testing.assert_allclose(np.exp(lp).sum(axis=-1), 1.0, rtol=1e-12)
    probabilities = mg.component_probabilities(idata, "z", model=latent, component_dim="cluster")
    assert probabilities.dims == ("chain", "draw", "obs", "cluster")
    np.testing.assert_allclose(probabilities.values, np.exp(lp), rtol=1e-10, atol=1e-300)
    by_observed = mg.component_probabilities(idata, "y", model=latent, component_dim="cluster")
    np.testing.assert_allclose(by_observed.values, probabilities.values)


def test_log_likelihood_is_the_mixture_log_density(fits):
    latent, idata, mixture, _ = fits
    posterior_only = az.InferenceData(posterior=idata.posterior[["mu", "sigma"]])
    from_latent = mg.compute_log_likelihood(idata, model=latent, extend_inferencedata=False)
    from_mixture = mg.compute_log_likelihood(posterior_only, model=mixture, extend_inferencedata=False)
    np.testing.assert_allclose(from_latent.log_likelihood["y"].values, from_mixture.log_likelihood["y"].values,
                               rtol=1e-12)
    np.testing.assert_allclose(idata.log_likelihood["y"].values, from_mixture.log_likelihood["y"].values, rtol=1e-10)


def test_posterior_predictive_follows_the_recovered_clusters(fits):
    latent, idata, _, _ = fits
    predictive = mg.sample_posterior_predictive(idata, model=latent, random_seed=1, progressbar=False)
    draws = predictive.posterior_predictive["y"]
    assert draws.shape == (2, 500, len(DATA))
    predicted_mean = draws.mean(("chain", "draw")).values
    assert np.corrcoef(predicted_mean, DATA)[0, 1] > 0.9


@pytest.mark.slow
def test_posterior_and_memberships_equal_the_mixture_form(fits):
    latent, idata, mixture, mixture_idata = fits
    for name in ("mu", "sigma"):
        difference = idata.posterior[name].mean(("chain", "draw")) - mixture_idata.posterior[name].mean(("chain", "draw"))
        error = np.sqrt(az.mcse(idata, var_names=[name])[name] ** 2 + az.mcse(mixture_idata, var_names=[name])[name] ** 2)
        assert np.all(np.abs(difference.values) < 4 * error.values), (name, difference.values, error.values)
    # Memberships: exp(lp_z) is the mixture form's component probability at the same draws, and z is
    # drawn from it independently at each draw, so its frequency differs from their mean by binomial
    # error alone. (Comparing with the other fit's mean probability instead is dominated by rare draws:
    # P(low | y = 2.9) has mean 5e-4 and reaches 0.25 at a large sigma.)
    conditional = np.exp(idata.posterior["lp_z"].values[..., 1])
    at_same_draws = mg.component_probabilities(idata, "y", model=mixture).isel(component=1).values
    np.testing.assert_allclose(at_same_draws, conditional, rtol=1e-10, atol=1e-12)
    draws = conditional.shape[0] * conditional.shape[1]
    frequency = idata.posterior["z"].mean(("chain", "draw")).values
    expected = conditional.mean(axis=(0, 1))
    binomial_sd = np.sqrt((conditional * (1 - conditional)).sum(axis=(0, 1))) / draws
    assert np.all(np.abs(frequency - expected) <= 4 * binomial_sd + 1 / draws), np.abs(frequency - expected)


def _switch_counts():
    rng = np.random.default_rng(8)
    return np.r_[rng.poisson(4.0, 12), rng.poisson(1.0, 18)]


def _exact_switch_posterior(counts, shape=2.0, rate=1.0):
    """p(switch | counts) with Gamma(shape, rate) rates integrated out (Poisson-Gamma conjugacy)."""

    def log_evidence(segment):
        total, length = segment.sum(), segment.size
        return shape * np.log(rate) - special.gammaln(shape) + special.gammaln(shape + total) - (shape + total) * np.log(rate + length)

    switches = np.arange(1, counts.size)
    log_post = np.array([log_evidence(counts[:s]) + log_evidence(counts[s:]) for s in switches])
    return switches, np.exp(log_post - special.logsumexp(log_post))


@pytest.mark.slow
def test_switch_point_matches_its_exact_posterior():
    counts = _switch_counts()
    with mg.Model() as model:
        early = mg.Gamma("early", 2.0, 1.0)
        late = mg.Gamma("late", 2.0, 1.0)
        switch = mg.DiscreteUniform("switch", 1, counts.size - 1)
        mg.Poisson("y", mu=pt.switch(pt.lt(np.arange(counts.size), switch), early, late), observed=counts)
    idata = mg.sample(model=model, random_seed=2, draws=1000, tune=500, chains=2, progressbar=False,
                      compute_convergence_checks=False, idata_kwargs={"marginal_logp": True})
    switches, exact = _exact_switch_posterior(counts)
    draws = idata.posterior["switch"].values.ravel()
    frequency = np.array([(draws == s).mean() for s in switches])
    rao_blackwell = np.exp(idata.posterior["lp_switch"].values).mean(axis=(0, 1))
    # lp_switch covers lower..upper = 1..29, the same values as ``switches``.
    assert rao_blackwell.shape == exact.shape
    np.testing.assert_allclose(rao_blackwell, exact, atol=0.03)
    spread = np.sqrt(exact * (1 - exact) / (draws.size / 2))
    assert np.all(np.abs(frequency - exact) < 4 * spread + 0.005), np.max(np.abs(frequency - exact))


def _shared_dependent_model():
    data = np.array([1.5, -0.5, 3.0])
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 3, shape=2)
        nu = mg.Normal("nu", 0, 3, shape=3)
        mg.Bernoulli("first", p=0.3, shape=3)
        mg.Categorical("second", p=[0.2, 0.3, 0.5], shape=3)
        mg.Normal("y", mu=mu[model["first"]] + nu[model["second"]], sigma=1.0, observed=data)
    return model, data


def test_latents_sharing_a_dependent_are_drawn_from_their_joint_conditional():
    from scipy import stats

    from mixgraph.compile import flat_layout
    from mixgraph.marginal import recover_latents

    model, data = _shared_dependent_model()
    marginal = mg.marginalize(model)
    point = marginal.initial_point()
    layout = flat_layout(point, [value.name for value in marginal.value_vars])
    mu, nu = np.array([-1.0, 2.0]), np.array([0.0, 1.0, -1.0])
    position = np.concatenate([mu if name == "mu" else nu for name in layout.names])
    positions = np.broadcast_to(position, (2, 3000, layout.size)).copy()
    recovered = recover_latents(marginal, layout, positions, seed=4, include_logps=True)
    # Hand: p(first = a, second = b | mu, nu, y) per element, over the 2 x 3 pairs.
    joint = np.stack([[np.log([0.7, 0.3][a]) + np.log([0.2, 0.3, 0.5][b]) + stats.norm.logpdf(data, mu[a] + nu[b], 1.0)
                       for b in range(3)] for a in range(2)])  # (2, 3, elements)
    joint = np.exp(joint - special.logsumexp(joint, axis=(0, 1)))
    expected = {"first": joint.sum(axis=1).T, "second": joint.sum(axis=0).T}  # (elements, K)
    for name, probabilities in expected.items():
        np.testing.assert_allclose(np.exp(recovered[f"lp_{name}"][0, 0]), probabilities, rtol=1e-10)
        draws = recovered[name].reshape(-1, 3)
        assert draws.dtype.kind == "i"
        frequency = np.stack([(draws == value).mean(axis=0) for value in range(probabilities.shape[1])], -1)
        spread = np.sqrt(probabilities * (1 - probabilities) / draws.shape[0])
        assert np.all(np.abs(frequency - probabilities) < 4 * spread + 1e-9), (name, frequency, probabilities)
    pairs = recovered["first"].reshape(-1, 3) * 3 + recovered["second"].reshape(-1, 3)  # drawn jointly
    pair_frequency = np.stack([(pairs == value).mean(axis=0) for value in range(6)])
    np.testing.assert_allclose(pair_frequency, joint.reshape(6, 3), atol=4 * np.sqrt(0.25 / pairs.shape[0]))


def test_sampling_a_model_whose_latents_share_a_dependent():
    model, data = _shared_dependent_model()
    idata = mg.sample(model=model, draws=100, tune=100, chains=1, random_seed=3, progressbar=False,
                      compute_convergence_checks=False, idata_kwargs={"log_likelihood": True})
    assert idata.posterior["first"].shape == (1, 100, 3) and idata.posterior["second"].shape == (1, 100, 3)
    assert set(np.unique(idata.posterior["second"].values)) <= {0, 1, 2}
    assert idata.log_likelihood["y"].shape == (1, 100, 3)
    predictive = mg.sample_posterior_predictive(idata, model=model, random_seed=1, progressbar=False)
    assert predictive.posterior_predictive["y"].shape == (1, 100, 3)
    second = mg.component_probabilities(idata, "second", model=model)
    assert second.shape == (1, 100, 3, 3)
    np.testing.assert_allclose(second.sum("component").values, 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="'y' depends on the summed-out latents \\['first', 'second'\\]"):
        mg.component_probabilities(idata, "y", model=model)


def test_initvals_for_a_summed_out_latent_is_an_error_naming_it():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 10, shape=2)
        z = mg.Categorical("z", p=[0.5, 0.5], shape=len(DATA))
        mg.Normal("y", mu=mu[z], sigma=1.0, observed=DATA)
    with pytest.raises(ValueError, match="'z' is a discrete latent that is summed out.*drawn after sampling.*remove"):
        mg.sample(model=model, draws=10, tune=10, chains=1, progressbar=False,
                  initvals={"z": np.zeros(len(DATA), dtype=int)})


def test_initval_of_a_summed_out_latent_is_an_error_naming_it():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 10, shape=2)
        z = mg.Bernoulli("z", p=0.5, shape=3, initval=np.zeros(3, dtype=int))
        mg.Normal("y", mu=mu[z], sigma=1.0, observed=np.zeros(3))
    with pytest.raises(ValueError, match="initval: 'z' is a discrete latent that is summed out.*remove initval="):
        mg.sample(model=model, draws=10, tune=10, chains=1, progressbar=False)
