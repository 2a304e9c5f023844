"""Compile a model's log-density and gradient over one flat vector.

The sampler sees a function of one float64 vector ``position`` (every value
variable, unconstrained, raveled and concatenated in registration order).
Observed data and other array-valued shared variables become explicit graph
inputs, never compiled constants, so that PyTensor's Numba cache reuses the
compiled graph whatever the data, and ``set_data`` needs no rebuild.

For the sampler, :func:`compile_numba_logp` returns an ``@njit`` adapter with
the signature the sampler core expects::

    logp_fn(position, grad_out, float_data, int_data) -> float

where ``float_data`` and ``int_data`` are the data, packed into two flat
buffers (``int_data`` starts with the arrays' offsets and shapes). The adapter
is generated as a small module in the cache directory and compiled with
``cache=True``, so that a second run of the same model loads it from disk
instead of compiling it; :mod:`mixgraph.compile_adapter` writes it, and keys
it on the graph alone, so that data of another length reuse it.
"""

from __future__ import annotations

import pickle
import zlib
from typing import Any, NamedTuple

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.replace import graph_replace
from pytensor.graph.rewriting.utils import rewrite_graph
from pytensor.graph.traversal import graph_inputs, io_toposort
from pytensor.tensor import TensorVariable
from pytensor.tensor.variable import TensorConstant

from mixgraph import numba_special  # noqa: F401  (registers cacheable special functions)
from mixgraph.compile_adapter import (
    adapter_arguments,
    cache_directory,
    compiled_for_key,
    graph_key,
    is_compiled,
    pack_buffers,
)
from mixgraph.data_hoisting import HoistedData, hoist_data_only
from mixgraph.logprob import check_no_random_variables, model_logp, model_logp_terms

__all__ = [
    "FlatLayout",
    "CompiledLogp",
    "flat_layout",
    "flatten_point",
    "unflatten_vector",
    "logp_dlogp_graph",
    "stabilize_graph",
    "compile_numba_logp",
    "cache_directory",
    "structure_key",
    "TERMS",
    "selected_logp",
    "LogpSource",
    "logp_source",
    "load_logp_source",
]


class FlatLayout(NamedTuple):
    """Where each value variable lives in the flat position vector."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    offsets: tuple[int, ...]
    size: int


def flat_layout(point: dict[str, np.ndarray], names: list[str]) -> FlatLayout:
    """Layout of ``names`` (in that order) given one point of concrete values."""
    shapes = tuple(tuple(np.shape(point[name])) for name in names)
    sizes = [int(np.prod(shape, dtype=int)) for shape in shapes]
    offsets = tuple(int(offset) for offset in np.concatenate([[0], np.cumsum(sizes)[:-1]])) if sizes else ()
    return FlatLayout(tuple(names), shapes, offsets, int(sum(sizes)))


def flatten_point(point: dict[str, Any], layout: FlatLayout) -> np.ndarray:
    """Concatenate a point's values into one float64 vector."""
    if not layout.names:
        return np.zeros(0)
    return np.concatenate([np.asarray(point[name], dtype=np.float64).ravel() for name in layout.names])


def unflatten_vector(vector: np.ndarray, layout: FlatLayout) -> dict[str, np.ndarray]:
    """Split a flat vector (or an array whose last axis is flat) back into a point."""
    leading = vector.shape[:-1]
    point = {}
    for name, shape, offset in zip(layout.names, layout.shapes, layout.offsets):
        size = int(np.prod(shape, dtype=int))
        point[name] = vector[..., offset : offset + size].reshape(leading + shape)
    return point


def _data_inputs(outputs: list[TensorVariable]) -> tuple[dict, list, list]:
    """Replace shared variables: scalars by constants, arrays by explicit inputs."""
    replacements, float_pairs, int_pairs = {}, [], []
    for variable in graph_inputs(outputs):
        if not isinstance(variable, SharedVariable) or not hasattr(variable.type, "ndim"):
            continue
        value = variable.get_value(borrow=True)
        if variable.type.ndim == 0:
            replacements[variable] = pt.constant(value, dtype=variable.dtype)
            continue
        is_int = variable.dtype.startswith(("int", "uint", "bool"))
        dtype = "int64" if is_int else "float64"
        placeholder = pt.tensor(dtype=dtype, shape=variable.type.shape, name=variable.name)
        replacements[variable] = placeholder if dtype == variable.dtype else pt.cast(placeholder, variable.dtype)
        (int_pairs if is_int else float_pairs).append((variable, placeholder))
    return replacements, float_pairs, int_pairs


#: Constant arrays with at least this many entries are passed as data (see below).
LARGE_CONSTANT_SIZE = 64


def _constant_arrays_as_data(outputs: list[TensorVariable]) -> list[TensorVariable]:
    """Turn data-like constant arrays into shared variables, so that they become inputs.

    Numba cannot cache a function holding a global array that is larger than
    1 MB or not contiguous ("uses dynamic globals", ``numba.core.base``'s
    ``make_constant_array``). A scan's gradient reverses its sequences, so a
    constant sequence (``pt.as_tensor(y)`` in a user's scan) ends as a
    reversed, non-contiguous constant, and any large array written into the
    graph as a constant exceeds the limit. Passed as data instead, they are
    packed contiguously at each run, and expressions of them alone are still
    computed once per run by :mod:`mixgraph.data_hoisting`. Small constants
    (a Dirichlet's concentration, ``np.ones(3)``) stay constants, so that
    PyTensor can fold them.
    """
    replacements = {}
    has_scan = any(type(node.op).__name__ == "Scan" for node in io_toposort(graph_inputs(outputs), outputs))
    for variable in graph_inputs(outputs):
        if not isinstance(variable, TensorConstant) or variable.type.ndim == 0:
            continue
        data = np.asarray(variable.data)
        if data.dtype.kind not in "fiub" or (data.size < LARGE_CONSTANT_SIZE and not has_scan):
            continue
        replacements[variable] = pytensor.shared(np.ascontiguousarray(data), name="constant_array",
                                                 shape=variable.type.shape)
    return graph_replace(outputs, replacements, strict=False) if replacements else outputs
def stabilize_graph(outputs: Any) -> Any:
    """Apply the rewrites every compiled log-density gets before differentiation.

    ``canonicalize`` and ``stabilize`` (e.g. ``log(sigmoid(x))`` to
    ``-softplus(-x)``). Every entry point (the sampler's function, the point
    functions of :mod:`mixgraph.point`, the initial-failure report) calls this
    one helper, so that all of them compute the same numbers. Takes a variable
    or a list of variables and returns the same structure.
    """
    return rewrite_graph(outputs, include=("canonicalize", "stabilize"))


class LogpGraph(NamedTuple):
    """The flat log-density graph and the data it takes as inputs."""

    position: TensorVariable
    logp: TensorVariable
    grad: TensorVariable
    float_data: list  # (shared variable, placeholder) pairs
    int_data: list
    hoisted: HoistedData  # data-only subexpressions, refreshed before the data are packed


TERMS = ("joint", "prior", "likelihood")
"""What a compiled log-density sums: every term, the free variables' (with their
log-Jacobians), or the rest (observed variables, potentials, and the terms of a
marginal model that summed discrete latents out)."""


def selected_logp(model: Any, terms: str = "joint", *, jacobian: bool = True) -> TensorVariable:
    """The sum of the log-density terms selected by ``terms`` (one of :data:`TERMS`).

    The prior and the likelihood add up to the joint: Sequential Monte Carlo
    tempers the likelihood alone (:mod:`mixgraph.smc`).
    """
    if terms not in TERMS:
        raise ValueError(f"terms must be one of {TERMS}, not {terms!r}")
    if terms == "joint":
        return model_logp(model, jacobian=jacobian)
    all_terms = model_logp_terms(model, jacobian=jacobian)
    free_names = [rv.name for rv in model.free_RVs]
    merged = [name for name in free_names if name not in all_terms]
    if merged:
        raise ValueError(
            f"the prior of {merged} is not a term of its own: it was summed together with a discrete "
            f"latent it depends on (see docs/guide/errors.md); its prior and likelihood cannot be "
            f"separated. Make the latent depend on these variables instead, or use sample()")
    chosen = [term for name, term in all_terms.items() if (name in free_names) == (terms == "prior")]
    return pt.add(*[pt.sum(term) for term in chosen]) if chosen else pt.constant(0.0, dtype="float64")


def logp_dlogp_graph(model: Any, layout: FlatLayout, *, jacobian: bool = True, terms: str = "joint") -> LogpGraph:
    """Log-density (the terms selected by ``terms``, see :data:`TERMS`) and gradient of ``model``
    as functions of one flat vector."""
    position = pt.vector("position", dtype="float64")
    value_by_name = {value.name: value for value in model.value_vars}
    pieces = {}
    for name, shape, offset in zip(layout.names, layout.shapes, layout.offsets):
        size = int(np.prod(shape, dtype=int))
        value = value_by_name[name]
        pieces[value] = pt.cast(position[offset : offset + size].reshape(shape), value.dtype)
    logp = selected_logp(model, terms, jacobian=jacobian)
    logp = graph_replace(logp, pieces, strict=False)
    # Simplify before differentiating, so that the gradient is taken of the
    # simplified expression (e.g. one exp shared by a log-sum-exp and its
    # gradient instead of a second Softmax pass).
    logp = stabilize_graph(logp)
    # A prior or a likelihood may not depend on every coordinate (or on any).
    disconnected = "raise" if terms == "joint" else "ignore"
    grad = pytensor.grad(logp, position, disconnected_inputs=disconnected) if layout.size else pt.zeros(0)
    logp, grad = _constant_arrays_as_data([logp, grad])
    (logp, grad), hoisted = hoist_data_only([logp, grad])
    replacements, float_pairs, int_pairs = _data_inputs([logp, grad])
    logp, grad = graph_replace([logp, grad], replacements, strict=False)
    check_no_random_variables({"the compiled joint log-density": logp, "its compiled gradient": grad})
    return LogpGraph(position, logp, grad, float_pairs, int_pairs, hoisted)


class CompiledLogp(NamedTuple):
    """A model's compiled log-density for the sampler."""

    logp_fn: Any  # numba dispatcher: (position, grad_out, float_data, int_data) -> float
    float_data: np.ndarray
    int_data: np.ndarray
    layout: FlatLayout
    python_function: Any  # pytensor function: (position, *data) -> (logp, grad)


def structure_key(model: Any, layout: FlatLayout, jacobian: bool) -> tuple:
    """What a compiled log-density depends on besides the data's values.

    The variables themselves, the layout, the dims' lengths (scalars become
    compiled constants) and the data's shapes: new shapes rebuild the graph,
    whose compiled function is then found again by its key.
    """
    variables = tuple(id(variable) for variable in model.free_RVs + model.observed_RVs + model.potentials)
    lengths = tuple(sorted((name, int(length.get_value())) for name, length in model.dim_lengths.items()))
    shapes = tuple(np.shape(variable.get_value(borrow=True)) for variable in model.data_vars)
    return (layout, jacobian, variables, lengths, shapes)


def compile_numba_logp(model: Any, layout: FlatLayout, *, jacobian: bool = True,
                       terms: str = "joint") -> CompiledLogp:
    """Compile the flat log-density and its gradient through PyTensor's Numba backend.

    ``terms`` selects the joint density (default), the prior or the
    likelihood (:data:`TERMS`); each is compiled and cached on its own.

    The result is kept on the model: a second call with the same layout and
    data shapes (e.g. after ``set_data``) only repacks the data, so repeated
    ``sample()`` calls start at once. New data shapes rebuild the graph,
    which finds its compiled function again by the graph's key.
    """
    cache = model.__dict__.setdefault("_compiled_logp_cache", {})
    key = structure_key(model, layout, jacobian) if terms == "joint" else (
        structure_key(model, layout, jacobian), terms)
    if key not in cache:
        cache[key] = _compile(model, layout, jacobian, terms)
    graph, function, adapter = cache[key]
    graph.hoisted.refresh()
    float_data, int_data = _buffers(graph)
    return CompiledLogp(adapter, float_data, int_data, layout, function)


class LogpSource(NamedTuple):
    """A picklable description of a compiled log-density, for another process.

    Numba dispatchers do not pickle; PyTensor graphs do. ``payload`` is the
    zlib-compressed pickle of the flat log-density graph (inputs: the
    position, then the data placeholders; outputs: logp and its gradient),
    ``arguments`` the adapter's slicing of the data buffers, ``key`` the hash
    of both. :func:`load_logp_source` turns it back into the adapter.
    """

    key: str
    payload: bytes
    arguments: str


def _graph_parts(graph: LogpGraph) -> tuple[list, list, str, str]:
    """The function's inputs and outputs, the adapter's arguments and the graph's key."""
    placeholders = [placeholder for _, placeholder in graph.float_data + graph.int_data]
    arguments = adapter_arguments([placeholder.ndim for _, placeholder in graph.float_data],
                                  [placeholder.ndim for _, placeholder in graph.int_data])
    outputs = [graph.logp, graph.grad]
    return [graph.position, *placeholders], outputs, arguments, graph_key(outputs, arguments)


def _buffers(graph: LogpGraph) -> tuple[np.ndarray, np.ndarray]:
    return pack_buffers([shared.get_value(borrow=True) for shared, _ in graph.float_data],
                        [shared.get_value(borrow=True) for shared, _ in graph.int_data])


def _compile(model: Any, layout: FlatLayout, jacobian: bool, terms: str = "joint") -> tuple:
    graph = logp_dlogp_graph(model, layout, jacobian=jacobian, terms=terms)
    function, adapter = compiled_for_key(*_graph_parts(graph))
    return graph, function, adapter


def logp_source(model: Any, layout: FlatLayout, *, jacobian: bool = True) -> LogpSource:
    """The :class:`LogpSource` of the log-density :func:`compile_numba_logp` compiles."""
    compile_numba_logp(model, layout, jacobian=jacobian)
    graph = model.__dict__["_compiled_logp_cache"][structure_key(model, layout, jacobian)][0]
    inputs, outputs, arguments, key = _graph_parts(graph)
    payload = zlib.compress(pickle.dumps((inputs, outputs), protocol=pickle.HIGHEST_PROTOCOL))
    return LogpSource(key, payload, arguments)


def load_logp_source(source: LogpSource) -> Any:
    """The adapter ``logp_fn`` of ``source``: compiled once per process, then reused.

    A first call in a process loads PyTensor's and the adapter's compiled code
    from the disk caches when another process compiled the same graph before.
    """
    inputs, outputs = ([], []) if is_compiled(source.key) else pickle.loads(zlib.decompress(source.payload))
    return compiled_for_key(inputs, outputs, source.arguments, source.key)[1]
