"""No random-variable node survives into a log-density.

A table of models whose parameters depend on ``Data`` containers and on free
variables, in every form (plain, mixture list, mixture batched,
NormalMixture, zero-inflated, hurdle): the log-density graph (per variable,
and the flat graph that is compiled for the sampler) holds values only. The
guard itself must name the variable whose log-density still holds a node.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import pytest
from pytensor.graph.traversal import ancestors
from pytensor.tensor.random.op import RandomVariable

import mixgraph as mg
from mixgraph.compile import flat_layout, logp_dlogp_graph
from mixgraph.logprob import SurvivingRandomVariableError, model_logp_terms
from mixgraph.point import compile_logp, initial_point

X = np.linspace(-1.0, 1.0, 6)
COUNTS = np.array([0, 3, 1, 0, 7, 2])


def _location(x):
    g = mg.Normal("g", 0.0, 3.0, shape=4)
    d = mg.Normal("d", 0.0, 3.0, shape=4)
    return g + pt.outer(x, d)


def normal_mixture(x):
    mg.NormalMixture("obs", np.ones(4) / 4, _location(x), sigma=1.0, observed=np.zeros(6))


def mixture_list(x):
    location = _location(x)
    components = [mg.Normal.dist(location[:, 0], 1.0), mg.StudentT.dist(4.0, location[:, 1], 1.0)]
    mg.Mixture("obs", w=np.array([0.5, 0.5]), comp_dists=components, observed=np.zeros(6))


def mixture_batched(x):
    location = _location(x)
    mg.Mixture("obs", w=np.ones(4) / 4, comp_dists=mg.Normal.dist(location, 1.0, shape=(x.shape[0], 4)),
               observed=np.zeros(6))


def mixture_batched_poisson(x):
    rate = mg.math.exp(_location(x))
    mg.Mixture("obs", w=np.ones(4) / 4, comp_dists=mg.Poisson.dist(rate, shape=(x.shape[0], 4)), observed=COUNTS)


def zero_inflated(x):
    slope = mg.Normal("slope", 0.0, 1.0)
    mg.ZeroInflatedPoisson("obs", psi=0.7, mu=mg.math.exp(slope * x), observed=COUNTS)


def hurdle(x):
    slope = mg.Normal("slope", 0.0, 1.0)
    mg.HurdleGamma("obs", psi=0.7, alpha=2.0, beta=mg.math.exp(slope * x), observed=COUNTS + 0.5 * (COUNTS > 0))


def regression(x):
    slope = mg.Normal("slope", 0.0, 1.0)
    mg.StudentT("obs", nu=4.0, mu=slope * x, sigma=1.0, observed=np.zeros(6))


FORMS = {function.__name__: function for function in [
    normal_mixture, mixture_list, mixture_batched, mixture_batched_poisson, zero_inflated, hurdle, regression,
]}


def _random_variables(outputs) -> list:
    return [v for v in ancestors(outputs) if v.owner is not None and isinstance(v.owner.op, RandomVariable)]


@pytest.mark.parametrize("form", list(FORMS))
def test_log_density_with_data_dependent_parameters_holds_no_random_variable(form):
    with mg.Model() as model:
        FORMS[form](mg.Data("x", X))
    terms = model_logp_terms(model)
    assert _random_variables(list(terms.values())) == []
    point = initial_point(model)
    graph = logp_dlogp_graph(model, flat_layout(point, [value.name for value in model.value_vars]))
    assert _random_variables([graph.logp, graph.grad]) == []
    assert np.isfinite(compile_logp(model, mode="FAST_COMPILE")(point))


def test_normal_mixture_with_data_means_samples_and_follows_set_data():
    """The reproducer of issue #7: the Numba log-density compiles and samples, and new data are used."""
    with mg.Model() as model:
        x = mg.Data("x", X)
        normal_mixture(x)
        idata = mg.sample(draws=50, tune=50, chains=1, random_seed=3, progressbar=False,
                          compute_convergence_checks=False)
        assert np.all(np.isfinite(idata.posterior["g"].values))
        mg.set_data({"x": np.linspace(-2.0, 2.0, 6)})
        moved = compile_logp(model, mode="FAST_COMPILE")(initial_point(model))
    with mg.Model() as reference:
        normal_mixture(mg.Data("x", np.linspace(-2.0, 2.0, 6)))
    np.testing.assert_allclose(moved, compile_logp(reference, mode="FAST_COMPILE")(initial_point(reference)))


def _unnamed_mean():
    mg.Normal("y", mu=mg.Normal.dist(0.0, 1.0), sigma=1.0, observed=np.zeros(3))


def _unnamed_in_potential():
    z = mg.Normal("z", 0.0, 1.0)
    mg.Potential("penalty", -((z - mg.Normal.dist(0.0, 1.0)) ** 2))


@pytest.mark.parametrize("build, name", [(_unnamed_mean, "y"), (_unnamed_in_potential, "penalty")])
@pytest.mark.parametrize("where", ["model_logp", "compile_logp", "logp_dlogp_graph"])
def test_guard_names_the_variable_whose_log_density_holds_a_random_variable(build, name, where):
    with mg.Model() as model:
        build()
    with pytest.raises(SurvivingRandomVariableError, match=f"log-density of '{name}' still contains an unnamed NormalRV"):
        if where == "model_logp":
            model.logp()
        elif where == "compile_logp":
            compile_logp(model)
        else:
            point = initial_point(model)
            logp_dlogp_graph(model, flat_layout(point, [value.name for value in model.value_vars]))
