"""Data-only subexpressions are computed once per run, and follow set_data."""

import numpy as np
import pytensor
import pytensor.tensor as pt
from scipy import special, stats

import mixgraph as mg
from mixgraph.compile import compile_numba_logp, flat_layout
from mixgraph.data_hoisting import hoist_data_only
from mixgraph.point import initial_point


def _zip_logp(counts, psi, rate):
    zero = np.log((1 - psi) + psi * np.exp(-rate))
    positive = np.log(psi) + stats.poisson.logpmf(counts, rate)
    return np.where(counts == 0, zero, positive).sum()


def test_compiled_logp_follows_set_data_through_hoisted_terms():
    first = np.array([0, 0, 3, 1, 0, 7, 2, 0])
    second = np.array([5, 0, 1, 1, 9, 0, 0, 4])  # same shape: no new compilation
    with mg.Model() as model:
        counts = mg.Data("counts", first)
        log_rate = mg.Normal("log_rate", 0.0, 1.0)
        mg.ZeroInflatedPoisson("y", psi=0.7, mu=pt.exp(log_rate), observed=counts)
    point = initial_point(model, None)
    layout = flat_layout(point, ["log_rate"])
    position = np.array([0.4])
    gradient = np.empty(1)
    for data in (first, second):
        mg.set_data({"counts": data}, model=model)
        compiled = compile_numba_logp(model, layout)
        value = compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
        expected = _zip_logp(data, 0.7, np.exp(0.4)) + stats.norm.logpdf(0.4)
        np.testing.assert_allclose(value, expected, rtol=1e-12)
    assert len(model.__dict__["_compiled_logp_cache"]) == 1, "same shapes must reuse the compiled function"


def test_only_data_dependent_computations_are_hoisted():
    data = pytensor.shared(np.array([1.0, 2.0, 5.0]), name="data")
    parameter = pt.dscalar("parameter")
    constant_term = pt.exp(pt.as_tensor(np.array([0.0, 1.0, 2.0])))  # constants only: left to folding
    view_term = data[None, :]  # a view of the data: nothing to save
    output = pt.sum(pt.gammaln(data + 1.0) * parameter) + pt.sum(constant_term * parameter) \
        + pt.sum(view_term * parameter)
    (rewritten,), hoisted = hoist_data_only([output])
    assert len(hoisted.variables) == 1
    np.testing.assert_allclose(hoisted.variables[0].get_value(), special.gammaln(np.array([2.0, 3.0, 6.0])))
    before = pytensor.function([parameter], output)(1.5)
    after = pytensor.function([parameter], rewritten)(1.5)
    np.testing.assert_allclose(after, before, rtol=1e-14)
    data.set_value(np.array([3.0, 4.0, 0.0]))
    hoisted.refresh()
    np.testing.assert_allclose(pytensor.function([parameter], rewritten)(1.5),
                               pytensor.function([parameter], output)(1.5), rtol=1e-14)
