"""Multivariate distributions: log-densities against scipy and LKJ 2009, draws, shapes."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special, stats

import mixgraph as mg
from mixgraph.distributions.base import ParameterError
from mixgraph.distributions.continuous import Exponential
from mixgraph.distributions.lkj import LKJCorr, expand_packed_triangular
from mixgraph.distributions.lkj_cholesky import LKJCholeskyCov
from mixgraph.distributions.multivariate import Dirichlet, Multinomial, MvNormal
from mixgraph.logprob import logp
from mixgraph.registry import MEAN, SUPPORT_POINT, VARIANCE, distribution_parameters


def evaluate(expression):
    return pytensor.function([], expression, mode="FAST_COMPILE")()


def draws(rv, seed: int = 1):
    rv.owner.inputs[0].set_value(np.random.default_rng(seed))
    return evaluate(rv)


COV = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 1.5]])
MU = np.array([1.0, -1.0, 0.5])
BATCH_COV = np.stack([COV, np.diag([0.5, 2.0, 1.0])])
BATCH_MU = np.stack([MU, -MU])
POINTS3 = np.array([[0.3, 0.2, 1.0], [1.0, 1.0, -2.0]])
# Order 8 is above UNROLLED_MAX_ORDER: its log-density goes through LAPACK.
COV8 = 0.3 * np.ones((8, 8)) + np.diag(np.linspace(0.5, 2.0, 8))
MU8 = np.linspace(-1.0, 1.0, 8)
POINTS8 = np.random.default_rng(8).normal(size=(3, 8))


def _mvn_reference(mu, cov, values):
    mu, cov = np.broadcast_to(mu, values.shape), np.broadcast_to(cov, values.shape + values.shape[-1:])
    return np.array([stats.multivariate_normal(m, c).logpdf(v) for m, c, v in zip(mu, cov, values)])


# name -> (rv, values, expected log-density)
LOGP_CASES = {
    "dirichlet": (Dirichlet.dist(np.array([1.0, 2.0, 3.0])), np.array([0.2, 0.3, 0.5]),
                  stats.dirichlet.logpdf([0.2, 0.3, 0.5], [1.0, 2.0, 3.0])),
    "dirichlet batched": (
        Dirichlet.dist(np.array([[0.5, 1.0, 4.0], [2.0, 2.0, 2.0]])),
        np.array([[0.1, 0.6, 0.3], [0.25, 0.25, 0.5]]),
        [stats.dirichlet.logpdf([0.1, 0.6, 0.3], [0.5, 1.0, 4.0]), stats.dirichlet.logpdf([0.25, 0.25, 0.5], [2.0] * 3)],
    ),
    "dirichlet near boundary": (Dirichlet.dist(np.array([0.5, 1.0, 2.0])), np.array([1e-12, 0.5, 0.5 - 1e-12]),
                                stats.dirichlet.logpdf([1e-12, 0.5, 0.5 - 1e-12], [0.5, 1.0, 2.0])),
    "dirichlet zero coordinate, a = 1": (Dirichlet.dist(np.array([1.0, 2.0])), np.array([0.0, 1.0]), np.log(2.0)),
    "dirichlet negative coordinate": (Dirichlet.dist(np.ones(3)), np.array([-0.1, 0.6, 0.5]), -np.inf),
    "dirichlet off the simplex": (Dirichlet.dist(np.ones(3)), np.array([0.2, 0.3, 0.4]), -np.inf),
    "mvnormal cov": (MvNormal.dist(MU, cov=COV), POINTS3, _mvn_reference(MU, COV, POINTS3)),
    "mvnormal chol": (MvNormal.dist(MU, chol=np.linalg.cholesky(COV)), POINTS3, _mvn_reference(MU, COV, POINTS3)),
    "mvnormal tau": (MvNormal.dist(MU, tau=np.linalg.inv(COV)), POINTS3, _mvn_reference(MU, COV, POINTS3)),
    "mvnormal batched mu and cov": (MvNormal.dist(BATCH_MU, cov=BATCH_COV), POINTS3,
                                    _mvn_reference(BATCH_MU, BATCH_COV, POINTS3)),
    "mvnormal batched cov only": (MvNormal.dist(MU, cov=BATCH_COV), POINTS3, _mvn_reference(MU, BATCH_COV, POINTS3)),
    "mvnormal order 1": (MvNormal.dist(np.array([0.5]), cov=np.array([[2.0]])), np.array([[1.5], [-0.5]]),
                         stats.norm(0.5, np.sqrt(2.0)).logpdf([1.5, -0.5])),
    "mvnormal order 8 (LAPACK)": (MvNormal.dist(MU8, cov=COV8), POINTS8, _mvn_reference(MU8, COV8, POINTS8)),
    "mvnormal order 8 chol (LAPACK)": (MvNormal.dist(MU8, chol=np.linalg.cholesky(COV8)), POINTS8,
                                       _mvn_reference(MU8, COV8, POINTS8)),
    "mvnormal order 8 batched cov (LAPACK)": (
        MvNormal.dist(MU8, cov=np.stack([COV8, np.diag(np.linspace(1.0, 3.0, 8)), COV8.T @ COV8])), POINTS8,
        _mvn_reference(MU8, np.stack([COV8, np.diag(np.linspace(1.0, 3.0, 8)), COV8.T @ COV8]), POINTS8),
    ),
    "mvnormal order 8 one point (LAPACK)": (MvNormal.dist(MU8, cov=COV8), POINTS8[0],
                                             _mvn_reference(MU8, COV8, POINTS8[:1])[0]),
    "multinomial": (Multinomial.dist(5, np.array([0.2, 0.3, 0.5])), np.array([1, 1, 3]),
                    stats.multinomial(5, [0.2, 0.3, 0.5]).logpmf([1, 1, 3])),
    "multinomial batched": (
        Multinomial.dist(np.array([3, 6]), np.array([[0.1, 0.9], [0.5, 0.5]])), np.array([[3, 0], [2, 4]]),
        [stats.multinomial(3, [0.1, 0.9]).logpmf([3, 0]), stats.multinomial(6, [0.5, 0.5]).logpmf([2, 4])],
    ),
    "multinomial zero probability, zero count": (Multinomial.dist(4, np.array([0.0, 0.5, 0.5])), np.array([0, 1, 3]),
                                                 stats.multinomial(4, [0.0, 0.5, 0.5]).logpmf([0, 1, 3])),
    "multinomial wrong sum": (Multinomial.dist(5, np.array([0.2, 0.3, 0.5])), np.array([1, 1, 2]), -np.inf),
    "multinomial negative count": (Multinomial.dist(5, np.array([0.2, 0.3, 0.5])), np.array([-1, 3, 3]), -np.inf),
}


@pytest.mark.parametrize("name", LOGP_CASES)
def test_logp_against_scipy(name):
    rv, values, expected = LOGP_CASES[name]
    np.testing.assert_allclose(evaluate(logp(rv, values)), expected, rtol=1e-9)


@pytest.mark.parametrize("order", [2, 8], ids=["unrolled", "LAPACK"])
def test_mvnormal_not_positive_definite_is_minus_infinity_with_finite_gradient(order):
    cov = pt.matrix("cov", shape=(order, order), dtype="float64")
    mean = np.zeros(order)
    density = logp(MvNormal.dist(mean, cov=cov), mean + 0.1)
    function = pytensor.function([cov], [density, pytensor.grad(density, cov)], mode="FAST_COMPILE")
    indefinite = np.eye(order)
    indefinite[0, 1] = indefinite[1, 0] = 2.0
    not_a_number = np.eye(order)
    not_a_number[1, 1] = np.nan
    for bad in (indefinite, -np.eye(order), np.zeros((order, order)), not_a_number):
        value, gradient = function(bad)
        assert value == -np.inf
        assert np.all(np.isfinite(gradient)), gradient
    value, gradient = function(np.eye(order))
    assert np.isfinite(value) and np.all(np.isfinite(gradient))


@pytest.mark.parametrize(
    "rv_from_parameter, value, bad",
    [
        (lambda a: Dirichlet.dist(a), [0.2, 0.8], np.array([-1.0, 2.0])),
        (lambda p: Multinomial.dist(3, p), [1, 2], np.array([0.5, 0.6])),
        (lambda p: Multinomial.dist(3, p), [1, 2], np.array([-0.5, 1.5])),
    ],
)
def test_invalid_symbolic_parameters_give_minus_infinity(rv_from_parameter, value, bad):
    parameter = pt.dvector("parameter")
    function = pytensor.function([parameter], logp(rv_from_parameter(parameter), value), mode="FAST_COMPILE")
    assert function(bad) == -np.inf


# ------------------------------------------------------------------------ LKJ
def lkj_log_normalizer_reference(eta: float, n: int) -> float:
    """log c_n(eta), Lewandowski, Kurowicka & Joe (2009), eq. 16, written out term by term."""
    total = 0.0
    for k in range(1, n):
        total += (2 * eta - 2 + n - k) * (n - k) * np.log(2.0)
        total += (n - k) * special.betaln(eta + (n - k - 1) / 2, eta + (n - k - 1) / 2)
    return total


def random_correlation(rng, n: int) -> np.ndarray:
    factor = rng.normal(size=(n, n + 2))
    covariance = factor @ factor.T
    scale = 1 / np.sqrt(np.diag(covariance))
    return covariance * scale[:, None] * scale[None, :]


# n = 7, 8 are above UNROLLED_MAX_ORDER: their determinant goes through LAPACK.
@pytest.mark.parametrize("n, eta", [(2, 1.0), (2, 3.5), (3, 0.7), (3, 2.0), (4, 1.0), (4, 5.0), (7, 1.5), (8, 3.0)])
def test_lkj_corr_logp_against_normalizing_constant(rng, n, eta):
    correlation = random_correlation(rng, n)
    packed = correlation[np.triu_indices(n, 1)]
    expected = (eta - 1) * np.linalg.slogdet(correlation)[1] - lkj_log_normalizer_reference(eta, n)
    assert evaluate(logp(LKJCorr.dist(n=n, eta=eta), packed)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("eta", [0.5, 1.0, 4.0])
def test_lkj_corr_n2_is_a_scaled_beta(eta):
    correlations = np.array([-0.9, -0.2, 0.0, 0.6])
    expected = stats.beta(eta, eta).logpdf((correlations + 1) / 2) - np.log(2.0)
    rv = LKJCorr.dist(n=2, eta=eta)
    computed = [evaluate(logp(rv, [value])) for value in correlations]
    np.testing.assert_allclose(computed, expected, rtol=1e-10)


def test_lkj_corr_uniform_n3_volume():
    # the 3 x 3 correlation matrices fill a volume of pi^2 / 2
    assert evaluate(logp(LKJCorr.dist(n=3, eta=1.0), [0.1, -0.4, 0.2])) == pytest.approx(-np.log(np.pi**2 / 2))


@pytest.mark.parametrize("packed", [[0.9, 0.9, -0.9], [1.2, 0.0, 0.0]])
def test_lkj_corr_outside_support(packed):
    assert evaluate(logp(LKJCorr.dist(n=3, eta=2.0), packed)) == -np.inf


def test_lkj_corr_n2_draws_match_beta_by_ks():
    samples = draws(LKJCorr.dist(n=2, eta=2.5, size=(3000,)), seed=3)[:, 0]
    assert stats.kstest((samples + 1) / 2, stats.beta(2.5, 2.5).cdf).pvalue > 1e-3


def test_lkj_corr_n4_marginals_match_beta_by_ks():
    n, eta = 4, 1.5
    samples = draws(LKJCorr.dist(n=n, eta=eta, size=(3000,)), seed=4)
    marginal = stats.beta(eta - 1 + n / 2, eta - 1 + n / 2)  # LKJ 2009, section 3.2
    for column in range(samples.shape[1]):
        assert stats.kstest((samples[:, column] + 1) / 2, marginal.cdf).pvalue > 1e-4


def _packed_cholesky_from_stds_and_correlations(stds: np.ndarray, packed_correlation: np.ndarray, n: int) -> np.ndarray:
    correlation = np.eye(n)
    correlation[np.triu_indices(n, 1)] = packed_correlation
    correlation = np.triu(correlation) + np.triu(correlation, 1).T
    cholesky = np.diag(stds) @ np.linalg.cholesky(correlation)
    return cholesky[np.tril_indices(n)]


@pytest.mark.parametrize("n, eta", [(2, 1.0), (3, 2.5)])
def test_lkj_cholesky_cov_logp_by_change_of_variables(rng, n, eta):
    """log p(L) = log p_sd(sigma) + log LKJ(C) - log|d L / d(sigma, C)|, Jacobian numerical."""
    stds = rng.uniform(0.5, 2.0, size=n)
    packed_correlation = random_correlation(rng, n)[np.triu_indices(n, 1)]
    coordinates = np.concatenate([stds, packed_correlation])

    def to_packed(point):
        return _packed_cholesky_from_stds_and_correlations(point[:n], point[n:], n)

    step = 1e-6
    jacobian = np.array([(to_packed(coordinates + step * e) - to_packed(coordinates - step * e)) / (2 * step)
                         for e in np.eye(coordinates.size)]).T
    correlation_term = evaluate(logp(LKJCorr.dist(n=n, eta=eta), packed_correlation))
    expected = stats.expon.logpdf(stds).sum() + correlation_term - np.linalg.slogdet(jacobian)[1]
    rv = LKJCholeskyCov.dist(eta=eta, n=n, sd_dist=Exponential.dist(1.0), compute_corr=False)
    assert evaluate(logp(rv, to_packed(coordinates))) == pytest.approx(expected, rel=1e-6)


def test_lkj_cholesky_cov_negative_diagonal_is_minus_infinity():
    rv = LKJCholeskyCov.dist(eta=2.0, n=2, sd_dist=Exponential.dist(1.0), compute_corr=False)
    assert evaluate(logp(rv, [1.0, 0.3, -0.5])) == -np.inf


def test_lkj_cholesky_cov_draws():
    n, eta = 3, 2.0
    rv = LKJCholeskyCov.dist(eta=eta, n=n, sd_dist=Exponential.dist(1.0), compute_corr=False, size=(3000,))
    samples = draws(rv, seed=5)
    chol = evaluate(expand_packed_triangular(n, samples))
    stds = np.sqrt(np.sum(chol**2, axis=-1))
    correlation = (chol @ np.swapaxes(chol, -1, -2)) / (stds[:, :, None] * stds[:, None, :])
    for row in range(n):
        assert stats.kstest(stds[:, row], stats.expon.cdf).pvalue > 1e-4
    marginal = stats.beta(eta - 1 + n / 2, eta - 1 + n / 2)
    for row, column in zip(*np.triu_indices(n, 1)):
        assert stats.kstest((correlation[:, row, column] + 1) / 2, marginal.cdf).pvalue > 1e-4


def test_lkj_cholesky_cov_in_a_model_returns_chol_corr_stds():
    with mg.Model() as model:
        chol, corr, stds = LKJCholeskyCov("c", eta=2.0, n=3, sd_dist=Exponential.dist(1.0, shape=3))
        packed = LKJCholeskyCov("d", eta=2.0, n=2, sd_dist=Exponential.dist(1.0), compute_corr=False)
    assert {"c", "c_corr", "c_stds", "d"} <= set(model.named_vars)
    assert packed.type.shape == (3,)
    chol_value, corr_value, stds_value = evaluate([chol, corr, stds])
    assert chol_value.shape == (3, 3) and np.allclose(chol_value, np.tril(chol_value))
    np.testing.assert_allclose(np.diag(corr_value), 1.0)
    np.testing.assert_allclose(chol_value @ chol_value.T, corr_value * np.outer(stds_value, stds_value))


def test_lkj_corr_return_matrix():
    matrix = evaluate(LKJCorr.dist(n=3, eta=1.0, return_matrix=True))
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    assert np.all(np.linalg.eigvalsh(matrix) > 0)


# ------------------------------------------------------------------- gradients
def _gradient_check(build_logp, point):
    variable = pt.dvector("variable")
    total = pt.sum(build_logp(variable))
    value_and_gradient = pytensor.function([variable], [total, pytensor.grad(total, variable)], mode="FAST_COMPILE")
    _, gradient = value_and_gradient(point)
    step = 1e-6
    numerical = [(value_and_gradient(point + step * e)[0] - value_and_gradient(point - step * e)[0]) / (2 * step)
                 for e in np.eye(point.size)]
    np.testing.assert_allclose(gradient, numerical, rtol=1e-5, atol=1e-6)


GRADIENT_CASES = {
    "dirichlet concentration": (lambda a: logp(Dirichlet.dist(a), [0.2, 0.3, 0.5]), np.array([0.7, 2.0, 3.0])),
    "mvnormal mean": (lambda mu: logp(MvNormal.dist(mu, cov=COV), POINTS3), MU),
    "mvnormal chol": (
        lambda entries: logp(MvNormal.dist(MU, chol=expand_packed_triangular(3, entries)), POINTS3),
        np.linalg.cholesky(COV)[np.tril_indices(3)],
    ),
    "mvnormal chol order 8 (LAPACK)": (
        lambda entries: logp(MvNormal.dist(MU8, chol=expand_packed_triangular(8, entries)), POINTS8),
        np.linalg.cholesky(COV8)[np.tril_indices(8)],
    ),
    "mvnormal cov entries": (
        lambda entries: logp(MvNormal.dist(MU, cov=pt.reshape(entries, (3, 3))), POINTS3), COV.ravel(),
    ),
    "multinomial probabilities": (
        lambda p: logp(Multinomial.dist(5, p / pt.sum(p)), [1, 1, 3]), np.array([0.2, 0.3, 0.5])
    ),
    "lkj corr value": (lambda r: logp(LKJCorr.dist(n=3, eta=2.0), r), np.array([0.2, -0.3, 0.4])),
    "lkj cholesky cov value": (
        lambda x: logp(LKJCholeskyCov.dist(eta=2.0, n=3, sd_dist=Exponential.dist(1.0), compute_corr=False), x),
        np.array([1.2, 0.3, 0.8, -0.4, 0.2, 0.9]),
    ),
}


@pytest.mark.parametrize("name", GRADIENT_CASES)
def test_gradient_against_finite_differences(name):
    build_logp, point = GRADIENT_CASES[name]
    _gradient_check(build_logp, point)


def test_lkj_eta_gradient_against_finite_differences():
    _gradient_check(lambda eta: logp(LKJCorr.dist(n=3, eta=eta[0]), [0.2, -0.3, 0.4]), np.array([1.7]))


# ---------------------------------------------------------------------- draws
A = np.array([1.0, 2.0, 5.0])
P = np.array([0.2, 0.3, 0.5])
MOMENT_CASES = {
    # name -> (rv with size (N,), closed-form mean, closed-form covariance)
    "dirichlet": (Dirichlet.dist(A, size=(4000,)), A / A.sum(),
                  (np.diag(A / A.sum()) - np.outer(A, A) / A.sum() ** 2) / (A.sum() + 1)),
    "mvnormal": (MvNormal.dist(MU, cov=COV, size=(4000,)), MU, COV),
    "multinomial": (Multinomial.dist(7, P, size=(4000,)), 7 * P, 7 * (np.diag(P) - np.outer(P, P))),
    "lkj corr": (LKJCorr.dist(n=3, eta=2.0, size=(4000,)), np.zeros(3), np.eye(3) / (2 * (2.0 - 1 + 1.5) + 1)),
}


@pytest.mark.parametrize("name", MOMENT_CASES)
def test_registered_moments_are_the_closed_forms(name):
    rv, mean, covariance = MOMENT_CASES[name]
    parameters = distribution_parameters(rv)
    np.testing.assert_allclose(evaluate(MEAN.get(rv.owner.op)(rv, *parameters))[0], mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(evaluate(VARIANCE.get(rv.owner.op)(rv, *parameters))[0], covariance, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", MOMENT_CASES)
def test_draws_match_closed_form_moments(name):
    rv, mean, covariance = MOMENT_CASES[name]
    samples = draws(rv, seed=7).astype(float)
    count = samples.shape[0]
    centred = samples - mean
    mean_error = np.sqrt(np.diag(covariance) / count)
    assert np.all(np.abs(samples.mean(axis=0) - mean) < 5 * mean_error)
    products = centred[:, :, None] * centred[:, None, :]
    covariance_error = products.std(axis=0) / np.sqrt(count)
    assert np.all(np.abs(products.mean(axis=0) - covariance) < 5 * covariance_error + 1e-12)


@pytest.mark.parametrize("name", ["dirichlet", "mvnormal", "multinomial", "lkj corr"])
def test_support_point_has_finite_log_density(name):
    rv, _, _ = MOMENT_CASES[name]
    point = SUPPORT_POINT.get(rv.owner.op)(rv, *distribution_parameters(rv))
    values = evaluate(logp(rv, point))
    assert values.shape == (4000,) and np.all(np.isfinite(values))


def test_multinomial_support_point_sums_to_n():
    rv = Multinomial.dist(np.array([7, 10]), np.array([[0.2, 0.3, 0.5], [0.34, 0.33, 0.33]]))
    point = evaluate(SUPPORT_POINT.get(rv.owner.op)(rv, *distribution_parameters(rv)))
    np.testing.assert_array_equal(point.sum(axis=-1), [7, 10])


# ---------------------------------------------------------------------- shapes
SHAPE_CASES = {
    "dirichlet shape": (lambda: Dirichlet.dist(a=np.ones(3), shape=(5, 3)), (5, 3)),
    "dirichlet size": (lambda: Dirichlet.dist(a=np.ones(3), size=(2, 5)), (2, 5, 3)),
    "dirichlet batched a": (lambda: Dirichlet.dist(a=np.ones((4, 3))), (4, 3)),
    "mvnormal batched mu": (lambda: MvNormal.dist(np.zeros((4, 2)), cov=np.eye(2)), (4, 2)),
    "mvnormal batched cov and size": (lambda: MvNormal.dist(np.zeros(2), cov=np.stack([np.eye(2)] * 4), size=(3, 4)), (3, 4, 2)),
    "multinomial shape": (lambda: Multinomial.dist(5, P, shape=(6, 3)), (6, 3)),
    "lkj corr size": (lambda: LKJCorr.dist(n=4, eta=1.0, size=(2,)), (2, 6)),
    "lkj cholesky cov size": (
        lambda: LKJCholeskyCov.dist(eta=1.0, n=3, sd_dist=Exponential.dist(1.0), compute_corr=False, size=(2,)), (2, 6)
    ),
}


@pytest.mark.parametrize("name", SHAPE_CASES)
def test_shapes(name):
    make, expected = SHAPE_CASES[name]
    assert draws(make()).shape == expected


# ----------------------------------------------------------- invalid constants
INVALID_CASES = {
    "a": lambda: Dirichlet.dist(a=np.array([1.0, 0.0, 2.0])),
    "cov": lambda: MvNormal.dist(np.zeros(2), cov=np.array([[1.0, 2.0], [2.0, 1.0]])),
    "chol": lambda: MvNormal.dist(np.zeros(2), chol=np.array([[1.0, 0.0], [0.5, -1.0]])),
    "tau": lambda: MvNormal.dist(np.zeros(2), tau=-np.eye(2)),
    "p": lambda: Multinomial.dist(3, np.array([0.5, 0.6])),
    "n": lambda: Multinomial.dist(-2, np.array([0.5, 0.5])),
    "eta": lambda: LKJCorr.dist(n=3, eta=0.0),
}


@pytest.mark.parametrize("parameter", INVALID_CASES)
def test_invalid_constant_names_the_parameter(parameter):
    with pytest.raises(ParameterError, match=rf"parameter {parameter} "):
        INVALID_CASES[parameter]()


def test_lkj_order_must_be_a_constant_of_at_least_two():
    with pytest.raises(ParameterError, match="parameter n"):
        LKJCorr.dist(n=1, eta=1.0)
    with pytest.raises(ParameterError, match="parameter n"):
        LKJCorr.dist(n=pt.lscalar("n"), eta=1.0)


def test_invalid_constant_in_a_model_names_the_variable():
    with mg.Model():
        with pytest.raises(ValueError, match="Dirichlet 'w': parameter a"):
            Dirichlet("w", a=np.array([1.0, -1.0]))


def test_mvnormal_needs_exactly_one_covariance():
    with pytest.raises(ValueError, match="exactly one of cov, chol or tau"):
        MvNormal.dist(np.zeros(2), cov=np.eye(2), tau=np.eye(2))
