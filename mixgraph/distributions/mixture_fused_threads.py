"""Threads inside one fused mixture kernel: when its blocks of observations run in parallel.

The reduced fused kernel (:mod:`mixture_fused_source`) sums its observations
in blocks of :data:`~mixture_fused_source.BLOCK_SIZE`, each into its own row
of partial sums, and adds the rows in block order afterwards. The same source
is compiled twice, with the blocks under ``range`` and under
``numba.prange``; a small dispatcher (:func:`dispatch_source`) picks the
parallel copy when the data are large (at least the op's
``parallel_threshold`` observations) and the calling thread may use more
than one of Numba's threads. Both copies give the same numbers bit for bit.

Numba's thread count is a per-thread setting (``numba.set_num_threads``
applies to the calling thread only), so that each chain of a sampler sets
its own: the sampler's worker threads set it before they run a chain
(:mod:`mixgraph.mcmc.driver`), and a thread that has set 1 never enters a
parallel region at all, which matters for Numba's ``workqueue`` layer, not
safe to enter from two threads at once.

The threading layer must be started (``_launch_threads``, which Numba does
when it compiles a parallel function, and on the first
``numba.get_num_threads()`` from Python) before a compiled caller of the
parallel kernel is loaded from a disk cache and called: the cached code
reaches the layer's ``get_num_threads`` and parallel-for entry points, which
exist only once the layer is loaded. :func:`start_threading_layer` does it;
the Numba registration of the op calls it whenever it builds the kernel,
which every process does before it loads a cached model.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from mixgraph.distributions.mixture_fused_source import FAMILIES, KERNEL_NAME

__all__ = [
    "PARALLEL_THRESHOLD", "PARALLEL_OPTIONS", "parallel_threshold", "threshold_in_effect",
    "dispatch_source", "start_threading_layer", "thread_count", "forked_after_start",
]

PARALLEL_THRESHOLD = 100_000
"""Observations from which a reduced fused kernel runs its blocks on several threads
(chosen by measurement: ``benchmarks/scaling_parallel.py``, ``benchmarks/README.md``)."""

PARALLEL_OPTIONS = {
    "comprehension": False, "reduction": False, "inplace_binop": False, "setitem": False,
    "numpy": False, "stencil": False, "fusion": False, "prange": True,
}
"""Numba's ``parallel=`` options of the parallel copy: only the explicit ``prange`` runs in
parallel, never an allocation or an array expression (Numba mutates the dict: pass a copy)."""

_STATE = {"threshold": None}


@contextlib.contextmanager
def parallel_threshold(observations: int) -> Iterator[None]:
    """Make fused mixture ops with this parallel threshold inside the block (tests, benchmarks).

    The threshold is a property of the op, so that it is part of the
    compiled function's cache key: build the model's log-density inside the
    block (``sample()`` or ``compile_numba_logp`` of a model whose graph is
    not compiled yet).
    """
    if int(observations) < 1:
        raise ValueError(f"the parallel threshold must be a positive number of observations, not {observations}")
    previous = _STATE["threshold"]
    _STATE["threshold"] = int(observations)
    try:
        yield
    finally:
        _STATE["threshold"] = previous


def threshold_in_effect() -> int:
    """The threshold a new fused op gets: :data:`PARALLEL_THRESHOLD` unless set by :func:`parallel_threshold`."""
    return PARALLEL_THRESHOLD if _STATE["threshold"] is None else _STATE["threshold"]


def _argument_names(families: tuple[str, ...]) -> list[str]:
    count = sum(len(FAMILIES[family].parameters) for family in families)
    names = ["x_all", "weights", *[f"p{index}" for index in range(count)]]
    return names + (["log_factorial"] if "poisson" in families else [])


def dispatch_source(families: tuple[str, ...], threshold: int) -> str:
    """Source of the reduced kernel's entry point: the parallel copy for large data and several threads.

    It reads the globals ``thread_count``, ``serial_kernel`` and ``parallel_kernel``.
    """
    arguments = ", ".join(_argument_names(tuple(families)))
    return "\n".join([
        f"def {KERNEL_NAME}({arguments}):",
        f"    if x_all.shape[0] >= {int(threshold)} and thread_count() > 1:",
        f"        return parallel_kernel({arguments})",
        f"    return serial_kernel({arguments})",
    ]) + "\n"


@functools.lru_cache(maxsize=None)
def start_threading_layer() -> str:
    """Start Numba's threading layer (once per process) and return its name (``omp``, ``tbb``, ``workqueue``).

    With GNU OpenMP (``omp``), a child made by ``fork()`` (a
    ``ProcessPoolExecutor``'s worker on Linux) is terminated by Numba as
    soon as it enters a parallel region, once the parent has started the
    layer. The child's main thread is therefore set to one Numba thread at
    the fork, so that the fused kernels stay serial there, and
    :func:`forked_after_start` tells :mod:`mixgraph.data_threads` to keep
    every chain of the child to one thread.
    """
    numba.get_num_threads()
    layer = numba.threading_layer()
    if layer == "omp" and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_serial_after_fork)
    return layer


def _serial_after_fork() -> None:
    _STATE["forked"] = True
    numba.set_num_threads(1)


def forked_after_start() -> bool:
    """Whether this process was forked from one whose OpenMP threading layer had started."""
    return bool(_STATE.get("forked", False))


@intrinsic
def thread_count(typing_context):
    """The calling thread's number of Numba threads, inside jitted code (as ``numba.get_num_threads()``).

    Numba's own ``get_num_threads()`` reaches the threading layer through a
    ctypes pointer, a "dynamic global" that makes every caller impossible to
    cache on disk; this calls the layer's ``get_num_threads`` symbol by name
    (as Numba's parallel loops do), so that callers stay cacheable.
    """
    start_threading_layer()  # registers the symbol

    def codegen(context, builder, signature, arguments):
        function_type = ir.FunctionType(cgutils.intp_t, [])
        function = cgutils.get_or_insert_function(builder.module, function_type, "get_num_threads")
        return builder.call(function, [])

    return types.intp(), codegen
