"""Every distribution's log-density and gradient can be cached on disk by Numba.

PyTensor's Numba backend calls scipy's Cython special functions through ctypes
pointers, which Numba cannot cache ("dynamic globals"); mixgraph.numba_special
replaces the ones log-densities reach. These tests walk each rewritten graph
for any op that would still take that path, and load one model from the disk
cache in a fresh process.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key
from pytensor.scalar.basic import Composite
from pytensor.tensor.elemwise import Elemwise
from test_continuous import CASES as CONTINUOUS_CASES
from test_discrete import CASES as DISCRETE_CASES

import mixgraph as mg
from fresh_process import checked_result, register_fresh_process_script
import mixgraph.compile  # noqa: F401  (registers the pure-Numba special functions)

def _scalar_ops(op):
    if isinstance(op, Composite):
        for node in op.fgraph.apply_nodes:
            yield from _scalar_ops(node.op)
    else:
        yield op


def _uncacheable_ops(outputs, inputs) -> set[str]:
    """Scalar ops of the rewritten graph that PyTensor's Numba backend calls through a ctypes pointer."""
    mode = Mode(linker="py", optimizer=get_mode("NUMBA").optimizer)
    function = pytensor.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    found = set()
    for node in function.maker.fgraph.apply_nodes:
        if not isinstance(node.op, Elemwise):
            continue
        for scalar_op in _scalar_ops(node.op.scalar_op):
            spec = getattr(scalar_op, "nfunc_spec", None)
            generic = numba_funcify_and_cache_key.dispatch(type(scalar_op)).__name__ == "numba_funcify_ScalarOp"
            if spec and spec[0].startswith("scipy.special") and generic:
                found.add(type(scalar_op).__name__)
    return found


def _logp_and_gradient(rv, parameters: list, value=None):
    value = rv.type() if value is None else value
    logp = mg.logp(rv, value).sum()
    wrt = [parameter for parameter in parameters if parameter.dtype.startswith("float")]
    if value.dtype.startswith("float"):
        wrt.append(value)
    return [logp, *pytensor.grad(logp, wrt)], [*parameters, value]


@pytest.mark.parametrize("case", CONTINUOUS_CASES + DISCRETE_CASES, ids=lambda case: case.name)
def test_univariate_logp_and_gradient_are_cacheable(case):
    parameters = {
        name: pt.as_tensor(np.asarray(value, dtype="int64" if name in case.integer_parameters else "float64")).type()
        for name, value in case.grid[0].items()
    }
    outputs, inputs = _logp_and_gradient(case.distribution.dist(**parameters), list(parameters.values()))
    assert _uncacheable_ops(outputs, inputs) == set()


def _symbolic_families():
    a, mu, sigma, alpha, psi = pt.dvector("a"), pt.dvector("mu"), pt.dscalar("sigma"), pt.dscalar("alpha"), pt.dscalar("psi")
    eta, w = pt.dscalar("eta"), pt.dvector("w")
    cov = pt.dmatrix("cov")
    return {
        "Dirichlet": (mg.Dirichlet.dist(a=a), [a]),
        "Multinomial": (mg.Multinomial.dist(n=10, p=a), [a]),
        "MvNormal": (mg.MvNormal.dist(mu=mu, cov=cov), [mu, cov]),
        "LKJCorr": (mg.LKJCorr.dist(n=3, eta=eta), [eta]),
        "Mixture of Gammas": (mg.Mixture.dist(w=w, comp_dists=mg.Gamma.dist(alpha=mu, beta=1.0)), [w, mu]),
        "NormalMixture": (mg.NormalMixture.dist(w=w, mu=mu, sigma=sigma), [w, mu, sigma]),
        "Mixture of StudentT": (mg.Mixture.dist(w=w, comp_dists=[mg.StudentT.dist(nu=alpha, mu=0.0, sigma=1.0),
                                                                  mg.Normal.dist(0.0, sigma)]), [w, alpha, sigma]),
        "ZeroInflatedNegativeBinomial": (mg.ZeroInflatedNegativeBinomial.dist(psi=psi, mu=sigma, alpha=alpha), [psi, sigma, alpha]),
        "HurdleGamma": (mg.HurdleGamma.dist(psi=psi, alpha=alpha, beta=sigma), [psi, alpha, sigma]),
        "HurdleLogNormal": (mg.HurdleLogNormal.dist(psi=psi, mu=alpha, sigma=sigma), [psi, alpha, sigma]),
    }


@pytest.mark.parametrize("name", list(_symbolic_families()))
def test_multivariate_and_mixture_logp_and_gradient_are_cacheable(name):
    rv, parameters = _symbolic_families()[name]
    outputs, inputs = _logp_and_gradient(rv, parameters)
    assert _uncacheable_ops(outputs, inputs) == set()


CACHED_MODEL = textwrap.dedent(
    """
    import json, warnings
    import numpy as np
    import pytensor
    import pytensor.tensor as pt
    import mixgraph as mg
    from mixgraph.compile import compile_numba_logp, flat_layout, unflatten_vector
    from mixgraph.point import initial_point

    with mg.Model() as model:
        alpha = mg.Gamma("alpha", 2.0, 1.0)
        frac = mg.Dirichlet("frac", a=np.ones(3))
        mg.Dirichlet("shares", a=frac * 10.0, observed=np.array([0.2, 0.3, 0.5]))
        mg.Beta("y", 1.0, alpha, observed=np.array([0.2, 0.5]))
        mg.StudentT("t", nu=alpha, mu=0.0, sigma=1.0, observed=np.array([0.3, -2.0]))
        mg.TruncatedNormal("tn", mu=alpha, sigma=1.0, lower=0.0, observed=np.array([0.5, 3.0]))
        # A scan over a constant sequence (its gradient reverses the sequence into a
        # non-contiguous constant) and a constant array written into the graph.
        series = pt.as_tensor(np.sin(np.arange(30.0)))
        steps = pytensor.scan(lambda previous, current, rho: -0.5 * (current - rho * previous) ** 2,
                              sequences=[series[:-1], series[1:]], non_sequences=[alpha - 2.0],
                              return_updates=False)
        mg.Potential("ar", steps.sum())
        mg.Potential("weights", -0.5 * pt.sum(pt.as_tensor(np.linspace(0.0, 1.0, 200)) * alpha ** 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        point = initial_point(model, None)
        layout = flat_layout(point, [value.name for value in model.value_vars])
        compiled = compile_numba_logp(model, layout)
        gradient = np.zeros(layout.size)
        logp = compiled.logp_fn(np.zeros(layout.size), gradient, compiled.float_data, compiled.int_data)
    stats = compiled.logp_fn.stats
    reference = model.compile_logp(mode="FAST_COMPILE")(unflatten_vector(np.zeros(layout.size), layout))
    print(json.dumps({
        "logp": float(logp),
        "reference_logp": float(reference),
        "warnings": [str(warning.message) for warning in caught if "cache" in str(warning.message).lower()],
        "cache_hits": int(sum(stats.cache_hits.values())),
        "cache_misses": int(sum(stats.cache_misses.values())),
    }))
    """
)
register_fresh_process_script("gammaln_erfcx_scan_constant_array", CACHED_MODEL)


def test_gammaln_erfcx_scan_and_constant_array_model_loads_from_disk_in_a_new_process(fresh_process_results):
    first, second = checked_result(fresh_process_results, "gammaln_erfcx_scan_constant_array")
    assert first["warnings"] == [] and second["warnings"] == []
    assert np.isfinite(first["logp"]) and first["logp"] == second["logp"]
    np.testing.assert_allclose(first["logp"], first["reference_logp"], rtol=1e-12)
    assert second["cache_hits"] == 1 and second["cache_misses"] == 0


def test_only_large_constants_and_constants_under_a_scan_become_data():
    from mixgraph.compile import LARGE_CONSTANT_SIZE, _constant_arrays_as_data
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.traversal import graph_inputs

    x = pt.dscalar("x")
    small, large = np.ones(3), np.arange(float(LARGE_CONSTANT_SIZE))
    (plain,) = _constant_arrays_as_data([pt.sum(pt.as_tensor(small) * x) + pt.sum(pt.as_tensor(large) * x)])
    shared = [variable.get_value() for variable in graph_inputs([plain]) if isinstance(variable, SharedVariable)]
    assert len(shared) == 1 and np.array_equal(shared[0], large)
    steps = pytensor.scan(lambda value, rho: value * rho, sequences=[pt.as_tensor(small)], non_sequences=[x],
                          return_updates=False)
    (scanned,) = _constant_arrays_as_data([steps.sum()])
    shared = [variable.get_value() for variable in graph_inputs([scanned]) if isinstance(variable, SharedVariable)]
    assert len(shared) == 1 and np.array_equal(shared[0], small)
    function = pytensor.function([x], [plain, scanned], mode="FAST_COMPILE")
    np.testing.assert_allclose(function(2.0), [2.0 * (small.sum() + large.sum()), 2.0 * small.sum()])
