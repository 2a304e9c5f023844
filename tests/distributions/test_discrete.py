"""Discrete univariate distributions against scipy.stats: one row per parameterisation."""

import numpy as np
import pytest
from scipy import special, stats

from checks import Case, applicable, case_ids, compile_function, seeded_draws
from mixgraph.distributions.discrete import Bernoulli, Binomial, Geometric, NegativeBinomial, Poisson
from mixgraph.distributions.discrete_bounded import Categorical, DiracDelta, DiscreteUniform
from mixgraph.logprob import logcdf, logp


def categorical_reference(p=None, logit_p=None):
    weights = special.softmax(logit_p) if logit_p is not None else np.asarray(p) / np.sum(p)
    return stats.rv_discrete(values=(np.arange(len(weights)), weights))


def negative_binomial_mu_alpha(mu, alpha):
    return stats.nbinom(alpha, alpha / (mu + alpha))


CASES = [
    Case("Bernoulli", Bernoulli, [dict(p=0.3), dict(p=0.85)], lambda p: stats.bernoulli(p), np.array([0, 1]),
         outside=np.array([-1, 2]), invalid=[(dict(p=1.5), "p")],
         invalid_symbolic=[dict(p=1.5), dict(p=-0.1)], discrete=True),
    Case("Bernoulli-edges", Bernoulli, [dict(p=0.0), dict(p=1.0)], lambda p: stats.bernoulli(p), np.array([0, 1]),
         outside=np.array([-1, 2]), discrete=True),
    Case("Bernoulli-logit_p", Bernoulli, [dict(logit_p=-1.2), dict(logit_p=2.0)],
         lambda logit_p: stats.bernoulli(special.expit(logit_p)), np.array([0, 1]), outside=np.array([3]),
         discrete=True),
    Case("Binomial", Binomial, [dict(n=10, p=0.35), dict(n=7, p=0.9)], lambda n, p: stats.binom(n, p),
         np.array([0, 1, 3, 7]), outside=np.array([-1, 11]), invalid=[(dict(n=-1, p=0.5), "n"), (dict(n=5, p=1.5), "p")],
         invalid_symbolic=[dict(n=10, p=1.2), dict(n=-2, p=0.5)], integer_parameters=("n",), discrete=True),
    Case("Binomial-edges", Binomial, [dict(n=6, p=0.0), dict(n=6, p=1.0)], lambda n, p: stats.binom(n, p),
         np.array([0, 3, 6]), outside=np.array([-1, 7]), integer_parameters=("n",), discrete=True),
    Case("Binomial-logit_p", Binomial, [dict(n=12, logit_p=0.4)],
         lambda n, logit_p: stats.binom(n, special.expit(logit_p)), np.array([0, 5, 12]), outside=np.array([13]),
         integer_parameters=("n",), discrete=True),
    Case("Poisson", Poisson, [dict(mu=3.5), dict(mu=0.4), dict(mu=25.0)], lambda mu: stats.poisson(mu),
         np.array([0, 1, 4, 9]), edges=np.array([0, 60]), outside=np.array([-1]), invalid=[(dict(mu=-1.0), "mu")],
         invalid_symbolic=[dict(mu=-1.0)], discrete=True),
    Case("Poisson-zero", Poisson, [dict(mu=0.0)], lambda mu: stats.poisson(mu), np.array([0, 2]),
         outside=np.array([-1]), discrete=True),
    Case("NegativeBinomial", NegativeBinomial, [dict(mu=3.0, alpha=2.5), dict(mu=10.0, alpha=0.7)],
         negative_binomial_mu_alpha, np.array([0, 1, 4, 12]), edges=np.array([150]), outside=np.array([-1]),
         invalid=[(dict(mu=-3.0, alpha=1.0), "mu"), (dict(mu=3.0, alpha=0.0), "alpha")],
         invalid_symbolic=[dict(mu=3.0, alpha=-1.0)], discrete=True),
    Case("NegativeBinomial-p-n", NegativeBinomial, [dict(p=0.4, n=3.5), dict(p=0.9, n=1.0)],
         lambda p, n: stats.nbinom(n, p), np.array([0, 2, 9]), outside=np.array([-2]),
         invalid=[(dict(p=1.4, n=2.0), "p"), (dict(p=0.5, n=-2.0), "n")],
         invalid_symbolic=[dict(p=1.4, n=2.0), dict(p=0.5, n=-1.0)], discrete=True),
    Case("Geometric", Geometric, [dict(p=0.3), dict(p=0.8)], lambda p: stats.geom(p), np.array([1, 2, 5]),
         edges=np.array([1, 40]), outside=np.array([0, -1]), invalid=[(dict(p=0.0), "p")],
         invalid_symbolic=[dict(p=1.3), dict(p=0.0)], discrete=True),
    Case("Categorical", Categorical, [dict(p=np.array([0.2, 0.3, 0.5])), dict(p=np.array([2.0, 1.0, 1.0]))],
         categorical_reference, np.array([0, 1, 2]), outside=np.array([-1, 3]),
         invalid=[(dict(p=np.array([-0.1, 0.5, 0.6])), "p")], invalid_symbolic=[dict(p=np.array([-0.1, 0.6, 0.5]))],
         batched=dict(p=np.tile([0.2, 0.3, 0.5], (3, 1))), discrete=True),
    Case("Categorical-logit_p", Categorical, [dict(logit_p=np.array([0.1, -1.0, 2.0]))], categorical_reference,
         np.array([0, 1, 2]), outside=np.array([3]), batched=dict(logit_p=np.zeros((3, 4))), discrete=True),
    Case("DiscreteUniform", DiscreteUniform, [dict(lower=-2, upper=5), dict(lower=3, upper=3)],
         lambda lower, upper: stats.randint(lower, upper + 1), np.array([-2, 0, 3, 5]), outside=np.array([-3, 6]),
         invalid=[(dict(lower=3, upper=1), "upper")], invalid_symbolic=[dict(lower=3, upper=1)],
         integer_parameters=("lower", "upper"), discrete=True),
    Case("DiracDelta", DiracDelta, [dict(c=3)], lambda c: stats.rv_discrete(values=([c], [1.0])), np.array([3]),
         outside=np.array([2, 4]), integer_parameters=("c",), discrete=True),
]


@pytest.mark.parametrize("case, check", applicable(CASES))
def test_distribution(case, check):
    check(case)


def test_dirac_delta_float():
    rv = DiracDelta.dist(c=np.array([0.5, -1.5]), size=(4, 2))
    assert rv.dtype == "float64" and DiracDelta.dist(c=2).dtype == "int64"
    draws = seeded_draws(rv, 3)
    np.testing.assert_array_equal(draws, np.tile([0.5, -1.5], (4, 1)))
    density, cumulative = compile_function([], [logp(rv, np.array([0.5, 0.0])), logcdf(rv, np.array([0.4, 0.0]))])()
    assert density.dtype == cumulative.dtype == np.float64
    np.testing.assert_array_equal(density.ravel(), [0.0, -np.inf])
    np.testing.assert_array_equal(cumulative.ravel(), [-np.inf, 0.0])


def test_parameterisations_are_exclusive():
    with pytest.raises(ValueError, match="p or logit_p"):
        Bernoulli.dist(p=0.5, logit_p=0.0)
    with pytest.raises(ValueError, match="mu and alpha, or p and n"):
        NegativeBinomial.dist(mu=1.0, n=2.0)
    with pytest.raises(ValueError, match="p or logit_p"):
        Categorical.dist()


def test_poisson_logcdf_far_tail_is_finite():
    rv = Poisson.dist(mu=2.0)
    points = np.array([0, 25])
    result = compile_function([], logcdf(rv, points))()
    np.testing.assert_allclose(result, stats.poisson(2.0).logcdf(points), rtol=1e-10)
