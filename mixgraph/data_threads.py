"""``sample(data_threads=)``: threads inside one chain's log-density, over the data.

Chains are the sampler's first parallelism: one thread each
(:mod:`mixgraph.mcmc.driver`). When the chains running at once are fewer than
the cores, a fused mixture likelihood over many observations can use the
spare cores within each chain: its kernel spreads blocks of observations
over Numba's threads (:mod:`mixgraph.distributions.mixture_fused_threads`),
with the same result bit for bit, so that the draws do not depend on the
number of threads. This module decides how many threads each chain gets, and
says why, for ``idata.posterior.attrs["data_threads"]`` and
``["data_threads_reason"]``.
"""

from __future__ import annotations

import numbers
import os
from typing import Any, NamedTuple

import numba
from pytensor.tensor.elemwise import DimShuffle, Elemwise
from pytensor.tensor.shape import Reshape, SpecifyShape

from mixgraph.distributions.mixture_fused import FusedMixtureLogp

__all__ = ["DataThreads", "check_data_threads", "fused_observations", "choose_data_threads", "available_cores"]


_SAME_ENTRIES = (Elemwise, Reshape, DimShuffle, SpecifyShape)  # an Elemwise of one input: a cast


class DataThreads(NamedTuple):
    """The threads each chain's log-density uses, and why."""

    threads: int
    reason: str


def check_data_threads(data_threads: Any) -> str | int:
    """``"auto"`` or an integer from 1 to Numba's thread pool size, else a TypeError or ValueError."""
    if isinstance(data_threads, str):
        if data_threads != "auto":
            raise ValueError(f"data_threads must be 'auto' or a positive integer, not {data_threads!r}.")
        return data_threads
    if isinstance(data_threads, bool) or not isinstance(data_threads, numbers.Integral):
        raise TypeError(
            f"data_threads must be 'auto' or a positive integer, got {data_threads!r} of type "
            f"{type(data_threads).__name__}.")
    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= data_threads <= limit:
        raise ValueError(
            f"data_threads must be between 1 and {limit} (Numba's thread pool, NUMBA_NUM_THREADS), "
            f"got {data_threads}.")
    return int(data_threads)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _header_sizes(function: Any, int_data) -> dict:
    """Data input of the compiled function -> its number of entries, read from the buffers' header."""
    sizes, position = {}, 0
    for variable in function.maker.fgraph.inputs[1:]:  # the position first, then the data in header order
        sizes[variable] = int(int_data[position + 1])
        position += 2 + variable.ndim
    return sizes


def fused_observations(compiled: Any) -> tuple[int, int] | None:
    """``(observations, parallel_threshold)`` of the largest reduced fused mixture in ``compiled``.

    ``compiled`` is a :class:`mixgraph.compile.CompiledLogp`. None when its
    log-density has no fused mixture whose observations are data (a latent
    mixture's values, for one, are not counted).
    """
    sizes = _header_sizes(compiled.python_function, compiled.int_data)
    found = []
    for node in compiled.python_function.maker.fgraph.apply_nodes:
        if isinstance(node.op, FusedMixtureLogp) and node.op.reduce:
            source = _data_source(node.inputs[0])
            if source in sizes:
                found.append((sizes[source], node.op.parallel_threshold))
    return max(found) if found else None


def _data_source(variable: Any) -> Any:
    """The data input that ``variable`` is a cast or a reshape of (the same number of entries)."""
    while variable.owner is not None and isinstance(variable.owner.op, _SAME_ENTRIES) and (
            not isinstance(variable.owner.op, Elemwise) or len(variable.owner.inputs) == 1):
        variable = variable.owner.inputs[0]
    return variable


def choose_data_threads(requested: str | int, chains: int, cores: int | None, fused: tuple[int, int] | None,
                        available: int, threading_layer: str, executor: bool = False,
                        forked: bool = False) -> DataThreads:
    """How many threads each chain's log-density uses.

    Parameters
    ----------
    requested : "auto" or int
        ``sample(data_threads=)``, checked by :func:`check_data_threads`.
    chains, cores : int
        ``sample()``'s; ``min(cores or available, chains)`` chains run at once.
    fused : tuple of int, optional
        :func:`fused_observations` of the model.
    available : int
        Cores of the machine (:func:`available_cores`).
    threading_layer : str
        Numba's threading layer; ``workqueue`` must not be entered by two
        chains at once.
    executor : bool
        Whether the chains run as tasks on an executor.
    forked : bool
        Whether this process was forked after the parent started GNU
        OpenMP (:func:`~mixgraph.distributions.mixture_fused_threads.forked_after_start`),
        where a parallel region would terminate the process.

    Returns
    -------
    DataThreads
        ``"auto"`` gives each chain ``available // (chains at once)`` threads
        (at most Numba's pool) when that is at least 2 and the largest fused
        mixture has at least its threshold of observations; else 1.
    """
    at_once = min(cores or available, chains)
    if forked and (requested == "auto" or requested > 1):
        if requested != "auto":
            raise ValueError(
                f"data_threads={requested} in a process forked after its parent started Numba's OpenMP "
                f"threads: a parallel region would terminate it. Use the 'spawn' or 'forkserver' start "
                f"method for worker processes, or data_threads=1.")
        return DataThreads(1, "this process was forked after its parent started Numba's OpenMP threads")
    if requested != "auto":
        if requested > 1 and threading_layer == "workqueue" and at_once > 1 and not executor:
            raise ValueError(
                f"data_threads={requested} with {at_once} chains at once needs a thread-safe Numba "
                f"threading layer (tbb or omp), but Numba uses workqueue. Install tbb, or pass cores=1.")
        return DataThreads(int(requested), f"data_threads={requested} was given")
    if executor:
        return DataThreads(1, "the chains run as tasks on an executor, which sets the parallelism")
    if fused is None:
        return DataThreads(1, "the log-density has no fused mixture over data to spread over threads")
    observations, threshold = fused
    if observations < threshold:
        return DataThreads(1, f"the largest fused mixture has {observations} observations, fewer than "
                              f"the parallel threshold of {threshold}")
    threads = min(available // at_once, numba.config.NUMBA_NUM_THREADS)
    if threads < 2:
        return DataThreads(1, f"{at_once} chains at once on {available} cores leave no spare core")
    if threading_layer == "workqueue" and at_once > 1:
        return DataThreads(1, "Numba's workqueue threading layer cannot run two chains' threads at once")
    return DataThreads(threads, f"{at_once} chains at once on {available} cores, and the largest fused "
                                f"mixture has {observations} observations (threshold {threshold})")
