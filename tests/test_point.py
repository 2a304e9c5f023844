"""Every compiled entry point computes the sampler's numbers (same rewrites)."""

import numpy as np
import pytensor.tensor as pt
import pytest

import mixgraph as mg
from mixgraph.compile import compile_numba_logp, flat_layout, flatten_point


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
