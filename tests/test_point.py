"""Every compiled entry point computes the sampler's numbers (same rewrites)."""

import numpy as np
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.graph.traversal import ancestors

import mixgraph as mg
from mixgraph.distributions.mixture_fused import FusedMixtureLogp
from mixgraph.compile import compile_numba_logp, flat_layout, flatten_point, unflatten_vector


@pytest.fixture(scope="module")
def far_tail_model():
    """Terms whose plain graphs are -inf/inf/NaN and whose rewritten graphs are finite."""
    with mg.Model() as model:
        x = mg.Normal("x", 0.0, 1.0)
        # log(sigmoid(-800 + x)) is log(0) = -inf unrewritten, -softplus(800 - x) rewritten
        mg.Potential("tail", pt.log(pt.sigmoid(x - 800.0)))
        # log(1 + exp(800 + x)) overflows to inf unrewritten, is softplus(800 + x) rewritten
        mg.Potential("large", pt.log1p(pt.exp(x + 800.0)) - 800.0)
    return model


def _sampler_logp_and_gradient(model, point):
    layout = flat_layout(point, [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout)
    gradient = np.zeros(layout.size)
    logp = compiled.logp_fn(flatten_point(point, layout), gradient, compiled.float_data, compiled.int_data)
    return logp, gradient


def _expected(x):
    tail = -np.logaddexp(0.0, 800.0 - x)
    large = np.logaddexp(0.0, x + 800.0) - 800.0
    normal = -0.5 * x**2 - 0.5 * np.log(2 * np.pi)
    gradient = -x + 1.0 / (1.0 + np.exp(x - 800.0)) + 1.0 / (1.0 + np.exp(-x - 800.0))
    return normal + tail + large, gradient, {"x": normal, "tail": tail, "large": large}


@pytest.mark.parametrize("x", [0.0, 0.7])
def test_entry_points_agree_with_sampler(far_tail_model, x):
    point = {"x": np.asarray(x)}
    sampler_logp, sampler_gradient = _sampler_logp_and_gradient(far_tail_model, point)
    expected_logp, expected_gradient, expected_terms = _expected(x)
    np.testing.assert_allclose(sampler_logp, expected_logp, rtol=1e-10)
    np.testing.assert_allclose(sampler_gradient, [expected_gradient], rtol=1e-10)

    np.testing.assert_allclose(far_tail_model.compile_logp()(point), sampler_logp, rtol=1e-12)
    np.testing.assert_allclose(far_tail_model.compile_dlogp()(point)["x"], sampler_gradient[0], rtol=1e-12)
    logp, gradients = far_tail_model.compile_logp_dlogp()(point)
    np.testing.assert_allclose([logp, gradients["x"]], [sampler_logp, sampler_gradient[0]], rtol=1e-12)
    terms = far_tail_model.compile_logp(sum=False)(point)
    np.testing.assert_allclose([float(np.sum(t)) for t in terms], list(expected_terms.values()), rtol=1e-10)
    point_logps = far_tail_model.point_logps(point)
    for name, value in expected_terms.items():
        assert point_logps[name] == round(value, 2)


def test_unrewritten_graph_is_not_finite_here(far_tail_model):
    """The test above would pass trivially if the plain graph were finite too."""
    from mixgraph.logprob import model_logp
    from mixgraph.point import compile_point_function

    plain = compile_point_function(far_tail_model, [model_logp(far_tail_model)], mode="FAST_COMPILE")
    assert not np.isfinite(plain({"x": np.asarray(0.0)})[0])


def test_initial_failure_blames_the_term_that_fails():
    with mg.Model() as model:
        x = mg.Normal("x", 0.0, 1.0)
        mg.Potential("tail", pt.log(pt.sigmoid(x - 800.0)))
        mg.Potential("broken", pt.switch(pt.gt(x, 1e6), 0.0, -np.inf))
    with pytest.raises(mg.SamplingError) as error:
        mg.sample(draws=10, tune=10, chains=1, model=model, progressbar=False)
    message = str(error.value)
    assert "broken: log-density -inf" in message
    assert "tail:" not in message


# ---------------------------------------------------------------- second derivatives
COUNTS = np.array([0, 0, 1, 3, 0, 7, 2, 5, 0, 1])
REALS = np.array([-2.1, -1.7, -2.5, 1.9, 2.2, 2.6, 1.4, -1.9, 2.0, 0.3])


def _normal_mixture():
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(2))
        mu = mg.Normal("mu", 0.0, 5.0, shape=2)
        # One sigma per component: with one shared sigma the rewritten Hessian graph holds an Add
        # of more than 32 terms, which PyTensor's Python linker (FAST_COMPILE) cannot run; Numba can.
        sigma = mg.HalfNormal("sigma", 2.0, shape=2)
        mg.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=REALS)
    return model


def _poisson_mixture():
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(2))
        mu = mg.Exponential("mu", 0.3, shape=2)
        mg.Mixture("y", w=w, comp_dists=[mg.Poisson.dist(mu[0]), mg.Poisson.dist(mu[1])], observed=COUNTS)
    return model


def _zero_inflated():
    with mg.Model() as model:
        psi = mg.Beta("psi", 2.0, 2.0)
        mu = mg.Gamma("mu", 2.0, 1.0)
        mg.ZeroInflatedPoisson("y", psi=psi, mu=mu, observed=COUNTS)
    return model


@pytest.mark.parametrize("build", [_normal_mixture, _poisson_mixture, _zero_inflated])
def test_hessian_of_fused_mixtures_matches_finite_differences(build):
    model = build()
    hessian_graph = model.d2logp()
    assert any(v.owner is not None and isinstance(v.owner.op, FusedMixtureLogp) for v in ancestors([hessian_graph]))
    # The Hessian graph evaluated as built (thousands of nodes, one backward pass per row):
    # FAST_COMPILE's rewrites of it took 17 s of this test's 30 for the Normal mixture,
    # and gave the same matrix to 1e-14.
    hessian = model.compile_d2logp(mode=Mode(linker="py", optimizer=None))
    gradient = model.compile_dlogp(mode="FAST_COMPILE")
    point = {name: np.asarray(value) + 0.1 * (1 + np.arange(np.size(value))).reshape(np.shape(value))
             for name, value in model.initial_point().items()}
    layout = flat_layout(point, [value.name for value in model.value_vars])
    matrix = hessian(point)
    assert matrix.shape == (layout.size, layout.size)
    np.testing.assert_allclose(matrix, matrix.T, rtol=1e-10, atol=1e-10)
    step = 1e-5
    for column in range(layout.size):
        shifted = []
        for sign in (1.0, -1.0):
            position = flatten_point(point, layout)
            position[column] += sign * step
            shifted.append(flatten_point(gradient(unflatten_vector(position, layout)), layout))
        # d2logp is the negated Hessian, as PyMC's
        np.testing.assert_allclose(-matrix[:, column], (shifted[0] - shifted[1]) / (2 * step), rtol=1e-5, atol=1e-6)


def test_hessian_of_a_normal_mean_is_minus_n_over_sigma_squared_and_selects_vars():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 10.0)
        mg.HalfNormal("sigma", 1.0)
        mg.Normal("y", mu, 2.0, observed=REALS)
    precision = REALS.size / 4.0 + 1.0 / 100.0
    point = model.initial_point()
    negated = model.compile_d2logp(vars=[mu], mode="FAST_COMPILE")(point)
    np.testing.assert_allclose(negated, [[precision]], rtol=1e-12)
    plain = model.compile_d2logp("mu", negate_output=False, mode="FAST_COMPILE")(point)
    np.testing.assert_allclose(plain, [[-precision]], rtol=1e-12)
    assert model.compile_d2logp(mode="FAST_COMPILE")(point).shape == (2, 2)
    with pytest.raises(ValueError, match="'y'.*no free variable.*among \\['mu', 'sigma'"):
        model.d2logp(vars="y")
