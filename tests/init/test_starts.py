"""sample(init=...): Pathfinder starts against a conjugate posterior, seeds, fallback, the metric hook."""

import numpy as np
import pytest
from numba import njit

import mixgraph as mg
from mixgraph.init.starts import check_init
from mixgraph.mcmc import run_chains

NO_INTS = np.zeros(0, dtype=np.int64)

# Conjugate Normal mean, known sigma: posterior N(posterior_mean, posterior_sd^2).
DATA = np.random.default_rng(8).normal(2.0, 1.5, size=30)
PRIOR_MEAN, PRIOR_SD, SIGMA = 0.0, 3.0, 1.5
POSTERIOR_PRECISION = 1 / PRIOR_SD**2 + DATA.size / SIGMA**2
POSTERIOR_SD = POSTERIOR_PRECISION**-0.5
POSTERIOR_MEAN = (PRIOR_MEAN / PRIOR_SD**2 + DATA.sum() / SIGMA**2) / POSTERIOR_PRECISION


@pytest.fixture(scope="module")
def conjugate_model():
    with mg.Model() as model:
        mu = mg.Normal("mu", PRIOR_MEAN, PRIOR_SD)
        mg.Normal("y", mu, SIGMA, observed=DATA)
    return model


def _draws(model, **kwargs):
    return mg.sample(draws=400, tune=300, chains=2, progressbar=False, model=model,
                     compute_convergence_checks=False, **kwargs)


@pytest.mark.parametrize("init", ["auto", "jitter"])
def test_both_inits_give_the_conjugate_posterior(conjugate_model, init):
    import arviz as az

    idata = _draws(conjugate_model, init=init, random_seed=4)
    expected_note = "pathfinder" if init == "auto" else "jitter"
    assert idata.posterior.attrs["init"] == expected_note
    draws = idata.posterior["mu"]
    mcse = float(az.mcse(idata, var_names=["mu"])["mu"])
    assert abs(float(draws.mean()) - POSTERIOR_MEAN) < 4 * mcse
    assert abs(float(draws.std()) - POSTERIOR_SD) < 0.1 * POSTERIOR_SD


def test_auto_init_is_reproducible_and_starts_near_the_posterior(conjugate_model):
    first = _draws(conjugate_model, random_seed=9, discard_tuned_samples=False)
    again = _draws(conjugate_model, random_seed=9, discard_tuned_samples=False)
    np.testing.assert_array_equal(first.posterior["mu"].values, again.posterior["mu"].values)
    # The first warm-up draw is one NUTS step from a Pathfinder draw: within a few posterior sds.
    start = first.warmup_posterior["mu"].values[:, 0]
    assert np.all(np.abs(start - POSTERIOR_MEAN) < 6 * POSTERIOR_SD)
    assert 0 <= first.posterior.attrs["init_time"] < 60


def test_the_log_density_is_compiled_before_the_initialisation_starts(monkeypatch):
    """attrs["init_time"] is the initialisation's own: a new model's Numba compilation comes before it."""
    import mixgraph.sampling as sampling

    seen = []
    original = sampling.chain_starts

    def recording(model, compiled, *arguments, **keywords):
        seen.append(len(compiled.logp_fn.signatures))
        return original(model, compiled, *arguments, **keywords)

    monkeypatch.setattr(sampling, "chain_starts", recording)
    with mg.Model() as model:  # a prior scale used by no other test: a graph new to this process
        mu = mg.Normal("mu", 0.0, 3.0173)
        mg.Normal("y", mu, SIGMA, observed=DATA)
    mg.sample(draws=20, tune=20, chains=2, progressbar=False, model=model, random_seed=2,
              compute_convergence_checks=False)
    assert seen == [1]


def test_initvals_mean_jitter_around_them(conjugate_model):
    idata = _draws(conjugate_model, random_seed=1, initvals={"mu": 1.0})
    assert idata.posterior.attrs["init"] == "jitter (initvals given)"


def test_improper_prior_falls_back_to_jitter_without_error():
    with mg.Model() as model:
        mu = mg.Flat("mu")
        mg.Normal("y", mu, SIGMA, observed=DATA)
    idata = _draws(model, random_seed=2)
    assert idata.posterior.attrs["init"].startswith("jitter (Pathfinder not used: PriorDrawError")
    assert abs(float(idata.posterior["mu"].mean()) - DATA.mean()) < 0.3


@pytest.mark.parametrize("init, hint", [("adapt_diag", "init='jitter'"), ("pathfinder", "auto"), (None, "jitter")])
def test_unknown_init_is_a_clear_error(init, hint):
    with pytest.raises(ValueError, match="init must be one of") as error:
        check_init(init)
    assert hint in str(error.value)


@njit(cache=True)
def _scaled_gaussian_logp(position, grad_out, float_data, int_data):
    grad_out[:] = -position / float_data**2
    return -0.5 * np.sum((position / float_data) ** 2)


def test_run_chains_uses_the_given_inverse_mass_matrix():
    scales = np.array([1.0, 10.0])
    start = np.array([[0.3, -2.0], [0.1, 4.0]])

    def run(matrix):
        return run_chains(_scaled_gaussian_logp, scales, NO_INTS, start, 50, 0, seed=3, adaptation="stan",
                          initial_inverse_mass_matrix=matrix).positions

    # Stan's adaptation starts at the identity: giving the identity changes nothing ...
    np.testing.assert_array_equal(run(None), run(np.ones((2, 2))))
    # ... and the target's own variances change the draws.
    assert not np.array_equal(run(None), run(np.tile(scales**2, (2, 1))))
    with pytest.raises(ValueError, match=r"shape \(chains, dim\) = \(2, 2\)"):
        run(np.ones((1, 2)))
    with pytest.raises(ValueError, match="positive"):
        run(np.array([[1.0, 0.0], [1.0, 1.0]]))
