"""The sampler's adapter to a compiled log-density: its source, its data buffers and its cache key.

:mod:`mixgraph.compile` builds the flat log-density graph; this module turns
it into the ``@njit`` function the sampler calls::

    logp_fn(position, grad_out, float_data, int_data) -> float

The data arrays travel packed in two flat buffers. ``int_data`` starts with a
header that gives, for every array, its offset, its size and its shape, so
that the generated adapter slices the buffers by the header and not by
lengths written into its source. Models of one structure with data of
different lengths (``set_data``, :func:`mixgraph.sample_many`) therefore
share one graph key, one PyTensor function and one adapter file: they
compile once per process, and not at all in a process that finds them in the
disk caches.

The key hashes the graph's printout together with the exact contents of
every constant and the properties of every op: PyTensor's printout
abbreviates arrays (``[0. ... 1.]``), and two models that differ only there
must not share a compiled function. It also holds the versions of PyTensor,
Numba and mixgraph and the cache version of each of mixgraph's own Numba
kernels: Numba's cache of an adapter embeds the machine code of the function
it calls, so a kernel whose code changed must not reach an adapter cached
before the change.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytensor
from pytensor.graph.basic import Constant
from pytensor.graph.traversal import graph_inputs, io_toposort

__all__ = [
    "cache_directory",
    "adapter_arguments",
    "pack_buffers",
    "graph_key",
    "kernel_versions",
    "KERNEL_MODULES",
    "compiled_for_key",
    "is_compiled",
]


def cache_directory() -> Path:
    """Where generated adapters live (``$MIXGRAPH_CACHE`` or ``~/.cache/mixgraph``)."""
    root = Path(os.environ.get("MIXGRAPH_CACHE", Path.home() / ".cache" / "mixgraph"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _header_length(float_ndims: list[int], int_ndims: list[int]) -> int:
    return sum(2 + ndim for ndim in float_ndims + int_ndims)


def adapter_arguments(float_ndims: list[int], int_ndims: list[int]) -> str:
    """The adapter's expressions that cut the data arrays out of the two buffers.

    Array ``j`` has the header entries ``start, size, *shape`` at position
    ``h``; its expression is ``buffer[start : start + size].reshape(shape)``
    with every number read from ``int_data``. Only the arrays' ranks appear in
    the source.
    """
    expressions, position = [], 0
    for buffer, ndims in (("float_data", float_ndims), ("int_data", int_ndims)):
        for ndim in ndims:
            start, size = f"int_data[{position}]", f"int_data[{position + 1}]"
            shape = "".join(f"int_data[{position + 2 + axis}], " for axis in range(ndim))
            expressions.append(f"{buffer}[{start}:{start} + {size}].reshape(({shape}))")
            position += 2 + ndim
    return ", ".join(expressions)


def pack_buffers(float_arrays: list[np.ndarray], int_arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The two flat buffers of :func:`adapter_arguments`: float64 data, and the int64 header then int64 data."""
    floats = [np.asarray(array, dtype=np.float64) for array in float_arrays]
    integers = [np.asarray(array, dtype=np.int64) for array in int_arrays]
    header_length = _header_length([array.ndim for array in floats], [array.ndim for array in integers])
    header, float_start, int_start = [], 0, header_length
    for array in floats:
        header += [float_start, array.size, *array.shape]
        float_start += array.size
    for array in integers:
        header += [int_start, array.size, *array.shape]
        int_start += array.size
    float_buffer = np.concatenate([array.ravel() for array in floats]) if floats else np.zeros(1)
    int_buffer = np.concatenate([np.asarray(header, dtype=np.int64)] + [array.ravel() for array in integers])
    return float_buffer, (int_buffer if int_buffer.size else np.zeros(1, dtype=np.int64))


def _fingerprint(value: Any) -> bytes:
    if isinstance(value, np.ndarray) or np.isscalar(value):
        array = np.asarray(value)
        if array.dtype.kind in "biufc":
            return f"{array.dtype.str}{array.shape}".encode() + np.ascontiguousarray(array).tobytes()
    return repr(value).encode()


def _graph_fingerprints(outputs: list) -> Iterator[bytes]:
    """Exact contents of every constant and every op's properties, inner graphs included."""
    inputs = list(graph_inputs(outputs))
    for variable in inputs:
        if isinstance(variable, Constant):
            yield str(variable.type).encode() + _fingerprint(variable.data)
    for node in io_toposort(inputs, outputs):
        op = node.op
        yield type(op).__name__.encode()
        for name in getattr(op, "__props__", ()):
            yield name.encode() + _fingerprint(getattr(op, name, None))
        inner = getattr(op, "fgraph", None)
        if inner is not None and hasattr(inner, "outputs"):
            yield from _graph_fingerprints(list(inner.outputs))


KERNEL_MODULES = (
    "mixgraph.numba_special",
    "mixgraph.distributions.mixture_fused_rewrites",
    "mixgraph.distributions.markov_forward",
    "mixgraph.distributions.markov_forward_batched",
)
"""Modules registering Numba kernels of mixgraph's ops, each with its ``CACHE_VERSION``."""


def kernel_versions() -> str:
    """The versions a compiled adapter depends on beyond its graph: libraries and mixgraph's kernels."""
    import numba

    from mixgraph import __version__

    kernels = [f"{name}={importlib.import_module(name).CACHE_VERSION}" for name in KERNEL_MODULES]
    return ";".join([f"pytensor={pytensor.__version__}", f"numba={numba.__version__}",
                     f"mixgraph={__version__}", *kernels])


def graph_key(outputs: list, arguments: str) -> str:
    """A hash of the graph of ``outputs``, the adapter's ``arguments`` and :func:`kernel_versions`.

    Exact in every constant.
    """
    digest = hashlib.sha256()
    digest.update(kernel_versions().encode())
    digest.update(pytensor.printing.debugprint(outputs, file="str", print_type=True).encode())
    digest.update(arguments.encode())
    for piece in _graph_fingerprints(outputs):
        digest.update(piece)
    return digest.hexdigest()[:24]


_ADAPTER_TEMPLATE = '''"""Generated by mixgraph.compile_adapter: the log-density adapter of one model."""
import numba
from mixgraph.compile_adapter import _JIT_FUNCTIONS

jit_fn = _JIT_FUNCTIONS[{key!r}]


@numba.njit(cache=True, nogil=True)
def logp_fn(position, grad_out, float_data, int_data):
    logp, grad = jit_fn(position, {arguments})
    grad_out[:] = grad
    return logp.item()
'''

# Per process: graph key -> PyTensor's jitted function (read by the generated
# adapter at import), and graph key -> (PyTensor function, adapter).
_JIT_FUNCTIONS: dict[str, Any] = {}
_COMPILED_BY_KEY: dict[str, tuple[Any, Any]] = {}


def is_compiled(key: str) -> bool:
    """Whether this process has compiled (or loaded) the graph of ``key`` already."""
    return key in _COMPILED_BY_KEY


def compiled_for_key(inputs: list, outputs: list, arguments: str, key: str) -> tuple[Any, Any]:
    """The PyTensor function and the adapter of one graph: compiled once per process, then reused."""
    if key not in _COMPILED_BY_KEY:
        function = pytensor.function(inputs, outputs, mode="NUMBA", on_unused_input="ignore")
        _JIT_FUNCTIONS[key] = function.vm.jit_fn
        _COMPILED_BY_KEY[key] = (function, _load_adapter(key, arguments))
    return _COMPILED_BY_KEY[key]


def _load_adapter(key: str, arguments: str) -> Any:
    # PyTensor's generated functions live in a module named "<dynamic>"; a
    # cached caller records that name and re-imports it when loaded from disk.
    sys.modules.setdefault("<dynamic>", types.ModuleType("<dynamic>"))
    path = cache_directory() / f"adapter_{key}.py"
    source = _ADAPTER_TEMPLATE.format(key=key, arguments=arguments)
    if not path.exists() or path.read_text() != source:
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(source)
        temporary.replace(path)
    spec = importlib.util.spec_from_file_location(f"mixgraph_adapter_{key}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.logp_fn
