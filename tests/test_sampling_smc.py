"""sample_smc(): analytic posteriors and marginal likelihoods, output contract, errors."""

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import special, stats

import mixgraph as mg
from mixgraph.compile import compile_numba_logp, flat_layout
from mixgraph.point import initial_point

NORMAL_DATA = np.random.default_rng(0).normal(1.0, 1.5, size=25)
PRIOR_MEAN, PRIOR_SIGMA, NOISE_SIGMA = 0.5, 3.0, 1.5
WEIGHTS = (0.3, 0.7)
SEPARATION = 5.0  # the two modes sit at -5 and +5, each of width 0.5


def _run(model, **kwargs):
    settings = {"draws": 2000, "chains": 4, "random_seed": 1, "progressbar": False, **kwargs}
    return mg.sample_smc(model=model, **settings)


@pytest.fixture(scope="module")
def normal_model():
    with mg.Model(coords={"obs": np.arange(NORMAL_DATA.size)}) as model:
        mu = mg.Normal("mu", PRIOR_MEAN, PRIOR_SIGMA)
        mg.Deterministic("shifted", mu + 1.0)
        mg.Normal("y", mu, NOISE_SIGMA, observed=NORMAL_DATA, dims="obs")
    return model


@pytest.fixture(scope="module")
def normal_idata(normal_model):
    return _run(normal_model, idata_kwargs={"log_likelihood": True})


def _normal_closed_form():
    n = NORMAL_DATA.size
    covariance = PRIOR_SIGMA ** 2 * np.ones((n, n)) + NOISE_SIGMA ** 2 * np.eye(n)
    log_ml = stats.multivariate_normal(np.full(n, PRIOR_MEAN), covariance).logpdf(NORMAL_DATA)
    precision = 1 / PRIOR_SIGMA ** 2 + n / NOISE_SIGMA ** 2
    mean = (PRIOR_MEAN / PRIOR_SIGMA ** 2 + NORMAL_DATA.sum() / NOISE_SIGMA ** 2) / precision
    return log_ml, mean, 1 / precision


def _assert_schedule(idata):
    stats_ = idata.sample_stats
    for chain in range(stats_.sizes["chain"]):
        stages = int(stats_["n_stages"][chain])
        beta = stats_["beta"].values[chain, :stages]
        assert beta[-1] == 1.0 and np.all(np.diff(beta) > 0) and beta[0] > 0
        assert np.all(np.isnan(stats_["beta"].values[chain, stages:]))
        assert np.all(stats_["n_steps"].values[chain, :stages] >= 1)


def test_conjugate_normal_marginal_likelihood_and_posterior(normal_idata):
    log_ml, mean, variance = _normal_closed_form()
    np.testing.assert_allclose(normal_idata.sample_stats["log_marginal_likelihood"].values, log_ml, atol=0.1)
    values = normal_idata.posterior["mu"].values
    # Resampled particles are correlated: take the effective size as half the particles.
    assert abs(values.mean() - mean) < 4 * np.sqrt(variance / (values.size / 2))
    np.testing.assert_allclose(values.var(), variance, rtol=0.08)
    _assert_schedule(normal_idata)


def test_output_contract(normal_idata):
    assert {"posterior", "sample_stats", "observed_data", "log_likelihood"} <= set(normal_idata.groups())
    posterior = normal_idata.posterior
    assert posterior.sizes["chain"] == 4 and posterior.sizes["draw"] == 2000
    np.testing.assert_allclose(posterior["shifted"], posterior["mu"] + 1.0)
    assert normal_idata.log_likelihood["y"].dims == ("chain", "draw", "obs")
    sample_stats = normal_idata.sample_stats
    assert sample_stats["log_marginal_likelihood"].dims == ("chain",)
    for name in ("beta", "acceptance_rate", "n_steps", "log_increment", "ess"):
        assert sample_stats[name].dims == ("chain", "stage")
    # The per-stage increments add up to the log marginal likelihood.
    np.testing.assert_allclose(np.nansum(sample_stats["log_increment"].values, axis=1),
                               sample_stats["log_marginal_likelihood"].values)
    # lp is the joint log-density (unconstrained, with Jacobians) of each particle.
    expected = stats.norm(PRIOR_MEAN, PRIOR_SIGMA).logpdf(posterior["mu"].values) + stats.norm.logpdf(
        NORMAL_DATA[:, None, None], posterior["mu"].values, NOISE_SIGMA).sum(axis=0)
    np.testing.assert_allclose(sample_stats["lp"].values, expected, rtol=1e-10)
    assert normal_idata.posterior.attrs["sampler"] == "smc"


def test_same_seed_same_result(normal_model, normal_idata):
    again = _run(normal_model, idata_kwargs={"log_likelihood": True}, cores=1)
    np.testing.assert_array_equal(again.posterior["mu"].values, normal_idata.posterior["mu"].values)
    other = _run(normal_model, random_seed=2)
    assert not np.array_equal(other.posterior["mu"].values, normal_idata.posterior["mu"].values)


def _two_mode_model():
    # p(y = 0 | x) = 0.3 N(0 | x + 5, 0.5) + 0.7 N(0 | x - 5, 0.5): modes at x = -5 and x = +5.
    # The prior is symmetric about 0, so the modes keep the masses 0.3 and 0.7.
    with mg.Model() as model:
        x = mg.Normal("x", 0.0, 10.0)
        mg.NormalMixture("y", w=np.array(WEIGHTS), mu=pt.stack([x + SEPARATION, x - SEPARATION]),
                         sigma=0.5, observed=0.0)
    return model


def _two_mode_log_ml():
    # Each mode: w_k * integral of N(0 | x -+ 5, 0.5) N(x | 0, 10) dx = w_k N(5 | 0, sqrt(100 + 0.25)).
    return np.log(stats.norm(0.0, np.sqrt(100.0 + 0.25)).pdf(SEPARATION))


@pytest.mark.parametrize("kernel", ["imh", "hmc"])
def test_two_separated_modes_keep_their_masses(kernel):
    idata = _run(_two_mode_model(), kernel=kernel)
    x = idata.posterior["x"].values
    np.testing.assert_allclose(np.mean(x > 0), WEIGHTS[1], atol=0.03)
    for chain in range(4):  # every run sees both modes
        assert abs(np.mean(x[chain] > 0) - WEIGHTS[1]) < 0.06
    np.testing.assert_allclose(np.abs(x).mean(), SEPARATION, atol=0.05)
    np.testing.assert_allclose(idata.sample_stats["log_marginal_likelihood"].values, _two_mode_log_ml(),
                               atol=0.1)
    _assert_schedule(idata)


def test_discrete_latent_is_summed_out_and_recovered():
    # The same two modes, written with a Bernoulli indicator that sample_smc marginalises.
    with mg.Model() as model:
        x = mg.Normal("x", 0.0, 10.0)
        upper = mg.Bernoulli("upper", WEIGHTS[1])
        mg.Normal("y", x + SEPARATION - 2 * SEPARATION * upper, 0.5, observed=0.0)
    idata = _run(model)
    x, upper = idata.posterior["x"].values, idata.posterior["upper"].values
    np.testing.assert_allclose(np.mean(upper), WEIGHTS[1], atol=0.03)
    assert np.all(upper == (x > 0))  # the indicator is exactly the mode at these separations
    np.testing.assert_allclose(idata.sample_stats["log_marginal_likelihood"].values, _two_mode_log_ml(),
                               atol=0.1)


BETA_A, BETA_B, TRIALS, SUCCESSES = 2.0, 3.0, 40, 29


def test_beta_binomial_marginal_likelihood_and_schedule():
    with mg.Model() as model:
        p = mg.Beta("p", BETA_A, BETA_B)
        mg.Binomial("k", TRIALS, p, observed=SUCCESSES)
    idata = _run(model)
    log_ml = (np.log(special.comb(TRIALS, SUCCESSES)) + special.betaln(BETA_A + SUCCESSES, BETA_B + TRIALS - SUCCESSES)
              - special.betaln(BETA_A, BETA_B))
    np.testing.assert_allclose(idata.sample_stats["log_marginal_likelihood"].values, log_ml, atol=0.1)
    posterior = stats.beta(BETA_A + SUCCESSES, BETA_B + TRIALS - SUCCESSES)
    values = idata.posterior["p"].values
    assert abs(values.mean() - posterior.mean()) < 4 * posterior.std() / np.sqrt(values.size / 2)
    np.testing.assert_allclose(values.std(), posterior.std(), rtol=0.08)
    _assert_schedule(idata)


def test_prior_and_likelihood_add_up_to_the_joint(normal_model):
    layout = flat_layout(initial_point(normal_model), [value.name for value in normal_model.value_vars])
    position = np.array([0.7])
    values = {}
    for terms in ("joint", "prior", "likelihood"):
        compiled = compile_numba_logp(normal_model, layout, terms=terms)
        grad = np.empty(1)
        values[terms] = (compiled.logp_fn(position, grad, compiled.float_data, compiled.int_data), grad[0])
    np.testing.assert_allclose(values["prior"][0], stats.norm(PRIOR_MEAN, PRIOR_SIGMA).logpdf(0.7))
    np.testing.assert_allclose(values["likelihood"][0], stats.norm(0.7, NOISE_SIGMA).logpdf(NORMAL_DATA).sum())
    np.testing.assert_allclose(values["prior"][0] + values["likelihood"][0], values["joint"][0])
    np.testing.assert_allclose(values["prior"][1] + values["likelihood"][1], values["joint"][1])


@pytest.mark.parametrize("arguments, error, message", [
    ({"kernel": "nuts"}, ValueError, "kernel must be one of"),
    ({"threshold": 1.0}, ValueError, "threshold"),
    ({"correlation_threshold": 0.0}, ValueError, "correlation_threshold"),
    ({"draws": 1}, ValueError, "draws"),
    ({"chains": 0}, ValueError, "chains"),
    ({"n_steps": 5}, TypeError, "n_steps"),
])
def test_bad_arguments_are_refused(normal_model, arguments, error, message):
    with pytest.raises(error, match=message):
        mg.sample_smc(model=normal_model, progressbar=False, **arguments)


def test_improper_prior_is_refused():
    with mg.Model() as model:
        mu = mg.Flat("mu")
        mg.Normal("y", mu, 1.0, observed=np.zeros(3))
    with pytest.raises(ValueError, match="prior"):
        mg.sample_smc(model=model, draws=50, chains=1, progressbar=False)


def test_a_prior_merged_with_a_latent_is_refused():
    # x's prior and y's likelihood both depend on the summed-out z: one marginal term holds both.
    with mg.Model() as model:
        z = mg.Bernoulli("z", 0.5)
        x = mg.Normal("x", 3.0 * z, 1.0)
        mg.Normal("y", x + z, 1.0, observed=np.zeros(3))
    with pytest.raises(ValueError, match=r"prior of \['x'\] is not a term of its own"):
        mg.sample_smc(model=model, draws=50, chains=1, progressbar=False)


def test_unknown_terms_are_refused(normal_model):
    layout = flat_layout(initial_point(normal_model), [value.name for value in normal_model.value_vars])
    with pytest.raises(ValueError, match="terms must be one of"):
        compile_numba_logp(normal_model, layout, terms="posterior")
