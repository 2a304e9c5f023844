"""Run chains on a ``concurrent.futures.Executor`` or a Dask cluster (many fits: :mod:`~mixgraph.many_fits`).

Anything with ``submit(function, *args)`` returning a future with ``done()``,
``result()`` and ``cancel()`` works: a ``ProcessPoolExecutor``, or a
``distributed.Client`` (a laptop ``LocalCluster`` or a real cluster).

**Chains.** Each chain is one task. What travels is a
:class:`~mixgraph.compile.LogpSource` (the flat log-density graph with the
data as inputs, pickled: Numba dispatchers do not pickle), the data buffers,
the chain's start and its ``SeedSequence`` child. The chain seeds are
spawned and the jittered starts computed before dispatch, exactly as in a
local run, so the draws are those of a local run with the same seed. A worker
compiles a graph once, or loads it from the disk caches, and keeps it in a
per-process cache keyed on the graph for later tasks.

A Dask worker that dies has its tasks rerun on another worker by the
scheduler (``distributed.scheduler.allowed-failures``, 3 by default), with
the same seed, so the draws are unchanged; the result's attributes name the
chains that were rerun, whether they were running on that worker or had
finished there and their draws were lost with it.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from mixgraph.compile import CompiledLogp, LogpSource, load_logp_source, logp_source
from mixgraph.compile_adapter import is_compiled
from mixgraph.distributions.mixture_fused_threads import forked_after_start
from mixgraph.mcmc.driver import ChainsResult, run_chains
from mixgraph.mcmc.state import ADAPTATION_MODES

__all__ = ["ChainOutcome", "chain_runner", "check_executor", "is_dask_client", "submit", "wait_for"]

_POLL_SECONDS = 0.05


class ChainOutcome(NamedTuple):
    """What one chain task sends back."""

    result: ChainsResult  # one chain
    process_id: int
    load_seconds: float  # getting the compiled log-density in the worker
    was_loaded: bool  # True when the worker's process cache already held the graph


def is_dask_client(executor: Any) -> bool:
    """True for a ``distributed.Client`` (checked by module, so that Dask stays optional)."""
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "run_on_scheduler")


def submit(executor: Any, function: Callable, *args: Any, label: str = "mixgraph") -> Any:
    """``executor.submit(function, *args)``; for Dask, impure and under a readable unique key."""
    if is_dask_client(executor):
        return executor.submit(function, *args, pure=False, key=f"{label}-{uuid.uuid4().hex[:12]}")
    return executor.submit(function, *args)


def check_executor(executor: Any) -> None:
    """Raise a TypeError now, before anything compiles, unless ``executor`` has ``submit()``."""
    if not callable(getattr(executor, "submit", None)):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor or a distributed.Client (anything with "
            f"submit()), not {type(executor).__name__}. Pass e.g. ProcessPoolExecutor() or Client()."
        )


def _run_chain_task(source: LogpSource, float_data, int_data, start, chain_seed, options,
                    inverse_mass_matrix=None) -> ChainOutcome:
    """Worker side: one chain, on the log-density compiled or loaded once per process."""
    began = time.perf_counter()
    was_loaded = is_compiled(source.key)
    logp_fn = load_logp_source(source)
    loaded = time.perf_counter()
    given = None if inverse_mass_matrix is None else inverse_mass_matrix[None, :]
    if forked_after_start():  # a parallel region would terminate a child forked after OpenMP started
        options = {**options, "data_threads": 1}
    result = run_chains(logp_fn, float_data, int_data, start[None, :], seed=[chain_seed], cores=1,
                        initial_inverse_mass_matrix=given, **options)
    return ChainOutcome(result, os.getpid(), loaded - began, was_loaded)


def wait_for(futures: list, on_done: Callable[[int, Any], None]) -> bool:
    """Call ``on_done(index, future)`` as futures finish; on Ctrl-C cancel the rest.

    Returns True when interrupted. An exception from ``on_done`` (e.g. a
    task's error re-raised by ``future.result()``) cancels the others and
    is raised.
    """
    finished: set[int] = set()
    try:
        while len(finished) < len(futures):
            for index, future in enumerate(futures):
                if index not in finished and future.done():
                    finished.add(index)
                    on_done(index, future)
            time.sleep(_POLL_SECONDS)
    except KeyboardInterrupt:
        _cancel(futures)
        return True
    except BaseException:
        _cancel(futures)
        raise
    return False


def _cancel(futures: list) -> None:
    for future in futures:
        future.cancel()


def _rerun_counts(dask_scheduler: Any = None, keys: tuple = ()) -> dict:
    """Scheduler side: how many times beyond the first each task was started.

    A chain runs again after its worker dies if it was running there (the
    scheduler's ``suspicious`` count), or if it had finished there and its
    draws were lost before the client gathered them: that shows only as a
    second move into ``processing`` in the transition log, which keeps the
    last ``distributed.admin.low-level-log-length`` transitions (1000).
    """
    starts = dict.fromkeys(keys, 0)
    for transition in dask_scheduler.story(*keys):
        if transition.key in starts and transition.finish == "processing":
            starts[transition.key] += 1
    tasks = dask_scheduler.tasks
    return {key: max(tasks[key].suspicious if key in tasks else 0, starts[key] - 1) for key in keys}


def _rerun_chains(executor: Any, futures: list) -> list[int]:
    if not is_dask_client(executor):
        return []
    keys = tuple(future.key for future in futures)
    counts = executor.run_on_scheduler(_rerun_counts, keys=keys)
    return [chain for chain, key in enumerate(keys) if counts.get(key, 0) > 0]


def _merge(outcomes: dict, chains: int, total: int, dim: int) -> tuple:
    """Stack the finished chains (in chain order) into one result's arrays."""
    kept = sorted(outcomes)
    if not kept:
        return np.zeros((0, total, dim)), {}, np.zeros(0, dtype=np.int64)
    results = [outcomes[chain].result for chain in kept]
    positions = np.concatenate([result.positions for result in results])
    stats = {name: np.concatenate([result.stats[name] for result in results]) for name in results[0].stats}
    n_completed = np.concatenate([result.n_completed for result in results])
    return positions, stats, n_completed


def chain_runner(executor: Any, model: Any, compiled: CompiledLogp) -> Callable[..., ChainsResult]:
    """A drop-in for :func:`mixgraph.mcmc.driver.run_chains` that runs each chain as a task.

    Parameters
    ----------
    executor : concurrent.futures.Executor or distributed.Client
    model : Model
        The model ``compiled`` was compiled from (its graph is what is shipped).
    compiled : CompiledLogp

    Returns
    -------
    callable
        Same arguments as ``run_chains`` (``logp_fn`` and ``cores`` are
        ignored: the workers compile their own, and the executor sets the
        parallelism). Its result's ``attrs`` name the executor and any chain
        rerun after a worker died.
    """
    check_executor(executor)
    source = logp_source(model, compiled.layout)

    def run(logp_fn, float_data, int_data, initial_positions, draws, tune, seed=None, target_accept=0.8,
            max_tree_depth=10, adaptation="nutpie", metric="diag", cores=None, progress=None,
            initial_inverse_mass_matrix=None, on_tuned=None, data_threads=1) -> ChainsResult:
        if adaptation not in ADAPTATION_MODES:
            raise ValueError(f"adaptation must be one of {sorted(ADAPTATION_MODES)}, not {adaptation!r}")
        starts = np.atleast_2d(np.asarray(initial_positions, dtype=np.float64))
        # The same children run_chains would spawn locally (driver.chain_generators).
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        chain_seeds = root.spawn(len(starts))
        options = {"draws": draws, "tune": tune, "target_accept": target_accept,
                   "max_tree_depth": max_tree_depth, "adaptation": adaptation, "metric": metric,
                   "data_threads": data_threads}
        futures = [
            submit(executor, _run_chain_task, source, float_data, int_data, start, chain_seed, options,
                   None if initial_inverse_mass_matrix is None else initial_inverse_mass_matrix[chain],
                   label=f"mixgraph-chain-{chain}")
            for chain, (start, chain_seed) in enumerate(zip(starts, chain_seeds))
        ]
        result = _collect_chains(executor, futures, len(starts), draws + tune, starts.shape[1], progress)
        _report_warmup(result, int(tune), on_tuned)
        return result

    return run


def _report_warmup(result: ChainsResult, tune: int, on_tuned: Callable | None) -> None:
    """Give ``on_tuned`` the warm-up log-densities once every task is back.

    A chain's warm-up is seen only when its task returns, so the check that a
    local run makes as soon as warm-up ends is made here, before the draws
    are packed; it is skipped when a chain did not get through warm-up.
    """
    if on_tuned is None or tune == 0 or "lp" not in result.stats or np.min(result.n_completed) < tune:
        return
    on_tuned(result.stats["lp"][:, :tune].copy())


def _collect_chains(executor, futures, chains: int, total: int, dim: int, progress) -> ChainsResult:
    outcomes: dict[int, ChainOutcome] = {}

    def on_done(chain: int, future: Any) -> None:
        outcomes[chain] = future.result()
        if progress is not None:
            progress(total * len(outcomes))

    interrupted = wait_for(futures, on_done)
    if interrupted and not outcomes:
        raise KeyboardInterrupt("sampling was interrupted before any chain finished")
    if interrupted:
        warnings.warn(
            f"Sampling was interrupted; returning the {len(outcomes)} of {chains} chains that had "
            f"finished (chains {sorted(outcomes)}). The other tasks were cancelled.",
            RuntimeWarning, stacklevel=4,
        )
    positions, stats, n_completed = _merge(outcomes, chains, total, dim)
    attrs = {"executor": f"{type(executor).__module__}.{type(executor).__qualname__}"}
    rerun = [chain for chain in _rerun_chains(executor, futures) if chain in outcomes]
    if rerun:
        attrs["rerun_chains"] = rerun
    if interrupted:
        attrs["cancelled_chains"] = [chain for chain in range(chains) if chain not in outcomes]
    return ChainsResult(positions, stats, n_completed, False, attrs)
