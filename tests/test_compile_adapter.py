"""The generated adapter: data of any length through one compiled function, and keys exact in every constant."""

import numpy as np
import pytest
import scipy.stats as stats

import mixgraph as mg
from mixgraph.compile import compile_numba_logp, flat_layout, flatten_point, unflatten_vector
from mixgraph.compile_adapter import (
    _COMPILED_BY_KEY, KERNEL_MODULES, adapter_arguments, graph_key, kernel_versions, pack_buffers,
)
from mixgraph.point import initial_point


def _compiled(model):
    layout = flat_layout(initial_point(model, None), [value.name for value in model.value_vars])
    return compile_numba_logp(model, layout)


def _logp(compiled, position):
    gradient = np.zeros_like(position)
    return compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data), gradient


def test_pack_buffers_header_gives_offsets_sizes_and_shapes():
    arrays = [np.arange(3.0), np.arange(4.0).reshape(2, 2)], [np.array([7, 8]), np.arange(6).reshape(1, 2, 3)]
    floats, integers = pack_buffers(*arrays)
    # header: (start, size, *shape) per array, float ones first; the int data follow the header
    assert floats.tolist() == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0]
    assert integers.tolist() == [0, 3, 3, 3, 4, 2, 2, 15, 2, 2, 17, 6, 1, 2, 3, 7, 8, 0, 1, 2, 3, 4, 5]
    arguments = adapter_arguments([1, 2], [1, 3])
    # the adapter's expressions, evaluated here, cut the same arrays back out
    sliced = eval(f"[{arguments}]", {"float_data": floats, "int_data": integers})  # noqa: S307
    for got, expected in zip(sliced, arrays[0] + arrays[1]):
        np.testing.assert_array_equal(got, expected)


def _mixture_model(y, counts, table):
    with mg.Model() as model:
        weights = mg.Dirichlet("w", a=np.ones(2))
        mu = mg.Normal("mu", 0.0, 5.0, shape=2)
        mg.NormalMixture("y", w=weights, mu=mu, sigma=1.0, observed=y)
        rate = mg.Exponential("rate", 1.0)
        mg.Poisson("counts", rate, observed=counts)
        mg.Normal("table", mu[0], 2.0, observed=table)
    return model


def test_data_of_other_lengths_reuse_one_compiled_function():
    rng = np.random.default_rng(3)
    new_keys, adapters = [], []
    for length, rows in ((40, 3), (57, 5), (12, 1)):
        y, counts, table = rng.normal(size=length), rng.poisson(2.0, size=length + 1), rng.normal(size=(rows, 2))
        model = _mixture_model(y, counts, table)
        known = set(_COMPILED_BY_KEY)
        compiled = _compiled(model)
        new_keys.append(set(_COMPILED_BY_KEY) - known)
        adapters.append(compiled.logp_fn)
        position = rng.normal(size=compiled.layout.size) * 0.3
        logp, gradient = _logp(compiled, position)
        # the same model through PyTensor's Python backend, data as the model holds them (no buffers)
        point = unflatten_vector(position, compiled.layout)
        expected, expected_gradient = model.compile_logp_dlogp(mode="FAST_COMPILE")(point)
        assert logp == pytest.approx(float(expected), rel=1e-10)
        np.testing.assert_allclose(gradient, flatten_point(expected_gradient, compiled.layout), rtol=1e-9)
    # the first model compiled; the others found its function by the graph's key
    assert len(new_keys[0]) == 1 and new_keys[1] == set() and new_keys[2] == set()
    assert adapters[1] is adapters[0] and adapters[2] is adapters[0]


@pytest.mark.parametrize("changed_entry", [20, 39])
def test_constants_that_print_alike_get_their_own_function(changed_entry):
    # PyTensor prints both arrays as "[0. ... 1.]": the key must see the entries themselves.
    base = np.linspace(0.0, 1.0, 40)
    other = base.copy()
    other[changed_entry] = 7.0
    position = np.zeros(40)
    for mean in (base, other):
        with mg.Model() as model:
            mg.Normal("x", mu=mean, sigma=1.0, shape=40)
        logp, gradient = _logp(_compiled(model), position)
        assert logp == pytest.approx(stats.norm(mean, 1.0).logpdf(position).sum(), rel=1e-12)
        np.testing.assert_allclose(gradient, mean - position, rtol=1e-12)


@pytest.mark.parametrize("module_name", KERNEL_MODULES)
def test_a_kernel_version_bump_changes_the_graph_key(module_name, monkeypatch):
    # An adapter's Numba cache embeds the kernels it calls: a changed kernel must get a new key.
    import importlib

    with mg.Model() as model:
        mg.Normal("x", mu=0.0, sigma=1.0, shape=3)
    outputs = [model.logp()]
    before = graph_key(outputs, "arguments")
    assert graph_key(outputs, "arguments") == before
    module = importlib.import_module(module_name)
    monkeypatch.setattr(module, "CACHE_VERSION", f"{module.CACHE_VERSION}-changed")
    assert module_name in kernel_versions()
    assert graph_key(outputs, "arguments") != before
