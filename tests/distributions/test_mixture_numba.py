"""Mixture draws under the Numba linker run in nopython mode and follow the mixture."""

import warnings

import numpy as np
import pytensor
import pytest
from scipy import stats

from mixgraph.distributions.continuous import Normal
from mixgraph.distributions.discrete import Poisson
from mixgraph.distributions.mixture import Mixture, NormalMixture
from mixgraph.distributions.multivariate import MvNormal
from mixgraph.distributions.zero_inflated import ZeroInflatedPoisson

WEIGHTS = np.array([0.3, 0.7])
COUNT = 4000


def _nopython_draws(rv, seed=20261202):
    """Compile rv's draw with the Numba linker, failing on any warning (object mode warns)."""
    rng = rv.owner.inputs[0]
    rng.set_value(np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        function = pytensor.function([], rv, updates={rng: rv.owner.outputs[0]}, mode="NUMBA")
        first, second = function(), function()
    assert not np.array_equal(first, second)  # the generator advances between calls
    return first


def _normal_mixture_cdf(means, sigmas):
    return lambda x: sum(w * stats.norm(m, s).cdf(x) for w, m, s in zip(WEIGHTS, means, sigmas))


CONTINUOUS = {
    "list": (lambda: Mixture.dist(w=WEIGHTS, comp_dists=[Normal.dist(-2.0, 1.0), Normal.dist(3.0, 0.5)], size=(COUNT,)),
             _normal_mixture_cdf([-2.0, 3.0], [1.0, 0.5])),
    "batched": (lambda: Mixture.dist(w=WEIGHTS, comp_dists=Normal.dist(mu=[-2.0, 3.0], sigma=[1.0, 0.5]), size=(COUNT,)),
                _normal_mixture_cdf([-2.0, 3.0], [1.0, 0.5])),
    "batched, shared sigma": (lambda: Mixture.dist(w=WEIGHTS, comp_dists=Normal.dist(mu=[-2.0, 3.0], sigma=1.0), size=(COUNT,)),
                              _normal_mixture_cdf([-2.0, 3.0], [1.0, 1.0])),
    "NormalMixture": (lambda: NormalMixture.dist(w=WEIGHTS, mu=[-2.0, 3.0], sigma=[1.0, 0.5], size=(COUNT,)),
                      _normal_mixture_cdf([-2.0, 3.0], [1.0, 0.5])),
    "nested": (lambda: Mixture.dist(w=WEIGHTS, comp_dists=[
        Mixture.dist(w=[0.5, 0.5], comp_dists=[Normal.dist(-2.0, 1.0), Normal.dist(-2.0, 1.0)]), Normal.dist(3.0, 0.5),
    ], size=(COUNT,)), _normal_mixture_cdf([-2.0, 3.0], [1.0, 0.5])),
}


@pytest.mark.parametrize("name", list(CONTINUOUS))
def test_continuous_mixture_draws_nopython_and_match_cdf(name):
    build, cdf = CONTINUOUS[name]
    sample = _nopython_draws(build())
    assert sample.shape == (COUNT,)
    assert stats.kstest(sample, cdf).pvalue > 1e-3


def _chi_square_pvalue(sample, probabilities):
    observed = np.bincount(sample, minlength=len(probabilities))[: len(probabilities)]
    observed[-1] += np.sum(sample >= len(probabilities))
    expected = probabilities * len(sample)
    return stats.chisquare(observed, expected).pvalue


def test_discrete_mixture_and_zero_inflated_draws_nopython_and_match_pmf():
    support = np.arange(12)
    sample = _nopython_draws(Mixture.dist(w=WEIGHTS, comp_dists=Poisson.dist(mu=[1.0, 6.0]), size=(COUNT,)))
    pmf = WEIGHTS[0] * stats.poisson(1.0).pmf(support) + WEIGHTS[1] * stats.poisson(6.0).pmf(support)
    pmf[-1] = 1.0 - pmf[:-1].sum()
    assert sample.dtype.kind == "i" and _chi_square_pvalue(sample, pmf) > 1e-3
    sample = _nopython_draws(ZeroInflatedPoisson.dist(psi=0.6, mu=3.0, size=(COUNT,)))
    pmf = 0.6 * stats.poisson(3.0).pmf(support)
    pmf[0] += 0.4
    pmf[-1] = 1.0 - pmf[:-1].sum()
    assert _chi_square_pvalue(sample, pmf) > 1e-3


def test_multivariate_mixture_draws_nopython_keep_each_draw_in_one_component():
    means = [np.array([-10.0, -10.0]), np.array([10.0, 10.0])]
    rv = Mixture.dist(w=WEIGHTS, comp_dists=[MvNormal.dist(m, np.eye(2)) for m in means], size=(COUNT,))
    sample = _nopython_draws(rv)
    assert sample.shape == (COUNT, 2)
    assert np.all(np.sign(sample[:, 0]) == np.sign(sample[:, 1]))
    assert stats.binomtest(int(np.sum(sample[:, 0] > 0)), COUNT, WEIGHTS[1]).pvalue > 1e-3
