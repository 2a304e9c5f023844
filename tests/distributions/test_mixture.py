"""Tests of Mixture and NormalMixture (issue 3, section 7)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from scipy import optimize, special, stats

import mixgraph.math
from mixgraph.distributions.continuous import Exponential, HalfNormal, Normal
from mixgraph.distributions.continuous_bounded import Uniform
from mixgraph.distributions.discrete import Poisson
from mixgraph.distributions.heavy_tailed import HalfStudentT, StudentT
from mixgraph.distributions.mixture import Mixture, NormalMixture
from mixgraph.distributions.multivariate import Dirichlet, MvNormal
from mixgraph.distributions.positive import LogNormal
from mixgraph.logprob import icdf, logcdf, logp, model_logp
from mixgraph.model import Model
from mixgraph import transforms

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)

MODE = Mode(linker="py", optimizer="fast_compile")
mg = SimpleNamespace(
    Model=Model, Normal=Normal, StudentT=StudentT, Poisson=Poisson, Exponential=Exponential,
    Dirichlet=Dirichlet, Mixture=Mixture, math=mixgraph.math,
)


def evaluate(*outputs):
    return pytensor.function([], list(outputs), mode=MODE)()


def draws(rv, count, seed):
    rng = rv.owner.inputs[0]
    rng.set_value(np.random.default_rng(seed))
    function = pytensor.function([], rv, updates={rng: rv.owner.outputs[0]}, mode=MODE)
    return np.stack([function() for _ in range(count)])


# ---------------------------------------------------------------- documentation examples
def poisson_example(batched):
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.array([1, 1]))
        lam1 = mg.Exponential("lam1", lam=1)
        lam2 = mg.Exponential("lam2", lam=1)
        if batched:
            components = mg.Poisson.dist(mu=mg.math.stack([lam1, lam2]), shape=(2,))
        else:
            components = [mg.Poisson.dist(mu=lam1), mg.Poisson.dist(mu=lam2)]
        mg.Mixture("like", w=w, comp_dists=components, observed=np.array([0, 1, 5, 7, 2, 9]))
    return model


def normal_studentt_example():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 1)
        w = mg.Dirichlet("w", a=np.array([1, 1]))
        components = [mg.Normal.dist(mu=mu, sigma=1), mg.StudentT.dist(nu=4, mu=mu, sigma=1)]
        mg.Mixture("like", w=w, comp_dists=components, observed=NORMAL_STUDENTT_DATA)
    return model


NORMAL_STUDENTT_DATA = np.array([-0.5, 0.3, 2.0, 8.0])


def normal_5x3_example(batched):
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(3), shape=(5, 3))
        mu = mg.Normal("mu", mu=np.arange(3), sigma=1, shape=3)
        if batched:
            components = mg.Normal.dist(mu=mu, sigma=1, shape=(5, 3))
        else:
            components = [mg.Normal.dist(mu=mu[i], sigma=1, shape=(5,)) for i in range(3)]
        like = mg.Mixture("like", w=w, comp_dists=components, observed=np.array([0.0, 1.0, 2.0, -1.0, 4.0]))
    assert like.type.shape == (5,)
    return model


def dirichlet_example(batched):
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.array([1, 1]))
        if batched:
            components = mg.Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]], shape=(2, 3))
        else:
            components = [mg.Dirichlet.dist(a=[1, 10, 100], shape=(3,)),
                          mg.Dirichlet.dist(a=[100, 10, 1], shape=(3,))]
        mg.Mixture("like", w=w, comp_dists=components, observed=np.array([[0.2, 0.3, 0.5], [0.01, 0.09, 0.9]]))
    return model


def random_point(model, rng):
    point = []
    for rv in model.free_RVs:
        transform = model.rvs_to_transforms[rv]
        unconstrained = rv if transform is None else transform.forward(rv, *rv.owner.op.dist_params(rv.owner))
        shape = pytensor.function([], unconstrained.shape, mode=MODE)()
        point.append(rng.normal(size=tuple(shape)) * 0.5)
    return point


@pytest.mark.parametrize("example", [poisson_example, normal_5x3_example, dirichlet_example])
def test_documentation_examples_list_equals_batched(example):
    values = []
    point = None
    for batched in (False, True):
        model = example(batched)
        point = point if point is not None else random_point(model, np.random.default_rng(0))
        function = pytensor.function(model.value_vars, model_logp(model), mode=MODE)
        values.append(float(function(*point)))
    assert np.isfinite(values[0])
    np.testing.assert_allclose(values[0], values[1], rtol=1e-12)


def test_documentation_normal_studentt_against_scipy():
    model = normal_studentt_example()
    point = random_point(model, np.random.default_rng(1))
    mu, w_free = point
    terms = model_logp(model, sum=False)
    function = pytensor.function(model.value_vars, terms[-1], mode=MODE)
    w = special.softmax(np.append(w_free, 0.0))
    reference = special.logsumexp(
        [np.log(w[0]) + stats.norm(mu, 1).logpdf(NORMAL_STUDENTT_DATA),
         np.log(w[1]) + stats.t(4, mu, 1).logpdf(NORMAL_STUDENTT_DATA)], axis=0)
    np.testing.assert_allclose(function(*point), reference, rtol=1e-10)


def test_components_are_cloned_and_reusable():
    component = Normal.dist(mu=1.0, sigma=2.0)
    mixture = Mixture.dist(w=[0.4, 0.6], comp_dists=[component, Normal.dist(-1.0, 1.0)])
    from pytensor.graph.traversal import ancestors

    assert component not in set(ancestors([mixture]))
    again = Mixture.dist(w=[0.5, 0.5], comp_dists=[component, component])
    value = np.array(0.3)
    np.testing.assert_allclose(evaluate(logp(again, value))[0], stats.norm(1, 2).logpdf(0.3), rtol=1e-12)


# ---------------------------------------------------------------- log-density against scipy
MV_MEANS = [np.array([0.0, 1.0]), np.array([2.0, -1.0])]
MV_COVS = [np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([[0.4, -0.1], [-0.1, 2.0]])]


def _nested():
    inner_normal = Mixture.dist(w=[0.3, 0.7], comp_dists=[Normal.dist(-1, 1), Normal.dist(2, 0.5)])
    inner_lognormal = Mixture.dist(w=[0.6, 0.4], comp_dists=LogNormal.dist(mu=[0.0, 1.0], sigma=[1.0, 0.3]))
    return Mixture.dist(w=[0.25, 0.75], comp_dists=[inner_normal, inner_lognormal])


def _nested_reference(x):
    normals = special.logsumexp([np.log(0.3) + stats.norm(-1, 1).logpdf(x), np.log(0.7) + stats.norm(2, 0.5).logpdf(x)], axis=0)
    lognormals = special.logsumexp([np.log(0.6) + stats.lognorm(1.0, scale=1.0).logpdf(x),
                                    np.log(0.4) + stats.lognorm(0.3, scale=np.e).logpdf(x)], axis=0)
    return special.logsumexp([np.log(0.25) + normals, np.log(0.75) + lognormals], axis=0)


LOGP_CASES = {
    "normal": (
        lambda: Mixture.dist(w=[0.2, 0.8], comp_dists=Normal.dist(mu=[-1.0, 3.0], sigma=[0.5, 2.0])),
        np.array([-1.0, 0.0, 2.5, 1e6, -1e6]),
        lambda x: special.logsumexp([np.log(0.2) + stats.norm(-1, 0.5).logpdf(x), np.log(0.8) + stats.norm(3, 2).logpdf(x)], axis=0),
    ),
    "poisson": (
        lambda: Mixture.dist(w=[0.6, 0.4], comp_dists=[Poisson.dist(mu=1.5), Poisson.dist(mu=9.0)]),
        np.array([0, 1, 4, 10, 30]),
        lambda x: special.logsumexp([np.log(0.6) + stats.poisson(1.5).logpmf(x), np.log(0.4) + stats.poisson(9.0).logpmf(x)], axis=0),
    ),
    "two mvnormals": (
        lambda: Mixture.dist(w=[0.35, 0.65], comp_dists=[MvNormal.dist(mu=MV_MEANS[k], cov=MV_COVS[k]) for k in range(2)]),
        np.array([[0.0, 0.0], [2.0, -1.0], [5.0, 3.0]]),
        lambda x: special.logsumexp([np.log(0.35) + stats.multivariate_normal(MV_MEANS[0], MV_COVS[0]).logpdf(x),
                                     np.log(0.65) + stats.multivariate_normal(MV_MEANS[1], MV_COVS[1]).logpdf(x)], axis=0),
    ),
    "dirichlet": (
        lambda: Mixture.dist(w=[0.5, 0.5], comp_dists=Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]], shape=(2, 3))),
        np.array([[0.2, 0.3, 0.5], [0.01, 0.09, 0.9], [0.9, 0.09, 0.01]]),
        lambda x: np.array([special.logsumexp([np.log(0.5) + stats.dirichlet([1, 10, 100]).logpdf(v),
                                               np.log(0.5) + stats.dirichlet([100, 10, 1]).logpdf(v)]) for v in x]),
    ),
    "mixture of mixtures": (_nested, np.array([0.1, 0.5, 2.0, 3.0]), _nested_reference),
}


@pytest.mark.parametrize("case", list(LOGP_CASES))
def test_logp_against_scipy(case):
    build, values, reference = LOGP_CASES[case]
    mixture = build()
    batch_shape = values.shape[: values.ndim - mixture.owner.op.ndim_supp]
    value = pt.as_tensor(values, dtype=mixture.dtype)
    result = evaluate(logp(mixture, value))[0]
    assert result.shape == batch_shape
    np.testing.assert_allclose(result, reference(values), rtol=1e-9)


def test_logcdf_and_icdf_against_scipy():
    mixture = Mixture.dist(w=[0.3, 0.7], comp_dists=[Normal.dist(-2.0, 1.0), StudentT.dist(nu=3, mu=4.0, sigma=0.5)])
    x = np.array([-4.0, -2.0, 0.0, 4.0, 9.0])
    cdf = lambda t: 0.3 * stats.norm(-2, 1).cdf(t) + 0.7 * stats.t(3, 4, 0.5).cdf(t)  # noqa: E731
    quantiles = np.array([1e-4, 0.1, 0.3, 0.5, 0.9, 0.9999])
    computed_logcdf, computed_icdf = evaluate(logcdf(mixture, x), icdf(mixture, quantiles))
    np.testing.assert_allclose(computed_logcdf, np.log(cdf(x)), rtol=1e-10)
    expected = [optimize.brentq(lambda t, q=q: cdf(t) - q, -100, 100, xtol=1e-13) for q in quantiles]
    np.testing.assert_allclose(computed_icdf, expected, rtol=1e-9, atol=1e-9)


def test_discrete_icdf_is_smallest_integer_reaching_quantile():
    mixture = Mixture.dist(w=[0.5, 0.5], comp_dists=Poisson.dist(mu=[1.0, 20.0]))
    quantiles = np.array([0.1, 0.5, 0.51, 0.9])
    computed = evaluate(icdf(mixture, quantiles))[0]
    support = np.arange(80)
    cdf = 0.5 * stats.poisson(1).cdf(support) + 0.5 * stats.poisson(20).cdf(support)
    expected = [support[np.argmax(cdf >= q)] for q in quantiles]
    np.testing.assert_array_equal(computed, expected)


# ---------------------------------------------------------------- safety of value and gradient
SAFETY_CASES = {
    "zero weight": ([0.0, 1.0], [0.0, 3.0], 0.5),
    "value outside one component's support": ([0.5, 0.5], None, -1.0),
    "extreme value": ([0.5, 0.5], [0.0, 3.0], 1e6),
    "tiny weight": ([1e-300, 1.0 - 1e-300], [0.0, 3.0], -1e6),
}


@pytest.mark.parametrize("case", list(SAFETY_CASES))
def test_value_and_gradient_finite(case):
    weights_value, means, y = SAFETY_CASES[case]
    weights = pt.vector("w")
    location = pt.vector("mu")
    if means is None:  # HalfNormal has log-density -inf at y < 0
        components = [HalfNormal.dist(sigma=pt.exp(location[0])), Normal.dist(location[1], 1.0)]
        means = [0.0, 0.0]
    else:
        components = Normal.dist(mu=location, sigma=1.0)
    mixture = Mixture.dist(w=weights, comp_dists=components)
    density = logp(mixture, np.float64(y))
    function = pytensor.function([weights, location], [density, *pytensor.grad(density, [weights, location])], mode=MODE)
    value, weight_gradient, location_gradient = function(np.array(weights_value), np.array(means))
    assert np.isfinite(value)
    assert np.all(np.isfinite(weight_gradient)) and np.all(np.isfinite(location_gradient))
    reference = special.logsumexp(
        [np.log(w) + stats.norm(m, 1).logpdf(y) if not (case.startswith("value") and k == 0) else -np.inf
         for k, (w, m) in enumerate(zip(weights_value, means))]
    )
    np.testing.assert_allclose(value, reference, rtol=1e-10)


def test_all_components_neginf_gives_neginf_and_zero_gradient():
    location = pt.scalar("mu")
    mixture = Mixture.dist(w=[0.5, 0.5], comp_dists=[HalfNormal.dist(sigma=pt.exp(location)), Exponential.dist(lam=pt.exp(location))])
    density = logp(mixture, np.float64(-1.0))
    value, gradient = pytensor.function([location], [density, pytensor.grad(density, location)], mode=MODE)(0.0)
    assert value == -np.inf and gradient == 0.0


def test_symbolic_weights_off_simplex_give_neginf():
    weights = pt.vector("w")
    mixture = Mixture.dist(w=weights, comp_dists=Normal.dist(mu=[0.0, 1.0]))
    function = pytensor.function([weights], logp(mixture, np.float64(0.0)), mode=MODE)
    assert np.isfinite(function(np.array([0.3, 0.7])))
    assert function(np.array([-0.1, 1.1])) == -np.inf
    assert function(np.array([0.5, 0.6])) == -np.inf


def test_logit_weights():
    mixture = Mixture.dist(logit_w=[0.0, np.log(3.0)], comp_dists=Normal.dist(mu=[0.0, 1.0]))
    expected = special.logsumexp([np.log(0.25) + stats.norm(0, 1).logpdf(0.2), np.log(0.75) + stats.norm(1, 1).logpdf(0.2)])
    np.testing.assert_allclose(evaluate(logp(mixture, np.float64(0.2)))[0], expected, rtol=1e-12)


# ---------------------------------------------------------------- draws
def _one_hot_case(form, size):
    weights = [0.0, 1.0, 0.0]
    if form == "list univariate":
        return Mixture.dist(w=weights, comp_dists=[Normal.dist(-100.0, 0.01), Normal.dist(5.0, 0.01), Normal.dist(100.0, 0.01)], size=size), (5.0,)
    if form == "batched univariate":
        return Mixture.dist(w=weights, comp_dists=Normal.dist(mu=[-100.0, 5.0, 100.0], sigma=0.01), size=size), (5.0,)
    means = [np.array([-100.0, 0.0]), np.array([5.0, -5.0]), np.array([100.0, 0.0])]
    if form == "list multivariate":
        return Mixture.dist(w=weights, comp_dists=[MvNormal.dist(mu=m, cov=1e-4 * np.eye(2)) for m in means], size=size), means[1]
    return Mixture.dist(w=weights, comp_dists=MvNormal.dist(mu=np.stack(means), cov=1e-4 * np.eye(2)), size=size), means[1]


@pytest.mark.parametrize("size", [None, (3,), (4, 3)])
@pytest.mark.parametrize("form", ["list univariate", "batched univariate", "list multivariate", "batched multivariate"])
def test_one_hot_weights_select_component(form, size):
    mixture, selected_mean = _one_hot_case(form, size)
    sample = draws(mixture, 5, seed=3)
    support = np.shape(selected_mean) if form.endswith("multivariate") else ()
    assert sample.shape == (5,) + (size or ()) + tuple(support)[: 1 if support else 0]
    np.testing.assert_allclose(sample, np.broadcast_to(selected_mean, sample.shape), atol=0.1)
    assert len(np.unique(sample)) == sample.size  # continuous draws, each distinct
    value = sample[0]
    component_density = stats.norm(5.0, 0.01).logpdf(value) if not support else stats.multivariate_normal(selected_mean, 1e-4 * np.eye(2)).logpdf(value)
    np.testing.assert_allclose(evaluate(logp(mixture, value))[0], component_density, rtol=1e-10)


def test_index_redrawn_every_time():
    mixture = Mixture.dist(w=[0.5, 0.5], comp_dists=[Normal.dist(-10.0, 1e-3), Normal.dist(10.0, 1e-3)])
    sample = draws(mixture, 20, seed=0)
    assert (sample < 0).any() and (sample > 0).any()
    np.testing.assert_allclose(np.abs(sample), 10.0, atol=0.01)


SHAPE_CASES = [  # (weights shape, component form, size, expected mixture shape)
    ((2,), "batched (2,)", (20,), (20,)),
    ((20, 2), "batched (2,)", None, (20,)),
    ((2,), "batched (20, 2)", None, (20,)),
    ((20, 2), "batched (20, 2)", None, (20,)),
    ((2,), "list ()", (20,), (20,)),
    ((2,), "list (20,)", None, (20,)),
    ((20, 2), "list ()", None, (20,)),
    ((2,), "list ()", (4, 20), (4, 20)),
    ((5, 3), "batched (5, 3)", None, (5,)),
]


def _components(form):
    if form.startswith("batched"):
        shape = eval(form.split(" ", 1)[1])
        return Poisson.dist(mu=np.full(shape, 3.0) * np.arange(1, shape[-1] + 1), shape=shape)
    shape = eval(form.split(" ", 1)[1])
    return [Poisson.dist(mu=2.0, shape=shape or None), Poisson.dist(mu=9.0, shape=shape or None)]


@pytest.mark.parametrize("weights_shape, form, size, expected", SHAPE_CASES)
def test_shapes(weights_shape, form, size, expected):
    weights = np.full(weights_shape, 1.0 / weights_shape[-1])
    mixture = Mixture.dist(w=weights, comp_dists=_components(form), size=size)
    assert draws(mixture, 3, seed=1).shape == (3,) + expected
    assert evaluate(mixture.shape)[0].tolist() == list(expected)


def test_observed_fixes_shape_in_model():
    with Model():
        like = Mixture("like", w=[0.5, 0.5], comp_dists=Poisson.dist(mu=[1.0, 5.0], shape=(2,)), observed=np.arange(20))
    assert like.type.shape == (20,) and like.dtype == "int64"


def test_scalar_components_mix_element_by_element_and_match_latent_index_model():
    weights = np.array([0.3, 0.7])
    mixture = Mixture.dist(w=weights, comp_dists=[Normal.dist(-3.0, 1.0), Normal.dist(2.0, 0.5)], size=(3,))
    sample = draws(mixture, 2000, seed=5)
    signs = np.sign(sample)
    assert np.any(np.abs(signs.sum(axis=1)) < 3)  # some draws mix components across elements
    rng = np.random.default_rng(6)
    index = rng.choice(2, p=weights, size=4000)
    latent = np.where(index == 0, rng.normal(-3.0, 1.0, 4000), rng.normal(2.0, 0.5, 4000))
    for element in range(3):
        assert stats.ks_2samp(sample[:, element], latent).pvalue > 1e-3
    assert stats.ks_2samp(sample[:, 0] + 10.0, latent).pvalue < 1e-6  # the test has power
    value = np.array([-3.0, 0.1, 2.0])
    latent_logp = special.logsumexp([np.log(0.3) + stats.norm(-3, 1).logpdf(value), np.log(0.7) + stats.norm(2, 0.5).logpdf(value)], axis=0)
    np.testing.assert_allclose(evaluate(logp(mixture, value))[0], latent_logp, rtol=1e-12)


def test_vector_components_keep_each_draw_from_one_component():
    weights = np.array([0.4, 0.6])
    means = [np.array([-5.0, -5.0, -5.0]), np.array([5.0, 5.0, 5.0])]
    mixture = Mixture.dist(w=weights, comp_dists=[MvNormal.dist(mu=m, cov=np.eye(3)) for m in means])
    sample = draws(mixture, 1500, seed=7)
    signs = np.sign(sample)
    assert np.all(np.abs(signs.sum(axis=1)) == 3)
    fraction_negative = np.mean(signs[:, 0] < 0)
    assert abs(fraction_negative - 0.4) < 4 * np.sqrt(0.24 / 1500)
    rng = np.random.default_rng(8)
    index = rng.choice(2, p=weights, size=3000)
    latent = np.where(index == 0, -5.0, 5.0) + rng.normal(size=3000)
    assert stats.ks_2samp(sample[:, 1], latent).pvalue > 1e-3
    value = np.array([0.5, -1.0, 2.0])
    latent_logp = special.logsumexp([np.log(w) + stats.multivariate_normal(m, np.eye(3)).logpdf(value) for w, m in zip(weights, means)])
    np.testing.assert_allclose(evaluate(logp(mixture, value))[0], latent_logp, rtol=1e-12)


def test_numba_linker_draws_in_nopython_mode():
    """No object-mode fallback (it warns); distribution checks: test_mixture_numba.py."""
    mixture = Mixture.dist(w=[0.5, 0.5], comp_dists=Normal.dist(mu=[-10.0, 10.0], sigma=0.1), size=(50,))
    rng = mixture.owner.inputs[0]
    rng.set_value(np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        function = pytensor.function([], mixture, updates={rng: mixture.owner.outputs[0]}, mode="NUMBA")
        sample = function()
    assert sample.shape == (50,) and (sample < 0).any() and (sample > 0).any()


# ---------------------------------------------------------------- default transforms
TRANSFORM_CASES = {  # components -> (expected transform class or None, warns)
    "poisson": (lambda: Poisson.dist(mu=[1.0, 4.0]), None, False),
    "normal": (lambda: Normal.dist(mu=[0.0, 1.0]), None, False),
    "uniform": (lambda: Uniform.dist(lower=0.0, upper=1.0, shape=(2,)), transforms.IntervalTransform, False),
    "halfnormal": (lambda: HalfNormal.dist(sigma=[1.0, 2.0]), transforms.LogTransform, False),
    "halfnormal + normal": (lambda: [HalfNormal.dist(1.0), Normal.dist(0.0, 1.0)], None, True),
    "halfnormal + exponential + halfstudentt": (
        lambda: [HalfNormal.dist(1.0), Exponential.dist(lam=1.0), HalfStudentT.dist(nu=3, sigma=1.0)], transforms.LogTransform, False),
    "dirichlet + dirichlet": (
        lambda: [Dirichlet.dist(a=[1.0, 2.0, 3.0]), Dirichlet.dist(a=[3.0, 2.0, 1.0])], transforms.SimplexTransform, False),
    "uniform(0, 1) + uniform(0, 2)": (lambda: [Uniform.dist(0.0, 1.0), Uniform.dist(0.0, 2.0)], None, True),
    "uniform(0, 1) batched with different upper": (lambda: Uniform.dist(lower=0.0, upper=[1.0, 2.0]), None, True),
}


def _latent_mixture(components, **kwargs):
    with Model() as model:
        count = len(components) if isinstance(components, list) else 2
        x = Mixture("x", w=np.full(count, 1.0 / count), comp_dists=components, **kwargs)
    return model, x


@pytest.mark.parametrize("case", list(TRANSFORM_CASES))
def test_default_transform(case):
    build, expected, warns = TRANSFORM_CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, x = _latent_mixture(build())
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning) and "transform" in str(w.message)]
    assert bool(messages) == warns
    if warns and isinstance(build(), list):
        assert "component 0" in messages[0] and "component 1" in messages[0]
    elif warns:
        assert "Uniform" in messages[0] and "different bounds" in messages[0]
    transform = model.rvs_to_transforms[x]
    if expected is None:
        assert transform is None
    else:
        assert isinstance(getattr(transform, "inner", transform), expected)


def test_interval_transform_of_mixture_round_trips():
    model, x = _latent_mixture([Uniform.dist(-1.0, 3.0), Uniform.dist(-1.0, 3.0)])
    transform = model.rvs_to_transforms[x]
    parameters = x.owner.op.dist_params(x.owner)
    value = np.array(2.5)
    forward = transform.forward(pt.as_tensor(value), *parameters)
    np.testing.assert_allclose(evaluate(transform.backward(forward, *parameters))[0], 2.5)
    np.testing.assert_allclose(evaluate(forward)[0], np.log(3.5) - np.log(0.5))


def test_symbolic_equal_bounds_share_the_interval_transform():
    with Model() as model:
        upper = HalfNormal("upper", 1.0)
        x = Mixture("x", w=[0.5, 0.5], comp_dists=[Uniform.dist(0.0, upper), Uniform.dist(0.0, upper)])
    assert isinstance(model.rvs_to_transforms[x].inner, transforms.IntervalTransform)


@pytest.mark.parametrize("kwargs", [{"transform": transforms.log}, {"default_transform": None}])
def test_explicit_transform_is_silent(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model, x = _latent_mixture([HalfNormal.dist(1.0), Normal.dist(0.0, 1.0)], **kwargs)
    expected = kwargs.get("transform")
    assert model.rvs_to_transforms[x] is expected


# ---------------------------------------------------------------- support point
def test_support_point_weighted_mean_rounded_for_discrete():
    from mixgraph.registry import SUPPORT_POINT

    continuous = Mixture.dist(w=[0.25, 0.75], comp_dists=[Normal.dist(-4.0, 1.0), Normal.dist(4.0, 1.0)], size=(2,))
    discrete = Mixture.dist(w=[0.5, 0.5], comp_dists=Poisson.dist(mu=[1.0, 4.0]))
    points = [SUPPORT_POINT.get(rv.owner.op)(rv, *rv.owner.op.dist_params(rv.owner)) for rv in (continuous, discrete)]
    continuous_point, discrete_point = evaluate(*points)
    np.testing.assert_allclose(continuous_point, [2.0, 2.0])
    assert discrete_point == 2 and discrete_point.dtype.kind == "i"  # round(2.5) to even, as numpy


# ---------------------------------------------------------------- errors
ERROR_CASES = {
    "weights length, list": (lambda: Mixture.dist(w=[0.2, 0.3, 0.5], comp_dists=[Normal.dist(), Normal.dist()]), ValueError, r"last axis has length 3.*2 components"),
    "weights length, batched": (lambda: Mixture.dist(w=[0.5, 0.5], comp_dists=Normal.dist(mu=[0.0, 1.0, 2.0])), ValueError, r"length 2.*3 components.*batch shape \(3,\)"),
    "support dimensionality": (lambda: Mixture.dist(w=[0.5, 0.5], comp_dists=[Normal.dist(), MvNormal.dist(mu=np.zeros(2), cov=np.eye(2))]), ValueError, r"support dimensionality.*Normal: 0.*MvNormal: 1"),
    "discrete and continuous": (lambda: Mixture.dist(w=[0.5, 0.5], comp_dists=[Poisson.dist(mu=1.0), Normal.dist()]), TypeError, r"discrete and continuous.*Poisson is discrete.*Normal is continuous"),
    "named model variable": (lambda: _named_component(), TypeError, r"named model variable 'y'.*Normal.dist"),
    "arithmetic expression": (lambda: Mixture.dist(w=[0.5, 0.5], comp_dists=[2 * Normal.dist(), Normal.dist()]), TypeError, r"comp_dists\[0\] is the expression.*not a distribution.*parameters instead"),
    "plain array": (lambda: Mixture.dist(w=[0.5, 0.5], comp_dists=[np.zeros(3), Normal.dist()]), TypeError, r"comp_dists\[0\] is a ndarray.*\.dist\(\)"),
    "constant": (lambda: Mixture.dist(w=[0.5, 0.5], comp_dists=[Normal.dist(), 1.0]), TypeError, r"comp_dists\[1\] is a float"),
    "weights batch": (lambda: Mixture.dist(w=np.full((4, 3), 1 / 3), comp_dists=Normal.dist(mu=np.zeros((5, 3)))), ValueError, r"batch shape \(4,\).*cannot broadcast.*\(5,\)"),
    "empty list": (lambda: Mixture.dist(w=[1.0], comp_dists=[]), ValueError, r"comp_dists is an empty list"),
    "negative weights": (lambda: Mixture.dist(w=[-0.5, 1.5], comp_dists=Normal.dist(mu=[0.0, 1.0])), ValueError, r"w must be non-negative"),
    "weights not summing to 1": (lambda: Mixture.dist(w=[0.5, 0.6], comp_dists=Normal.dist(mu=[0.0, 1.0])), ValueError, r"w must sum to 1.*1\.1"),
    "no mixture axis": (lambda: Mixture.dist(w=[0.5, 0.5], comp_dists=Normal.dist()), ValueError, r"batch shape \(\), so it has no axis"),
}


def _named_component():
    with Model():
        y = Normal("y", 0.0, 1.0)
        return Mixture.dist(w=[0.5, 0.5], comp_dists=[y, Normal.dist()])


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_construction_errors(case):
    build, error, pattern = ERROR_CASES[case]
    with pytest.raises(error, match=pattern):
        build()


def test_single_component_list_warns_and_is_batched():
    with pytest.warns(UserWarning, match="single component.*last batch axis"):
        mixture = Mixture.dist(w=[0.5, 0.5], comp_dists=[Normal.dist(mu=[-1.0, 1.0])])
    assert mixture.type.shape == () and mixture.owner.op.batched


def test_normal_mixture_equals_mixture():
    value = np.array([-1.0, 0.5, 3.0])
    nm = NormalMixture.dist(w=[0.2, 0.8], mu=[-1.0, 2.0], sigma=[0.5, 1.5])
    tau = NormalMixture.dist(w=[0.2, 0.8], mu=[-1.0, 2.0], tau=1 / np.array([0.5, 1.5]) ** 2)
    reference = special.logsumexp([np.log(0.2) + stats.norm(-1, 0.5).logpdf(value), np.log(0.8) + stats.norm(2, 1.5).logpdf(value)], axis=0)
    for result in evaluate(logp(nm, value), logp(tau, value)):
        np.testing.assert_allclose(result, reference, rtol=1e-12)


# ------------------------------------------------------- NormalMixture(comp_shape=...)
def _two_normals_reference(value, weights, mu, sigma):
    terms = [np.log(w) + stats.norm(m, s).logpdf(value) for w, m, s in zip(weights, mu, sigma)]
    return special.logsumexp(terms, axis=0)


@pytest.mark.parametrize(
    "keywords, shape",
    [(dict(comp_shape=(4, 2)), (4,)), (dict(comp_shape=(2,), shape=4), (4,)), (dict(comp_shape=2, size=(4,)), (4,)),
     (dict(comp_shape=(3, 4, 2)), (3, 4))],
    ids=["comp_shape=(N,K)", "comp_shape=(K,),shape=N", "comp_shape=K,size=N", "comp_shape=(M,N,K)"],
)
def test_normal_mixture_comp_shape(keywords, shape):
    """comp_shape is the components' shape, as in PyMC: the mixture has its leading axes (or shape=)."""
    weights, mu, sigma = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.5, 1.5])
    mixture = NormalMixture.dist(w=weights, mu=mu, sigma=sigma, **keywords)
    assert mixture.type.shape == shape
    value = np.linspace(-2.0, 4.0, int(np.prod(shape))).reshape(shape)
    (result,) = evaluate(logp(mixture, value))
    np.testing.assert_allclose(result, _two_normals_reference(value, weights, mu, sigma), rtol=1e-12)


def test_normal_mixture_comp_shape_draws_against_the_mixture():
    weights, mu, sigma = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.5, 1.5])
    mixture = NormalMixture.dist(w=weights, mu=mu, sigma=sigma, comp_shape=(2000, 2))
    mixture.owner.inputs[0].set_value(np.random.default_rng(4))
    (draws,) = evaluate(mixture)
    rng = np.random.default_rng(5)
    labels = rng.choice(2, size=4000, p=weights)
    reference = rng.normal(mu[labels], sigma[labels])
    assert draws.shape == (2000,) and stats.ks_2samp(draws, reference).pvalue > 1e-3


def test_normal_mixture_comp_shape_per_row_parameters_in_a_model():
    """mu of shape (N, K) with comp_shape=(N, K), observed on N points: one term per point."""
    mu = np.array([[-1.0, 1.0], [0.0, 4.0], [2.0, 3.0]])
    data = np.array([0.2, 3.5, 2.4])
    with Model() as model:
        NormalMixture("y", w=[0.4, 0.6], mu=mu, sigma=1.0, comp_shape=(3, 2), observed=data)
    (result,) = evaluate(logp(model["y"], data))
    expected = [_two_normals_reference(x, [0.4, 0.6], row, [1.0, 1.0]) for x, row in zip(data, mu)]
    np.testing.assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "keywords, pattern",
    [(dict(mu=[-1.0, 2.0], comp_shape=(4, 3)), r"comp_shape \(4, 3\) ends in 3, but w has 2 components.*comp_shape=\(4, 2\)"),
     (dict(mu=[-1.0, 2.0], comp_shape=(4,)), r"comp_shape \(4,\) ends in 4.*comp_shape=\(2,\)"),
     (dict(mu=np.zeros((3, 2)), comp_shape=(4, 2)), r"mu of shape \(3, 2\) does not broadcast to comp_shape \(4, 2\)"),
     (dict(mu=[-1.0, 2.0], sigma=np.ones((5, 2)), comp_shape=(4, 2)), r"sigma of shape \(5, 2\) does not broadcast")],
)
def test_normal_mixture_comp_shape_errors(keywords, pattern):
    keywords = dict(dict(sigma=1.0), **keywords)
    with pytest.raises(ValueError, match=pattern):
        NormalMixture.dist(w=[0.3, 0.7], **keywords)
    with Model(), pytest.raises(ValueError, match=rf"NormalMixture 'y'.*{pattern}"):
        NormalMixture("y", w=[0.3, 0.7], **keywords)
