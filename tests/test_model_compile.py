"""Model.logp(vars=), compile_logp(vars=) and compile_fn, as PyMC's."""

import numpy as np
import pytensor.tensor as pt
import pytest
import scipy.stats as stats

import mixgraph as mg

OBSERVED = np.array([0.3, -1.2, 2.0])


@pytest.fixture(scope="module")
def model():
    with mg.Model() as model:
        mu = mg.Normal("mu", 1.0, 2.0)
        sigma = mg.HalfNormal("sigma", 1.5)
        mg.Normal("y", mu, sigma, observed=OBSERVED)
        mg.Potential("penalty", -0.5 * mu**2)
    return model


POINT = {"mu": np.asarray(0.4), "sigma_log__": np.asarray(np.log(0.8))}


def _terms():
    mu, sigma = 0.4, 0.8
    return {
        "mu": stats.norm(1.0, 2.0).logpdf(mu),
        "sigma": stats.halfnorm(scale=1.5).logpdf(sigma) + np.log(sigma),  # log-Jacobian of exp
        "y": stats.norm(mu, sigma).logpdf(OBSERVED).sum(),
        "penalty": -0.5 * mu**2,
    }


@pytest.mark.parametrize(
    "select, expected_names",
    [
        (lambda m: None, ["mu", "sigma", "y", "penalty"]),
        (lambda m: [m["y"]], ["y"]),
        (lambda m: m["mu"], ["mu"]),
        (lambda m: ["sigma", "penalty"], ["sigma", "penalty"]),
        (lambda m: [m.rvs_to_values[m["sigma"]], m["y"]], ["sigma", "y"]),
        (lambda m: [m.potentials[0]], ["penalty"]),
    ],
    ids=["all", "observed rv", "single rv", "names", "value variable", "potential"],
)
def test_compile_logp_vars_selects_terms(model, select, expected_names):
    expected = _terms()
    total = model.compile_logp(select(model), mode="FAST_COMPILE")(POINT)
    np.testing.assert_allclose(total, sum(expected[name] for name in expected_names), rtol=1e-12)
    pieces = model.compile_logp(select(model), sum=False, mode="FAST_COMPILE")(POINT)
    np.testing.assert_allclose([np.sum(p) for p in pieces], [expected[n] for n in expected_names], rtol=1e-12)


def test_logp_vars_graph(model):
    graph = model.logp(vars=[model["y"]], jacobian=False)
    function = model.compile_fn(graph, mode="FAST_COMPILE")
    np.testing.assert_allclose(function(POINT), _terms()["y"], rtol=1e-12)
    terms = model.logp(vars=["mu", "y"], sum=False)
    assert len(terms) == 2 and terms[1].ndim == 1


def test_logp_vars_unknown_raises(model):
    with pytest.raises(ValueError, match="no log-density term.*among"):
        model.logp(vars=["nope"])
    with pytest.raises(ValueError, match="no log-density term"):
        model.logp(vars=[pt.dscalar("stranger")])


def test_compile_fn_point_and_positional(model):
    mu_value = model.rvs_to_values[model["mu"]]
    sigma_value = model.rvs_to_values[model["sigma"]]
    outputs = [mu_value * 2.0, pt.exp(sigma_value)]
    by_point = model.compile_fn(outputs, mode="FAST_COMPILE")
    doubled, sigma = by_point({**POINT, "unused": 1.0})
    np.testing.assert_allclose([doubled, sigma], [0.8, 0.8])
    positional = model.compile_fn(mu_value + 1.0, inputs=[mu_value], point_fn=False, mode="FAST_COMPILE")
    np.testing.assert_allclose(positional(2.0), 3.0)
    single = model.compile_fn(mu_value + 1.0, mode="FAST_COMPILE")
    np.testing.assert_allclose(single({"mu": 2.0}), 3.0)
    with pytest.raises(KeyError, match="mu"):
        by_point({"sigma_log__": 0.0})
