"""Multivariate distributions observed on several rows, with parameters broadcast across the rows, through sample().

Each row of the table is a model whose observed variable has batch shape
``(N,)`` while (some of) its parameters have none: the compiled path
(rewrites, data hoisting, Numba) must give the log-density and gradient of
the plain PyTensor graph, and ``sample()`` must run. One conjugate case also
checks the posterior mean.
"""

from __future__ import annotations

import functools

import numpy as np
import pytensor
import pytest
from pytensor.compile.mode import Mode

import mixgraph as mg
from mixgraph.compile import compile_numba_logp, flat_layout, flatten_point, unflatten_vector
from mixgraph.logprob import model_logp
from mixgraph.point import initial_point

COUNTS = np.array([[21, 9, 11, 6, 3], [36, 7, 6, 1, 0], [8, 31, 1, 10, 0]])
COV = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 1.5]])
ROWS = np.random.default_rng(3).multivariate_normal([1.0, -1.0, 0.5], COV, size=6)
SIMPLEX_ROWS = np.random.default_rng(4).dirichlet([2.0, 3.0, 4.0], size=6)
CHAINS, DRAWS = 2, 150
# The reference graph evaluated node by node, as written: no rewrite at all
# (FAST_COMPILE's rewrites cost more than the evaluations here).
UNREWRITTEN = Mode(linker="py", optimizer=None)
CORRELATIONS = np.asarray(mg.draw(mg.LKJCorr.dist(n=3, eta=2.0, size=(5,)), random_seed=5))


def multinomial():
    frac = mg.Dirichlet("frac", a=np.ones(5))
    mg.Multinomial("counts", n=50, p=frac, observed=COUNTS)


def multinomial_batched_n():
    frac = mg.Dirichlet("frac", a=np.ones(5))
    mg.Multinomial("counts", n=COUNTS.sum(axis=1), p=frac, observed=COUNTS)


def dirichlet():
    log_a = mg.Normal("log_a", 0.0, 1.0, shape=3)
    mg.Dirichlet("rows", a=mg.math.exp(log_a), observed=SIMPLEX_ROWS)


def mvnormal_cov():
    mu = mg.Normal("mu", 0.0, 3.0, shape=3)
    mg.MvNormal("rows", mu=mu, cov=COV, observed=ROWS)


def mvnormal_chol():
    mu = mg.Normal("mu", 0.0, 3.0, shape=3)
    mg.MvNormal("rows", mu=mu, chol=np.linalg.cholesky(COV), observed=ROWS)


def mvnormal_tau():
    mu = mg.Normal("mu", 0.0, 3.0, shape=3)
    mg.MvNormal("rows", mu=mu, tau=np.linalg.inv(COV), observed=ROWS)


def mvnormal_lkj_cholesky():
    mu = mg.Normal("mu", 0.0, 3.0, shape=3)
    chol, _, _ = mg.LKJCholeskyCov("chol", eta=2.0, n=3, sd_dist=mg.Exponential.dist(1.0, shape=3))
    mg.MvNormal("rows", mu=mu, chol=chol, observed=ROWS)


def categorical():
    p = mg.Dirichlet("p", a=np.ones(4))
    mg.Categorical("labels", p=p, observed=np.array([0, 3, 1, 1, 2, 0, 3]))


def lkj_corr():
    eta = mg.HalfNormal("eta", 3.0)
    mg.LKJCorr("correlations", n=3, eta=eta, observed=CORRELATIONS)


def mixture_mvnormal_list():
    w = mg.Dirichlet("w", a=np.ones(2))
    mu = mg.Normal("mu", 0.0, 3.0, shape=(2, 3))
    components = [mg.MvNormal.dist(mu[0], cov=COV), mg.MvNormal.dist(mu[1], cov=np.eye(3))]
    mg.Mixture("rows", w=w, comp_dists=components, observed=ROWS)


def mixture_mvnormal_batched():
    w = mg.Dirichlet("w", a=np.ones(2))
    mu = mg.Normal("mu", 0.0, 3.0, shape=(2, 3))
    mg.Mixture("rows", w=w, comp_dists=mg.MvNormal.dist(mu, cov=COV, shape=(2, 3)), observed=ROWS)


def mixture_dirichlet():
    w = mg.Dirichlet("w", a=np.ones(2))
    log_a = mg.Normal("log_a", 0.0, 1.0, shape=3)
    components = [mg.Dirichlet.dist(mg.math.exp(log_a)), mg.Dirichlet.dist(np.array([5.0, 1.0, 1.0]))]
    mg.Mixture("rows", w=w, comp_dists=components, observed=SIMPLEX_ROWS)


def mixture_multinomial():
    w = mg.Dirichlet("w", a=np.ones(2))
    frac = mg.Dirichlet("frac", a=np.ones(5), shape=(2, 5))
    components = [mg.Multinomial.dist(n=50, p=frac[0]), mg.Multinomial.dist(n=50, p=frac[1])]
    mg.Mixture("counts", w=w, comp_dists=components, observed=COUNTS)


MODELS = {function.__name__: function for function in [
    multinomial, multinomial_batched_n, dirichlet, mvnormal_cov, mvnormal_chol, mvnormal_tau,
    mvnormal_lkj_cholesky, categorical, lkj_corr, mixture_mvnormal_list, mixture_mvnormal_batched,
    mixture_dirichlet, mixture_multinomial,
]}


@functools.cache
def sampled_model(name: str) -> tuple:
    """The model of one row and its draws, built and sampled once per test session."""
    with mg.Model() as model:
        MODELS[name]()
    idata = mg.sample(draws=DRAWS, tune=DRAWS, chains=CHAINS, random_seed=11, model=model, progressbar=False,
                      compute_convergence_checks=False)
    return model, idata


@pytest.fixture(params=list(MODELS))
def sampled(request):
    return sampled_model(request.param)


def test_sample_runs_and_draws_are_finite(sampled):
    model, idata = sampled
    for rv in model.free_RVs:
        values = idata.posterior[rv.name].values
        assert values.shape[:2] == (CHAINS, DRAWS)
        assert np.all(np.isfinite(values)), rv.name


def _plain_logp_dlogp(model):
    """The joint log-density and its gradient, neither rewritten nor compiled (Python linker).

    Not ``compile_logp_dlogp(mode="FAST_COMPILE")``: that one differentiates the
    stabilised graph, and for the Multinomial mixture PyTensor 3.0.7's gradient of
    the rewritten graph, left unoptimised, mis-broadcasts (an IncSubtensor of a (5,)
    gradient into a (2, 1) buffer); the sampler's own function is fully rewritten.
    """
    values = model.value_vars
    logp = model_logp(model)
    function = pytensor.function(values, [logp, *pytensor.grad(logp, values)], mode=UNREWRITTEN)

    def evaluate(point):
        logp_value, *gradients = function(*[point[value.name] for value in values])
        return float(logp_value), {value.name: gradient for value, gradient in zip(values, gradients)}

    return evaluate


def test_compiled_logp_and_gradient_equal_the_plain_graph(sampled):
    model, _ = sampled
    point = initial_point(model)
    layout = flat_layout(point, [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout)
    reference = _plain_logp_dlogp(model)
    rng = np.random.default_rng(2)
    for _ in range(3):
        position = flatten_point(point, layout) + rng.normal(scale=0.3, size=layout.size)
        gradient = np.zeros(layout.size)
        value = compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
        expected_value, expected_gradient = reference(unflatten_vector(position, layout))
        assert np.isfinite(expected_value)
        np.testing.assert_allclose(value, expected_value, rtol=1e-9)
        expected = flatten_point(expected_gradient, layout)
        np.testing.assert_allclose(gradient, expected, rtol=1e-7, atol=1e-9)


def test_dirichlet_multinomial_posterior_mean_is_conjugate():
    """Dirichlet(1) prior, three multinomial rows: the posterior is Dirichlet(1 + column sums)."""
    _, idata = sampled_model("multinomial")
    concentration = 1.0 + COUNTS.sum(axis=0)
    mean = concentration / concentration.sum()
    standard_deviation = np.sqrt(mean * (1 - mean) / (concentration.sum() + 1))
    draws = idata.posterior["frac"].values.reshape(-1, 5)
    # 300 draws, effective size at least ~100: 5 standard errors of the mean
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 5 * standard_deviation / np.sqrt(100))
