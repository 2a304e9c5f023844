"""Posterior predictive draws of every distribution as an observed variable.

Each row is a distribution whose parameters are multiplied by a free variable
``factor``; the posterior is built by hand with ``factor`` exactly 1 at every
draw, so that the predictive distribution is the distribution at the table's
parameters while its parameters still vary over draws (the graph is
vectorised over them). Two forms per univariate row: only the last real
parameter depends on the posterior (the others are constants, the form that
broke PyTensor's vectorisation of a random variable with a size), or every
real parameter does. The draws are compared with scipy (univariate) or with
direct draws of the same distribution (two-sample Kolmogorov-Smirnov per
coordinate).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from scipy import stats

import mixgraph as mg
from checks import SMALLEST_P_VALUE, _chi_square_p_value
from test_continuous import CASES as CONTINUOUS_CASES
from test_discrete import CASES as DISCRETE_CASES

CHAINS, DRAWS = 2, 150
COV = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 1.5]])
MU = np.array([1.0, -1.0, 0.5])


def by_hand_posterior(factor: float = 1.0) -> az.InferenceData:
    """A posterior of ``factor`` alone, equal to ``factor`` at every draw."""
    return az.from_dict(posterior={"factor": np.full((CHAINS, DRAWS), factor)})


def _scaled(parameters: dict, integer: tuple, form: str, factor) -> dict:
    real = [name for name, value in parameters.items() if name not in integer]
    chosen = set(real[-1:]) if form == "last" else set(real)
    return {name: value * factor if name in chosen else value for name, value in parameters.items()}


def _univariate_rows():
    rows = []
    for case in CONTINUOUS_CASES + DISCRETE_CASES:
        for form in ("last", "all"):
            rows.append(pytest.param(case, form, id=f"{case.name}-{form}"))
    return rows


@pytest.mark.parametrize("case, form", _univariate_rows())
def test_univariate_posterior_predictive_matches_scipy(case, form):
    parameters = case.grid[0]
    observed = np.resize(case.values, 6)
    with mg.Model():
        factor = mg.Normal("factor", 1.0, 0.001)
        case.distribution("y", **_scaled(parameters, case.integer_parameters, form, factor), observed=observed)
        predictive = mg.sample_posterior_predictive(by_hand_posterior(), random_seed=20261202, progressbar=False)
    draws = predictive.posterior_predictive["y"].values
    assert draws.shape == (CHAINS, DRAWS, 6)
    frozen = case.reference(**parameters)
    if case.discrete:
        p_value = _chi_square_p_value(draws.ravel(), frozen)
    else:
        reference = frozen.rvs(size=draws.size, random_state=np.random.default_rng(7))
        p_value = stats.ks_2samp(draws.ravel(), reference).pvalue
    assert p_value > SMALLEST_P_VALUE, p_value


def _mixture_components(factor):
    return [mg.Normal.dist(mu=-1.0 * factor, sigma=1.0), mg.StudentT.dist(nu=4.0, mu=2.0, sigma=factor)]


def _mv_mixture_components(factor):
    return [mg.MvNormal.dist(MU * factor, cov=COV), mg.MvNormal.dist(-MU, cov=np.eye(3) * factor)]


def _lkj_cholesky(name, factor, **kwargs):
    standard_deviations = mg.Exponential.dist(1.0, shape=3)
    if name is None:
        return mg.LKJCholeskyCov.dist(eta=2.0 * factor, n=3, sd_dist=standard_deviations, compute_corr=False, **kwargs)
    return mg.LKJCholeskyCov(name, eta=2.0 * factor, n=3, sd_dist=standard_deviations, compute_corr=False, **kwargs)


# name -> (class, parameters as a function of the factor): the observed data are
# 5 draws of the distribution (one row each), the reference 600 direct draws.
OTHER_CASES = {
    "Dirichlet": (mg.Dirichlet, lambda f: dict(a=np.array([1.0, 2.0, 3.0]) * f)),
    "Multinomial": (mg.Multinomial, lambda f: dict(n=8, p=np.array([0.2, 0.3, 0.5]) * f)),
    "MvNormal-cov": (mg.MvNormal, lambda f: dict(mu=MU * f, cov=COV)),
    "MvNormal-chol": (mg.MvNormal, lambda f: dict(mu=MU, chol=np.linalg.cholesky(COV) * f)),
    "MvNormal-tau": (mg.MvNormal, lambda f: dict(mu=MU * f, tau=np.linalg.inv(COV))),
    "LKJCorr": (mg.LKJCorr, lambda f: dict(n=3, eta=2.0 * f)),
    "Mixture-list": (mg.Mixture, lambda f: dict(w=np.array([0.3, 0.7]), comp_dists=_mixture_components(f))),
    "Mixture-batched": (mg.Mixture, lambda f: dict(
        w=np.array([0.2, 0.5, 0.3]), comp_dists=mg.Poisson.dist(mu=np.array([1.0, 5.0, 12.0]) * f, shape=(3,)))),
    "NormalMixture": (mg.NormalMixture, lambda f: dict(
        w=np.array([0.4, 0.6]), mu=np.array([-2.0, 2.0]) * f, sigma=np.array([1.0, 0.5]))),
    "Mixture-MvNormal-list": (mg.Mixture, lambda f: dict(
        w=np.array([0.5, 0.5]), comp_dists=_mv_mixture_components(f))),
    "Mixture-MvNormal-batched": (mg.Mixture, lambda f: dict(
        w=np.array([0.5, 0.5]), comp_dists=mg.MvNormal.dist(np.stack([MU, -MU]) * f, cov=COV, shape=(2, 3)))),
    "Mixture-Dirichlet-list": (mg.Mixture, lambda f: dict(
        w=np.array([0.5, 0.5]),
        comp_dists=[mg.Dirichlet.dist(np.array([1.0, 2.0, 3.0]) * f), mg.Dirichlet.dist(np.array([5.0, 1.0, 1.0]))])),
    "ZeroInflatedPoisson": (mg.ZeroInflatedPoisson, lambda f: dict(psi=0.7, mu=3.0 * f)),
    "ZeroInflatedNegativeBinomial": (mg.ZeroInflatedNegativeBinomial, lambda f: dict(psi=0.7, mu=3.0, alpha=2.0 * f)),
    "ZeroInflatedBinomial": (mg.ZeroInflatedBinomial, lambda f: dict(psi=0.7 * f, n=10, p=0.3)),
    "HurdlePoisson": (mg.HurdlePoisson, lambda f: dict(psi=0.7, mu=3.0 * f)),
    "HurdleNegativeBinomial": (mg.HurdleNegativeBinomial, lambda f: dict(psi=0.7, mu=3.0, alpha=2.0 * f)),
    "HurdleGamma": (mg.HurdleGamma, lambda f: dict(psi=0.7, alpha=2.0, beta=1.5 * f)),
    "HurdleLogNormal": (mg.HurdleLogNormal, lambda f: dict(psi=0.7, mu=0.5, sigma=0.8 * f)),
}
ROWS, REFERENCE_DRAWS = 5, 600


def _direct_draws(distribution, parameters: dict, count: int, seed: int) -> np.ndarray:
    return np.asarray(mg.draw(distribution.dist(**parameters, size=(count,)), random_seed=seed))


@pytest.mark.parametrize("name", list(OTHER_CASES))
def test_posterior_predictive_matches_direct_draws(name):
    distribution, parameters = OTHER_CASES[name]
    observed = _direct_draws(distribution, parameters(1.0), ROWS, seed=1)
    with mg.Model():
        factor = mg.Normal("factor", 1.0, 0.001)
        distribution("y", **parameters(factor), observed=observed)
        predictive = mg.sample_posterior_predictive(by_hand_posterior(), random_seed=20261202, progressbar=False)
    draws = predictive.posterior_predictive["y"].values
    assert draws.shape == (CHAINS, DRAWS) + observed.shape
    reference = _direct_draws(distribution, parameters(1.0), REFERENCE_DRAWS, seed=2)
    flat_draws = draws.reshape((-1,) + observed.shape[1:]).reshape(CHAINS * DRAWS * ROWS, -1)
    flat_reference = reference.reshape(REFERENCE_DRAWS, -1)
    for coordinate in range(flat_draws.shape[1]):
        p_value = stats.ks_2samp(flat_draws[:, coordinate], flat_reference[:, coordinate]).pvalue
        assert p_value > SMALLEST_P_VALUE, (coordinate, p_value)


def test_lkj_cholesky_cov_posterior_predictive_matches_direct_draws():
    observed = np.asarray(mg.draw(_lkj_cholesky(None, 1.0, size=(ROWS,)), random_seed=1))
    with mg.Model():
        factor = mg.Normal("factor", 1.0, 0.001)
        _lkj_cholesky("y", factor, observed=observed)
        predictive = mg.sample_posterior_predictive(by_hand_posterior(), random_seed=20261202, progressbar=False)
    draws = predictive.posterior_predictive["y"].values
    assert draws.shape == (CHAINS, DRAWS) + observed.shape
    reference = np.asarray(mg.draw(_lkj_cholesky(None, 1.0, size=(REFERENCE_DRAWS,)), random_seed=2))
    flat_draws = draws.reshape(-1, observed.shape[-1])
    for coordinate in range(observed.shape[-1]):
        p_value = stats.ks_2samp(flat_draws[:, coordinate], reference[:, coordinate]).pvalue
        assert p_value > SMALLEST_P_VALUE, (coordinate, p_value)


def test_posterior_predictive_follows_the_posterior():
    """Not a constant broadcast: the draws move with the posterior's parameter, draw by draw."""
    factors = np.linspace(1.0, 50.0, CHAINS * DRAWS).reshape(CHAINS, DRAWS)
    with mg.Model():
        factor = mg.HalfNormal("factor", 10.0)
        mg.StudentT("y", nu=30.0, mu=factor, sigma=0.01, observed=np.zeros(4))
        predictive = mg.sample_posterior_predictive(
            az.from_dict(posterior={"factor": factors}), random_seed=3, progressbar=False
        )
    draws = predictive.posterior_predictive["y"].values
    np.testing.assert_allclose(draws.mean(axis=-1), factors, atol=0.05)


@pytest.mark.parametrize("case", [case for case in CONTINUOUS_CASES], ids=lambda case: case.name)
def test_batched_parameters_without_size_give_independent_draws(case):
    """A draw function given ``size=None`` draws one value per batch element (not one shared by all)."""
    parameters = {name: np.full(4, value) for name, value in case.grid[0].items()}
    draws = np.asarray(mg.draw(case.distribution.dist(**parameters), random_seed=5))
    assert draws.shape == (4,)
    assert len(np.unique(draws)) == 4, draws
