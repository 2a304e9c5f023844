"""Is the sampler right? End-to-end statistical checks through ``mg.sample``.

* posterior moments against analytic posteriors, within 4 Monte Carlo
  standard errors;
* simulation-based calibration (Talts et al. 2018, "Validating Bayesian
  inference algorithms with simulation-based calibration") on a small
  hierarchical model and a two-component mixture (``@pytest.mark.slow``);
* pathologies that the sampler must report (divergences, R-hat);
* edge cases: one dimension, one free variable with only observed data, a
  log-density that is NaN in part of the space.

``tests/test_sampling.py`` checks the output contract of ``sample()`` and
``tests/mcmc/test_mcmc_sampling.py`` the sampler core on hand-written
log-densities; this module goes through models written with ``mixgraph``.
"""

import warnings

import arviz as az
import numpy as np
import pytest
from scipy import stats

import mixgraph as mg

MCSE_TOLERANCE = 4.0


def sample(model, draws=1000, tune=1000, chains=2, random_seed=0, **kwargs):
    """``mg.sample`` without progress bar and without convergence warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mg.sample(draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                         model=model, progressbar=False, **kwargs)


def mcse_of_mean(draws):
    """Monte Carlo standard error of the mean of each element of ``(chain, draw, *shape)``."""
    return az.mcse(az.convert_to_dataset({"x": np.asarray(draws)}), method="mean")["x"].values


def mean_and_sd_errors(draws):
    """Sample mean and sd over (chain, draw), with their Monte Carlo standard errors.

    The standard error of the sd comes from the MCSE of the mean squared
    deviation by the delta method (arviz's ``method="sd"`` fails with numpy 2.4).
    """
    draws = np.asarray(draws, dtype=float)
    mean = draws.mean(axis=(0, 1))
    sd = draws.std(axis=(0, 1))
    squared_deviations = (draws - mean) ** 2
    return mean, sd, mcse_of_mean(draws), mcse_of_mean(squared_deviations) / (2.0 * sd)


def assert_moments(draws, true_mean, true_sd):
    """Mean and sd of ``draws`` within :data:`MCSE_TOLERANCE` Monte Carlo standard errors."""
    mean, sd, mcse_mean, mcse_sd = mean_and_sd_errors(draws)
    mean_z = np.abs(mean - true_mean) / mcse_mean
    sd_z = np.abs(sd - true_sd) / mcse_sd
    assert np.all(mean_z < MCSE_TOLERANCE), f"mean {mean} vs {true_mean}: {mean_z} standard errors"
    assert np.all(sd_z < MCSE_TOLERANCE), f"sd {sd} vs {true_sd}: {sd_z} standard errors"


def divergences(idata):
    return int(idata.sample_stats["diverging"].sum())


# --------------------------------------------------------------------------
# Posterior moments against analytic posteriors
# --------------------------------------------------------------------------

BADLY_SCALED = np.array([0.01, 1.0, 100.0])
MV_MEAN = np.array([1.0, -2.0])
MV_SD = np.array([1.0, 3.0])
MV_COVARIANCE = np.array([[1.0, 0.9 * 3.0], [0.9 * 3.0, 9.0]])
NORMAL_DATA = np.random.default_rng(1).normal(1.5, 2.0, size=12)
BINOMIAL_TRIALS, BINOMIAL_SUCCESSES = 30, 21
POISSON_COUNTS = np.random.default_rng(2).poisson(4.0, size=15)


def iid_gaussian():
    with mg.Model() as model:
        mg.Normal("x", 1.0, 2.0, shape=4)
    return model, "x", np.full(4, 1.0), np.full(4, 2.0)


def badly_scaled_gaussian():
    with mg.Model() as model:
        mg.Normal("x", 0.0, sigma=BADLY_SCALED)
    return model, "x", np.zeros(3), BADLY_SCALED


def correlated_gaussian():
    with mg.Model() as model:
        mg.MvNormal("x", mu=MV_MEAN, cov=MV_COVARIANCE)
    return model, "x", MV_MEAN, MV_SD


def normal_normal():
    """mu ~ N(m0, s0), y_i ~ N(mu, sigma), sigma known: the posterior is normal."""
    prior_mean, prior_sd, sigma = -1.0, 3.0, 2.0
    with mg.Model() as model:
        mu = mg.Normal("mu", prior_mean, prior_sd)
        mg.Normal("y", mu, sigma, observed=NORMAL_DATA)
    precision = 1.0 / prior_sd**2 + NORMAL_DATA.size / sigma**2
    mean = (prior_mean / prior_sd**2 + NORMAL_DATA.sum() / sigma**2) / precision
    return model, "mu", mean, 1.0 / np.sqrt(precision)


def beta_binomial():
    """p ~ Beta(a, b), k ~ Binomial(n, p): the posterior is Beta(a + k, b + n - k)."""
    a, b = 2.0, 3.0
    with mg.Model() as model:
        p = mg.Beta("p", a, b)
        mg.Binomial("k", n=BINOMIAL_TRIALS, p=p, observed=BINOMIAL_SUCCESSES)
    posterior = stats.beta(a + BINOMIAL_SUCCESSES, b + BINOMIAL_TRIALS - BINOMIAL_SUCCESSES)
    return model, "p", posterior.mean(), posterior.std()


def poisson_gamma():
    """lam ~ Gamma(alpha, rate beta), y_i ~ Poisson(lam): Gamma(alpha + sum y, beta + n)."""
    alpha, beta = 2.0, 0.5
    with mg.Model() as model:
        lam = mg.Gamma("lam", alpha=alpha, beta=beta)
        mg.Poisson("y", lam, observed=POISSON_COUNTS)
    posterior = stats.gamma(alpha + POISSON_COUNTS.sum(), scale=1.0 / (beta + POISSON_COUNTS.size))
    return model, "lam", posterior.mean(), posterior.std()


ANALYTIC = [iid_gaussian, badly_scaled_gaussian, correlated_gaussian, normal_normal,
            beta_binomial, poisson_gamma]


@pytest.mark.parametrize("build", ANALYTIC, ids=[build.__name__ for build in ANALYTIC])
def test_posterior_moments_match_analytic(build):
    model, name, true_mean, true_sd = build()
    idata = sample(model, random_seed=20261122)
    assert divergences(idata) == 0
    assert_moments(idata.posterior[name].values, true_mean, true_sd)


# --------------------------------------------------------------------------
# Pathologies the sampler must report
# --------------------------------------------------------------------------

SCHOOLS_EFFECTS = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


@pytest.fixture(scope="module")
def centred_eight_schools():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 5.0)
        tau = mg.HalfCauchy("tau", 5.0)
        theta = mg.Normal("theta", mu, tau, shape=8)
        mg.Normal("y", theta, SCHOOLS_SIGMA, observed=SCHOOLS_EFFECTS)
    return model


@pytest.fixture(scope="module")
def non_centred_eight_schools():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 5.0)
        tau = mg.HalfCauchy("tau", 5.0)
        offset = mg.Normal("offset", 0.0, 1.0, shape=8)
        theta = mg.Deterministic("theta", mu + tau * offset)
        mg.Normal("y", theta, SCHOOLS_SIGMA, observed=SCHOOLS_EFFECTS)
    return model


def test_funnel_bias_is_flagged_by_divergences():
    """Neal's funnel (centred): the sampler cannot enter the neck, and says so.

    ``test_sampling.py`` checks that divergences are reported and warned
    about; here the same run also shows the bias they signal: the lower tail
    of ``log_scale`` (prior and posterior N(0, 3)) is missing from the draws.
    """
    with mg.Model() as model:
        log_scale = mg.Normal("log_scale", 0.0, 3.0)
        mg.Normal("x", 0.0, mg.math.exp(log_scale / 2.0), shape=9)
    idata = sample(model, draws=1000, tune=1000, chains=4, random_seed=2)
    log_scale_draws = idata.posterior["log_scale"].values
    assert np.quantile(log_scale_draws, 0.02) > stats.norm(0.0, 3.0).ppf(0.02) + 1.0
    assert divergences(idata) >= 5


def test_centred_eight_schools_diverges_with_a_diagonal_metric(centred_eight_schools):
    # The jittered start and diagonal metric this seed was chosen with (seeds 1-8 give 4 to 30).
    idata = sample(centred_eight_schools, draws=1000, tune=1000, chains=2, random_seed=8, init="jitter",
                   metric="diag")
    assert divergences(idata) >= 5


def test_centred_eight_schools_diverges_in_every_run_with_default_settings(centred_eight_schools):
    """With the defaults (Pathfinder starts, dense metric for 10 parameters) every run still flags the funnel.

    The dense metric diverges less often than the diagonal one (seeds 1-8: 2
    to 14 divergences per run of 2 chains, against 8 to 22), so no single
    seed is asked for many: every run must diverge, and four runs together
    often.
    """
    counts = [divergences(sample(centred_eight_schools, draws=1000, tune=1000, chains=2, random_seed=seed))
              for seed in range(1, 5)]
    assert min(counts) >= 2 and sum(counts) >= 20, counts


def test_non_centred_eight_schools_does_not_diverge(non_centred_eight_schools):
    idata = sample(non_centred_eight_schools, draws=1000, tune=1000, chains=2, random_seed=8,
                   target_accept=0.9)
    assert divergences(idata) <= 0.01 * idata.posterior.sizes["draw"] * idata.posterior.sizes["chain"]
    # With no divergences the posterior must also be right: tau's posterior
    # mean is about 3.6 and mu's about 4.4 (Stan's long-run reference values).
    assert idata.posterior["mu"].mean() == pytest.approx(4.4, abs=0.6)
    assert idata.posterior["tau"].mean() == pytest.approx(3.6, abs=0.6)


def test_bimodal_target_gives_high_rhat():
    """Two modes at -10 and +10, sd 0.5: chains started in different modes never meet."""
    with mg.Model() as model:
        x = mg.Flat("x")
        components = -0.5 * ((x - np.array([-10.0, 10.0])) / 0.5) ** 2
        mg.Potential("two_modes", mg.math.logsumexp(components))
    runs = [sample(model, draws=500, tune=500, chains=2, random_seed=seed, initvals={"x": start})
            for seed, start in [(1, -10.0), (2, 10.0)]]
    idata = az.concat(*runs, dim="chain")
    rhat = float(az.rhat(idata)["x"])
    assert rhat > 1.5
    # Each chain stays in its own mode.
    chain_means = idata.posterior["x"].mean("draw").values
    np.testing.assert_allclose(chain_means, [-10.0, -10.0, 10.0, 10.0], atol=0.3)


# --------------------------------------------------------------------------
# Edge cases
# --------------------------------------------------------------------------


def test_one_dimensional_model():
    with mg.Model() as model:
        mg.StudentT("x", nu=10.0, mu=2.0, sigma=3.0)
    idata = sample(model, random_seed=3)
    assert idata.posterior["x"].shape == (2, 1000)
    assert divergences(idata) == 0
    assert_moments(idata.posterior["x"].values, 2.0, 3.0 * np.sqrt(10.0 / 8.0))


def test_one_free_variable_and_only_observed_data():
    """A flat prior: the posterior N(mean(y), sigma / sqrt(n)) comes from the data alone."""
    data = np.random.default_rng(4).normal(-3.0, 2.0, size=20)
    with mg.Model() as model:
        mu = mg.Flat("mu")
        mg.Normal("y", mu, 2.0, observed=data)
    idata = sample(model, random_seed=4)
    assert set(idata.posterior.data_vars) == {"mu"}
    assert divergences(idata) == 0
    assert_moments(idata.posterior["mu"].values, data.mean(), 2.0 / np.sqrt(data.size))


def test_nan_region_gives_divergences_not_a_crash():
    """A log-density that is NaN for x > 3, where N(2.5, 1) has mass: divergences, no crash.

    The draws are then those of N(2.5, 1) truncated to x <= 3.
    """
    with mg.Model() as model:
        x = mg.Normal("x", 2.5, 1.0)
        mg.Potential("nan_above_3", mg.math.switch(x > 3.0, np.nan, 0.0))
    idata = sample(model, random_seed=6)
    draws = idata.posterior["x"].values
    assert divergences(idata) > 0
    assert np.all(draws <= 3.0)
    assert np.all(np.isfinite(idata.sample_stats["lp"].values))
    truncated = stats.truncnorm(-np.inf, (3.0 - 2.5) / 1.0, loc=2.5, scale=1.0)
    assert_moments(draws, truncated.mean(), truncated.std())


# --------------------------------------------------------------------------
# Simulation-based calibration (Talts et al. 2018)
# --------------------------------------------------------------------------
#
# One mg.sample call costs about a second of graph rewriting and
# InferenceData building even when the log-density is cached, so instead of
# one call per replication each call samples SBC_COPIES independent copies of
# the model side by side (batch axis 0). The copies share no parameter, so
# the joint posterior is the product of the copies' posteriors and each
# copy's ranks are those of an SBC replication. Data live in mg.Data
# containers swapped with mg.set_data: the graph is built once.

SBC_CALLS = 10
SBC_COPIES = 10  # SBC_CALLS * SBC_COPIES = 100 replications
SBC_THIN = 20
SBC_KEPT = 19  # draws kept per replication after thinning: ranks 0..19
SBC_BINS = 5  # 20 possible ranks, 4 per bin, 20 replications per bin expected
SBC_ALPHA = 0.01  # family-wise, Bonferroni over the parameters checked


def sbc_ranks(model, simulate, names, seed):
    """Ranks of the true values among thinned posterior draws, one row per replication.

    ``simulate(rng)`` returns ``(true_values, data)``: true values as a dict
    of arrays of shape ``(SBC_COPIES,)`` (the checked parameters) and data
    for ``mg.set_data``.
    """
    rng = np.random.default_rng(seed)
    ranks = {name: [] for name in names}
    for call in range(SBC_CALLS):
        true_values, data = simulate(rng)
        mg.set_data(data, model=model)
        idata = sample(model, draws=SBC_THIN * SBC_KEPT, tune=300, chains=1,
                       random_seed=[seed, call], compute_convergence_checks=False)
        for name in names:
            draws = idata.posterior[name].values[0, ::SBC_THIN]  # (SBC_KEPT, SBC_COPIES)
            ranks[name].append((draws < true_values[name]).sum(axis=0))
    return {name: np.concatenate(values) for name, values in ranks.items()}


def uniformity_p_values(ranks):
    """Chi-square p-value of each parameter's binned ranks against the discrete uniform."""
    p_values = {}
    for name, values in ranks.items():
        counts = np.bincount(values * SBC_BINS // (SBC_KEPT + 1), minlength=SBC_BINS)
        p_values[name] = stats.chisquare(counts).pvalue
    return p_values


def assert_calibrated(ranks):
    assert all(values.size == SBC_CALLS * SBC_COPIES for values in ranks.values())
    p_values = uniformity_p_values(ranks)
    assert min(p_values.values()) > SBC_ALPHA / len(p_values), p_values


HIERARCHY_SIGMA = np.array([1.0, 2.0, 0.5, 1.5])  # known observation sd of each group


@pytest.fixture(scope="module")
def hierarchical_sbc_model():
    """SBC_COPIES copies of a non-centred normal hierarchy with four groups."""
    groups = HIERARCHY_SIGMA.size
    with mg.Model() as model:
        y = mg.Data("y", np.zeros((SBC_COPIES, groups)))
        mu = mg.Normal("mu", 0.0, 1.0, shape=SBC_COPIES)
        tau = mg.HalfNormal("tau", 1.0, shape=SBC_COPIES)
        offset = mg.Normal("offset", 0.0, 1.0, shape=(SBC_COPIES, groups))
        theta = mg.Deterministic("theta", mu[:, None] + tau[:, None] * offset)
        mg.Normal("obs", theta, HIERARCHY_SIGMA, observed=y)
        mg.Deterministic("theta_0", theta[:, 0])
    return model


def simulate_hierarchy(rng):
    mu = rng.normal(0.0, 1.0, SBC_COPIES)
    tau = np.abs(rng.normal(0.0, 1.0, SBC_COPIES))
    theta = mu[:, None] + tau[:, None] * rng.normal(size=(SBC_COPIES, HIERARCHY_SIGMA.size))
    y = rng.normal(theta, HIERARCHY_SIGMA)
    return {"mu": mu, "tau": tau, "theta_0": theta[:, 0]}, {"y": y}


@pytest.mark.slow
def test_sbc_hierarchical(hierarchical_sbc_model):
    ranks = sbc_ranks(hierarchical_sbc_model, simulate_hierarchy, ["mu", "tau", "theta_0"], seed=31)
    assert_calibrated(ranks)


MIXTURE_OBSERVATIONS = 30
MIXTURE_PRIOR_SD = 3.0


@pytest.fixture(scope="module")
def mixture_sbc_model():
    """SBC_COPIES copies of w N(mu_0, 1) + (1 - w) N(mu_1, 1), mu_0 < mu_1."""
    with mg.Model() as model:
        y = mg.Data("y", np.zeros((SBC_COPIES, MIXTURE_OBSERVATIONS)))
        w = mg.Beta("w", 2.0, 2.0, shape=SBC_COPIES)
        # Ordered: the prior is that of two sorted iid N(0, 3) draws.
        mu = mg.Normal("mu", 0.0, MIXTURE_PRIOR_SD, shape=(SBC_COPIES, 2),
                       transform=mg.transforms.ordered,
                       initval=np.tile([-1.0, 1.0], (SBC_COPIES, 1)))
        weights = mg.math.stack([w, 1.0 - w], axis=-1)[:, None, :]
        if hasattr(mg, "Mixture"):
            components = mg.Normal.dist(mu=mu[:, None, :], sigma=1.0,
                                        shape=(SBC_COPIES, MIXTURE_OBSERVATIONS, 2))
            mg.Mixture("obs", w=weights, comp_dists=components, observed=y)
        else:
            component_logp = -0.5 * (y[:, :, None] - mu[:, None, :]) ** 2 - 0.5 * np.log(2 * np.pi)
            mg.Potential("obs", mg.math.logsumexp(mg.math.log(weights) + component_logp, axis=-1))
        mg.Deterministic("mu_0", mu[:, 0])
        mg.Deterministic("mu_1", mu[:, 1])
    return model


def simulate_mixture(rng):
    w = rng.beta(2.0, 2.0, SBC_COPIES)
    mu = np.sort(rng.normal(0.0, MIXTURE_PRIOR_SD, (SBC_COPIES, 2)), axis=1)
    first = rng.random((SBC_COPIES, MIXTURE_OBSERVATIONS)) < w[:, None]
    means = np.where(first, mu[:, :1], mu[:, 1:])
    y = rng.normal(means, 1.0)
    return {"w": w, "mu_0": mu[:, 0], "mu_1": mu[:, 1]}, {"y": y}


@pytest.mark.slow
def test_sbc_two_component_mixture(mixture_sbc_model):
    ranks = sbc_ranks(mixture_sbc_model, simulate_mixture, ["w", "mu_0", "mu_1"], seed=32)
    assert_calibrated(ranks)
