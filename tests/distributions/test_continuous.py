"""Continuous univariate distributions against scipy.stats: one row per parameterisation."""

import numpy as np
import pytest
from scipy import special, stats

from checks import Case, applicable, case_ids, compile_function, seeded_draws
from mixgraph.distributions.continuous import Exponential, HalfNormal, Laplace, Logistic, Normal
from mixgraph.distributions.flat import Flat, HalfFlat
from mixgraph.distributions.continuous_bounded import Beta, TruncatedNormal, Uniform
from mixgraph.distributions.heavy_tailed import Cauchy, HalfCauchy, HalfStudentT, StudentT
from mixgraph.distributions.positive import Gamma, InverseGamma, LogNormal, Weibull
from mixgraph.distributions.triangular import Triangular
from mixgraph.logprob import logcdf, logp
from mixgraph.registry import DEFAULT_TRANSFORM, SUPPORT_POINT


class HalfStudentTReference(stats.rv_continuous):
    """``|T|`` for Student's t ``T``, built from scipy's t (scipy has no half-t)."""

    def _pdf(self, x, nu):
        return 2.0 * stats.t.pdf(x, nu)

    def _logpdf(self, x, nu):
        return np.log(2.0) + stats.t.logpdf(x, nu)

    def _cdf(self, x, nu):
        return 2.0 * stats.t.cdf(x, nu) - 1.0

    def _rvs(self, nu, size=None, random_state=None):
        return np.abs(stats.t.rvs(nu, size=size, random_state=random_state))


half_student_t_reference = HalfStudentTReference(a=0.0, name="half_student_t")

REAL_LINE = np.array([-3.1, -0.7, 0.4, 2.3, 5.5])
POSITIVE = np.array([0.05, 0.6, 1.3, 2.9, 7.0])
UNIT = np.array([0.03, 0.2, 0.55, 0.8, 0.97])


def gamma_mu_sigma(mu, sigma):
    return stats.gamma(mu**2 / sigma**2, scale=sigma**2 / mu)


def inverse_gamma_mu_sigma(mu, sigma):
    alpha = mu**2 / sigma**2 + 2.0
    return stats.invgamma(alpha, scale=mu * (alpha - 1.0))


def beta_mu_sigma(mu, sigma):
    kappa = mu * (1 - mu) / sigma**2 - 1
    return stats.beta(mu * kappa, (1 - mu) * kappa)


def triangular(lower, c, upper):
    return stats.triang((c - lower) / (upper - lower), loc=lower, scale=upper - lower)


def truncated_normal(mu=0.0, sigma=1.0, lower=None, upper=None):
    lower = -np.inf if lower is None else lower
    upper = np.inf if upper is None else upper
    return stats.truncnorm((lower - mu) / sigma, (upper - mu) / sigma, loc=mu, scale=sigma)


CASES = [
    Case("Normal", Normal, [dict(mu=0.3, sigma=1.7), dict(mu=-2.0, sigma=0.2)],
         lambda mu, sigma: stats.norm(mu, sigma), REAL_LINE, edges=np.array([-40.0, 30.0]),
         invalid=[(dict(mu=0.0, sigma=-1.0), "sigma")], invalid_symbolic=[dict(mu=0.0, sigma=-1.0)]),
    Case("Normal-tau", Normal, [dict(mu=0.3, tau=0.5), dict(mu=1.0, tau=9.0)],
         lambda mu, tau: stats.norm(mu, tau**-0.5), REAL_LINE,
         invalid=[(dict(mu=0.0, tau=0.0), "tau")], invalid_symbolic=[dict(mu=0.0, tau=-2.0)]),
    Case("HalfNormal", HalfNormal, [dict(sigma=1.3), dict(sigma=0.4)],
         lambda sigma: stats.halfnorm(scale=sigma), POSITIVE, edges=np.array([0.0, 1e-9, 12.0]),
         outside=np.array([-1.0, -1e-9]), invalid=[(dict(sigma=-0.5), "sigma")],
         invalid_symbolic=[dict(sigma=-1.0)], transform="log"),
    Case("HalfNormal-tau", HalfNormal, [dict(tau=4.0)], lambda tau: stats.halfnorm(scale=tau**-0.5), POSITIVE,
         outside=np.array([-1.0]), invalid=[(dict(tau=-4.0), "tau")], transform="log"),
    Case("Exponential", Exponential, [dict(lam=0.7), dict(lam=3.0)], lambda lam: stats.expon(scale=1 / lam),
         POSITIVE, edges=np.array([0.0, 1e-10, 50.0]), outside=np.array([-0.5]),
         invalid=[(dict(lam=0.0), "lam")], invalid_symbolic=[dict(lam=-1.0)], transform="log"),
    Case("Exponential-scale", Exponential, [dict(scale=2.5)], lambda scale: stats.expon(scale=scale), POSITIVE,
         outside=np.array([-0.5]), invalid=[(dict(scale=-1.0), "scale")], transform="log"),
    Case("StudentT", StudentT, [dict(nu=4.5, mu=0.5, sigma=1.5), dict(nu=0.8, mu=-1.0, sigma=0.3)],
         lambda nu, mu, sigma: stats.t(nu, mu, sigma), REAL_LINE, edges=np.array([-1e4, 1e5]),
         invalid=[(dict(nu=-1.0), "nu"), (dict(nu=3.0, sigma=0.0), "sigma")],
         invalid_symbolic=[dict(nu=-1.0, mu=0.0, sigma=1.0), dict(nu=3.0, mu=0.0, sigma=-1.0)],
         moment_grid=[dict(nu=4.5, mu=0.5, sigma=1.5), dict(nu=1.5, mu=-1.0, sigma=0.3)]),
    Case("StudentT-lam", StudentT, [dict(nu=3.5, mu=0.0, lam=4.0)],
         lambda nu, mu, lam: stats.t(nu, mu, lam**-0.5), REAL_LINE, invalid=[(dict(nu=3.0, lam=-1.0), "lam")]),
    Case("HalfStudentT", HalfStudentT, [dict(nu=5.0, sigma=1.5), dict(nu=2.5, sigma=0.5)],
         lambda nu, sigma: half_student_t_reference(nu, scale=sigma), POSITIVE,
         edges=np.array([0.0, 1e-8, 300.0]), outside=np.array([-1.0]),
         invalid=[(dict(nu=0.0), "nu"), (dict(nu=1.0, sigma=-2.0), "sigma")],
         invalid_symbolic=[dict(nu=0.0, sigma=1.0), dict(nu=3.0, sigma=-1.0)], transform="log"),
    Case("HalfStudentT-lam", HalfStudentT, [dict(nu=3.0, lam=0.25)],
         lambda nu, lam: half_student_t_reference(nu, scale=lam**-0.5), POSITIVE, outside=np.array([-1.0]),
         invalid=[(dict(nu=3.0, lam=0.0), "lam")], transform="log"),
    Case("Cauchy", Cauchy, [dict(alpha=0.5, beta=2.0), dict(alpha=-1.0, beta=0.1)],
         lambda alpha, beta: stats.cauchy(alpha, beta), REAL_LINE, edges=np.array([-1e8, 0.5, 1e9]),
         invalid=[(dict(alpha=0.0, beta=-1.0), "beta")], invalid_symbolic=[dict(alpha=0.0, beta=0.0)],
         moments=False),
    Case("HalfCauchy", HalfCauchy, [dict(beta=1.5), dict(beta=0.2)], lambda beta: stats.halfcauchy(scale=beta),
         POSITIVE, edges=np.array([0.0, 1e-9, 1e7]), outside=np.array([-2.0]),
         invalid=[(dict(beta=-1.0), "beta")], invalid_symbolic=[dict(beta=-1.0)], transform="log", moments=False),
    Case("Gamma", Gamma, [dict(alpha=2.5, beta=1.5), dict(alpha=0.6, beta=0.3), dict(alpha=1.0, beta=2.0)],
         lambda alpha, beta: stats.gamma(alpha, scale=1 / beta), POSITIVE, edges=np.array([0.0, 1e-9, 80.0]),
         outside=np.array([-1.0]), invalid=[(dict(alpha=-1.0, beta=1.0), "alpha"), (dict(alpha=1.0, beta=0.0), "beta")],
         invalid_symbolic=[dict(alpha=-1.0, beta=1.0), dict(alpha=1.0, beta=-1.0)], transform="log"),
    Case("Gamma-mu-sigma", Gamma, [dict(mu=2.0, sigma=0.8), dict(mu=0.5, sigma=2.0)], gamma_mu_sigma, POSITIVE,
         outside=np.array([-1.0]), invalid=[(dict(mu=-2.0, sigma=1.0), "mu"), (dict(mu=2.0, sigma=-1.0), "sigma")],
         invalid_symbolic=[dict(mu=-2.0, sigma=1.0)], transform="log"),
    Case("InverseGamma", InverseGamma, [dict(alpha=3.5, beta=2.0), dict(alpha=0.7, beta=1.5)],
         lambda alpha, beta: stats.invgamma(alpha, scale=beta), POSITIVE, edges=np.array([0.0, 1e-3, 500.0]),
         outside=np.array([-1.0]), invalid=[(dict(alpha=0.0, beta=1.0), "alpha"), (dict(alpha=1.0, beta=-1.0), "beta")],
         invalid_symbolic=[dict(alpha=-1.0, beta=1.0)], transform="log"),
    Case("InverseGamma-mu-sigma", InverseGamma, [dict(mu=1.5, sigma=0.7)], inverse_gamma_mu_sigma, POSITIVE,
         outside=np.array([-1.0]), invalid=[(dict(mu=1.0, sigma=0.0), "sigma")], transform="log"),
    Case("Beta", Beta, [dict(alpha=2.5, beta=1.5), dict(alpha=0.5, beta=0.7), dict(alpha=1.0, beta=3.0)],
         lambda alpha, beta: stats.beta(alpha, beta), UNIT, edges=np.array([0.0, 1e-9, 1 - 1e-9, 1.0]),
         outside=np.array([-0.1, 1.1]), invalid=[(dict(alpha=-1.0, beta=1.0), "alpha"), (dict(alpha=1.0, beta=0.0), "beta")],
         invalid_symbolic=[dict(alpha=-1.0, beta=1.0), dict(alpha=2.0, beta=0.0)], transform="logodds"),
    Case("Beta-mu-sigma", Beta, [dict(mu=0.3, sigma=0.2), dict(mu=0.8, sigma=0.05)], beta_mu_sigma, UNIT,
         outside=np.array([-0.1, 1.1]), invalid=[(dict(mu=1.3, sigma=0.1), "mu"), (dict(mu=0.5, sigma=0.6), "sigma")],
         invalid_symbolic=[dict(mu=0.5, sigma=0.6)], transform="logodds"),
    Case("Beta-mu-nu", Beta, [dict(mu=0.3, nu=5.0)], lambda mu, nu: stats.beta(mu * nu, (1 - mu) * nu), UNIT,
         outside=np.array([1.5]), invalid=[(dict(mu=0.3, nu=-5.0), "nu")], invalid_symbolic=[dict(mu=0.3, nu=-1.0)],
         transform="logodds"),
    Case("Uniform", Uniform, [dict(lower=-1.0, upper=2.5), dict(lower=-2.0, upper=3.5)],
         lambda lower, upper: stats.uniform(lower, upper - lower), np.array([-0.9, 0.1, 2.4]),
         edges=np.array([-1.0, 2.5, -2.0, 3.5]), outside=np.array([-5.0, 10.0]),
         invalid=[(dict(lower=1.0, upper=0.0), "upper")], invalid_symbolic=[dict(lower=1.0, upper=0.5)],
         transform="interval"),
    Case("LogNormal", LogNormal, [dict(mu=0.4, sigma=0.8), dict(mu=-1.0, sigma=2.0)],
         lambda mu, sigma: stats.lognorm(sigma, scale=np.exp(mu)), POSITIVE, edges=np.array([0.0, 1e-12, 1e6]),
         outside=np.array([-1.0]), invalid=[(dict(mu=0.0, sigma=-1.0), "sigma")], invalid_symbolic=[dict(mu=0.0, sigma=-1.0)],
         transform="log"),
    Case("LogNormal-tau", LogNormal, [dict(mu=0.4, tau=2.0)], lambda mu, tau: stats.lognorm(tau**-0.5, scale=np.exp(mu)),
         POSITIVE, outside=np.array([-1.0]), invalid=[(dict(mu=0.0, tau=-1.0), "tau")], transform="log"),
    Case("Laplace", Laplace, [dict(mu=0.2, b=1.3), dict(mu=-2.0, b=0.4)], lambda mu, b: stats.laplace(mu, b),
         REAL_LINE, edges=np.array([-60.0, 0.2, 70.0]), invalid=[(dict(mu=0.0, b=0.0), "b")],
         invalid_symbolic=[dict(mu=0.0, b=-1.0)]),
    Case("Logistic", Logistic, [dict(mu=0.2, s=1.3), dict(mu=-2.0, s=0.4)], lambda mu, s: stats.logistic(mu, s),
         REAL_LINE, edges=np.array([-500.0, 600.0]), invalid=[(dict(mu=0.0, s=-1.0), "s")],
         invalid_symbolic=[dict(mu=0.0, s=-1.0)]),
    Case("Weibull", Weibull, [dict(alpha=1.7, beta=2.0), dict(alpha=0.6, beta=0.5), dict(alpha=1.0, beta=1.0)],
         lambda alpha, beta: stats.weibull_min(alpha, scale=beta), POSITIVE, edges=np.array([0.0, 1e-9, 20.0]),
         outside=np.array([-1.0]), invalid=[(dict(alpha=-1.0, beta=1.0), "alpha"), (dict(alpha=1.0, beta=-1.0), "beta")],
         invalid_symbolic=[dict(alpha=-1.0, beta=1.0), dict(alpha=1.0, beta=0.0)], transform="log"),
    Case("TruncatedNormal", TruncatedNormal,
         [dict(mu=0.5, sigma=1.5, lower=-1.0, upper=2.0), dict(mu=6.0, sigma=0.5, lower=-1.0, upper=2.0),
          dict(mu=-9.0, sigma=1.0, lower=-1.0, upper=2.0)],
         truncated_normal, np.array([-0.8, 0.3, 1.1, 1.9]), edges=np.array([-1.0, 2.0]), outside=np.array([-1.5, 2.5]),
         invalid=[(dict(sigma=-1.0, lower=0.0, upper=1.0), "sigma"), (dict(lower=1.0, upper=0.0), "upper")],
         invalid_symbolic=[dict(mu=0.0, sigma=-1.0, lower=0.0, upper=1.0), dict(mu=0.0, sigma=1.0, lower=2.0, upper=1.0)],
         transform="interval"),
    Case("TruncatedNormal-lower", TruncatedNormal, [dict(mu=0.5, sigma=1.5, lower=0.0), dict(mu=-8.0, sigma=1.0, lower=0.0)],
         truncated_normal, POSITIVE, edges=np.array([0.0, 40.0]), outside=np.array([-0.1]), transform="interval",
         invalid_symbolic=[dict(mu=0.0, sigma=-1.0, lower=0.0)]),
    Case("TruncatedNormal-upper-tau", TruncatedNormal, [dict(mu=0.5, tau=0.25, upper=1.0)],
         lambda mu, tau, upper: truncated_normal(mu, tau**-0.5, upper=upper), -POSITIVE,
         edges=np.array([1.0, -40.0]), outside=np.array([1.1]), transform="interval",
         invalid=[(dict(tau=-1.0, upper=1.0), "tau")]),
    Case("TruncatedNormal-unbounded", TruncatedNormal, [dict(mu=0.5, sigma=1.5)], truncated_normal, REAL_LINE),
    Case("Triangular", Triangular,
         [dict(lower=-1.0, c=0.5, upper=2.5), dict(lower=-2.0, c=1.5, upper=3.0)],
         triangular, np.array([-0.9, 0.1, 0.7, 2.4]), edges=np.array([-1.0, 0.5, 2.5, -2.0, 1.5, 3.0]), outside=np.array([-2.5, 3.5]),
         invalid=[(dict(lower=1.0, c=1.0, upper=0.0), "upper"), (dict(lower=0.0, c=2.0, upper=1.0), "c"),
                  (dict(lower=0.0, c=-0.5, upper=1.0), "c")],
         invalid_symbolic=[dict(lower=1.0, c=0.7, upper=0.5), dict(lower=0.0, c=1.5, upper=1.0),
                           dict(lower=0.0, c=-0.1, upper=1.0)],
         transform="interval"),
]


@pytest.mark.parametrize("case, check", applicable(CASES))
def test_distribution(case, check):
    check(case)


@pytest.mark.parametrize("distribution", [Flat, HalfFlat])
def test_improper_flat_densities(distribution):
    rv = distribution.dist(shape=(4, 3))
    points = np.array([-np.inf, -2.0, 0.0, 3.0, np.inf])
    density, cumulative, shape = compile_function([], [logp(rv, points), logcdf(rv, points), rv.shape])()
    assert tuple(shape) == (4, 3) and density.dtype == cumulative.dtype == np.float64
    if distribution is Flat:
        np.testing.assert_array_equal(density, 0.0)
        np.testing.assert_array_equal(cumulative, [-np.inf, np.log(0.5), np.log(0.5), np.log(0.5), 0.0])
        assert DEFAULT_TRANSFORM.lookup(rv.owner.op) is None
    else:
        np.testing.assert_array_equal(density, [-np.inf, -np.inf, 0.0, 0.0, 0.0])
        np.testing.assert_array_equal(cumulative, [-np.inf, -np.inf, -np.inf, -np.inf, 0.0])
        assert DEFAULT_TRANSFORM.lookup(rv.owner.op)().name == "log"
    point = compile_function([], SUPPORT_POINT.get(rv.owner.op)(rv))()
    assert point.shape == (4, 3) and np.all(compile_function([], logp(rv, point))() == 0.0)
    with pytest.raises(NotImplementedError):
        seeded_draws(rv, 1)


def test_parameterisations_are_exclusive():
    with pytest.raises(ValueError, match="sigma or tau"):
        Normal.dist(sigma=1.0, tau=1.0)
    with pytest.raises(ValueError, match="pairs"):
        Gamma.dist(alpha=1.0, mu=1.0)
    with pytest.raises(ValueError, match="mu and nu"):
        Beta.dist(mu=0.5, sigma=0.1, nu=3.0)
    with pytest.raises(ValueError, match="sigma or lam"):
        StudentT.dist(nu=3.0, sigma=1.0, lam=1.0)


def test_logcdf_tails_are_finite():
    """Stable forms keep far-tail log-CDFs finite where a naive log(cdf) underflows to -inf.

    scipy's Laplace log-CDF itself underflows at -1000, so its exact form is used there.
    """
    points = np.array([-1e3, -40.0])
    cases = [
        (Logistic.dist(0.0, 1.0), stats.logistic().logcdf(points)),
        (Laplace.dist(0.0, 1.0), np.log(0.5) + points),
        (Cauchy.dist(0.0, 1.0), stats.cauchy().logcdf(points)),
        (Normal.dist(0.0, 1.0), special.log_ndtr(points)),
    ]
    for rv, expected in cases:
        result = compile_function([], logcdf(rv, points))()
        assert np.all(np.isfinite(result)), (rv, result)
        np.testing.assert_allclose(result, expected, rtol=1e-10)


def test_truncated_normal_far_tail_normaliser():
    """Truncation deep in a tail: the normaliser uses the tail where Phi keeps its precision."""
    rv = TruncatedNormal.dist(mu=0.0, sigma=1.0, lower=30.0, upper=31.0)
    points = np.array([30.0, 30.01, 30.5])
    result = compile_function([], logp(rv, points))()
    np.testing.assert_allclose(result, stats.truncnorm(30.0, 31.0).logpdf(points), rtol=1e-6)
    assert special.log_ndtr(-30.0) < -400  # the mass in the interval is tiny


def test_student_t_moments_undefined_for_small_nu():
    """For nu <= 1 the mean is undefined: NaN (scipy reports inf for the mean)."""
    from mixgraph.registry import MEAN, VARIANCE, distribution_parameters

    rv = StudentT.dist(nu=0.8, mu=1.0, sigma=1.0)
    inputs = distribution_parameters(rv)
    mean, variance = compile_function([], [MEAN.get(rv.owner.op)(rv, *inputs), VARIANCE.get(rv.owner.op)(rv, *inputs)])()
    assert np.isnan(mean) and np.isnan(variance)


@pytest.mark.parametrize("c", [-1.0, 2.5], ids=["mode-on-lower", "mode-on-upper"])
def test_triangular_mode_on_a_bound(c):
    """With the mode on a bound the density is one straight line; the bound itself has density 2 / (u - l)."""
    rv = Triangular.dist(lower=-1.0, c=c, upper=2.5)
    reference = triangular(-1.0, c, 2.5)
    points = np.array([-1.0, -0.5, 0.7, 2.4, 2.5, -2.0, 3.0])
    density, cumulative = compile_function([], [logp(rv, points), logcdf(rv, points)])()
    np.testing.assert_allclose(density, reference.logpdf(points), rtol=1e-12)
    np.testing.assert_allclose(cumulative, reference.logcdf(points), rtol=1e-12)
    assert np.isfinite(density[0] if c == -1.0 else density[4])


def test_lognormal_alias_is_lognormal():
    """``mg.Lognormal`` is PyMC's other spelling of ``mg.LogNormal``: the same class, the same density."""
    import mixgraph as mg

    assert mg.Lognormal is mg.LogNormal
    with mg.Model() as model:
        mg.Lognormal("x", mu=0.4, sigma=0.8)
    density = compile_function([], logp(model["x"], np.array([0.5, 2.0])))()
    np.testing.assert_allclose(density, stats.lognorm(0.8, scale=np.exp(0.4)).logpdf([0.5, 2.0]), rtol=1e-12)
