"""Run chains, and many fits, on a ``concurrent.futures.Executor`` or a Dask cluster.

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

**Fits.** :func:`sample_many` runs one whole :func:`mixgraph.sample` per data
set as a task. Models of one structure share one graph key whatever their
data's lengths, so they compile once per worker, not once per data set.

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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError
from typing import Any, NamedTuple

import numpy as np

from mixgraph.compile import CompiledLogp, LogpSource, load_logp_source, logp_source
from mixgraph.compile_adapter import is_compiled
from mixgraph.distributions.mixture_fused_threads import forked_after_start
from mixgraph.mcmc.driver import ChainsResult, run_chains
from mixgraph.mcmc.kernel import ADAPTATION_MODES
from mixgraph.progress import ProgressBar
from mixgraph.validation import as_seed_sequence

__all__ = ["FitError", "ChainOutcome", "chain_runner", "check_executor", "is_dask_client", "sample_many", "submit"]

_POLL_SECONDS = 0.05


class FitError(RuntimeError):
    """One fit of :func:`sample_many` failed; it stands in that fit's slot.

    Attributes
    ----------
    key : int or hashable
        The data set's index (sequence) or key (mapping).
    error : BaseException
        The exception the fit raised (also the ``__cause__``).
    """

    def __init__(self, key: Any, error: BaseException) -> None:
        super().__init__(f"the fit of data set {key!r} failed: {type(error).__name__}: {error}")
        self.key = key
        self.error = error
        self.__cause__ = error


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

    Two ways a finished chain is run again after a worker dies: it was
    running there (the scheduler counts it as ``suspicious``), or it had
    finished and its result, held in that worker's memory, was lost before
    the client gathered it (the scheduler recomputes it and counts nothing).
    The second shows only in the transition log, as a second move into
    ``processing``. That log keeps the cluster's last
    ``distributed.admin.low-level-log-length`` transitions (1000 by default),
    so on a cluster busy with other work an old start may have left it.
    """
    starts = {key: 0 for key in keys}
    for transition in dask_scheduler.story(*keys):
        if transition[0] in starts and transition[2] == "processing":
            starts[transition[0]] += 1
    return {
        key: max(dask_scheduler.tasks[key].suspicious if key in dask_scheduler.tasks else 0,
                 starts[key] - 1)
        for key in keys
    }


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


class FitOutcome(NamedTuple):
    """What one fit task sends back: the InferenceData and the warnings it raised."""

    idata: Any
    warnings: list  # (category, message) pairs, re-emitted by the caller


def _fit_task(build_model: Callable, data: Any, seed: np.random.SeedSequence, sample_kwargs: dict) -> FitOutcome:
    """Worker side: build one model and sample it, keeping its warnings for the caller."""
    from mixgraph.sampling import sample  # sampling.py imports this module

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = sample(model=build_model(data), random_seed=seed, **sample_kwargs)
    return FitOutcome(idata, [(warning.category, str(warning.message)) for warning in caught])


def _datasets_items(datasets: Any) -> tuple[list, list]:
    if isinstance(datasets, Mapping):
        return list(datasets.keys()), list(datasets.values())
    if isinstance(datasets, Sequence) and not isinstance(datasets, (str, bytes)):
        return list(range(len(datasets))), list(datasets)
    raise TypeError(
        f"datasets must be a sequence (list, tuple) or a mapping (dict) of data sets, not "
        f"{type(datasets).__name__}. Wrap a single data set in a list: [data]."
    )


def _checked_fit_arguments(build_model: Any, sample_kwargs: dict) -> None:
    if not callable(build_model):
        raise TypeError(f"build_model must be a function of one data set returning a Model, not "
                        f"{type(build_model).__name__}")
    taken = sorted({"model", "executor"} & set(sample_kwargs))
    if taken:
        raise TypeError(
            f"sample_many() got {taken}: each fit's model comes from build_model(data), and the "
            f"executor runs whole fits. Remove {taken}."
        )


def _reemit(key: Any, outcome: FitOutcome, stacklevel: int) -> None:
    """Warn again, in the caller's process, with the data set's key (stacklevel: sample_many's caller)."""
    for category, message in outcome.warnings:
        warnings.warn(f"data set {key!r}: {message}", category, stacklevel=stacklevel)


def sample_many(
    build_model: Callable[[Any], Any],
    datasets: Sequence | Mapping,
    executor: Any = None,
    random_seed: Any = None,
    **sample_kwargs: Any,
) -> list | dict:
    """Fit one model structure to many data sets, optionally on an executor.

    Parameters
    ----------
    build_model : callable
        ``build_model(data)`` returns a :class:`mixgraph.Model`. On a
        ``ProcessPoolExecutor`` it must be importable (a module-level
        function); Dask also ships closures and functions of ``__main__``.
    datasets : sequence or mapping
        One entry per fit.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Runs each fit as one task. Default: the fits run one after another here.
    random_seed : int, SeedSequence, Generator or None
        The root seed; fit ``i`` gets its ``i``-th spawned child, so a fit's
        draws depend only on the root seed and its position.
    **sample_kwargs
        Passed to :func:`mixgraph.sample` (``draws``, ``chains``, ...). On an
        executor ``cores`` defaults to 1 (the fits are the parallelism) and
        ``progressbar`` is for the fits, not each fit's chains.

    Returns
    -------
    list or dict
        ``arviz.InferenceData`` per data set, in the order (or with the keys)
        of ``datasets``. A fit that raised leaves a :class:`FitError` in its
        slot (naming the key, the original exception as ``.error``); the
        other fits are kept. Warnings of a fit are re-emitted, prefixed by its key.
    """
    keys, values = _datasets_items(datasets)
    _checked_fit_arguments(build_model, sample_kwargs)
    seeds = as_seed_sequence(random_seed).spawn(len(values))
    bar = ProgressBar(len(values), f"Fitting {len(values)} data sets", enabled=sample_kwargs.pop("progressbar", True))
    kwargs = {**sample_kwargs, "progressbar": False}
    if executor is None:
        results = _fit_here(build_model, keys, values, seeds, kwargs, bar)
    else:
        check_executor(executor)
        kwargs.setdefault("cores", 1)
        results = _fit_there(executor, build_model, keys, values, seeds, kwargs, bar)
    bar.close()
    return dict(zip(keys, results)) if isinstance(datasets, Mapping) else results


def _fit_here(build_model, keys, values, seeds, kwargs, bar) -> list:
    """The fits one after another; a Ctrl-C stops them all (a fit it cut short keeps its draws)."""
    results = []
    for key, data, seed in zip(keys, values, seeds):
        try:
            outcome = _fit_task(build_model, data, seed, kwargs)
        except KeyboardInterrupt:  # while building or compiling a model: outside sample()'s guard
            break
        except Exception as error:  # noqa: BLE001 (the failed fit's slot holds it)
            results.append(FitError(key, error))
        else:
            _reemit(key, outcome, stacklevel=4)
            results.append(outcome.idata)
            if _was_interrupted(outcome.idata):
                break
        bar.update(len(results))
    if len(results) < len(keys):
        warnings.warn(f"Interrupted: returning the {len(results)} of {len(keys)} fits that had started; the "
                      f"others hold a FitError and were not run.", RuntimeWarning, stacklevel=3)
        results += [FitError(key, CancelledError("cancelled by Ctrl-C")) for key in keys[len(results):]]
    return results


def _was_interrupted(idata: Any) -> bool:
    stats = getattr(idata, "sample_stats", None)
    return bool(stats is not None and stats.attrs.get("interrupted"))


def _fit_there(executor, build_model, keys, values, seeds, kwargs, bar) -> list:
    futures = [submit(executor, _fit_task, build_model, data, seed, kwargs, label=f"mixgraph-fit-{index}")
               for index, (data, seed) in enumerate(zip(values, seeds))]
    results: dict[int, Any] = {}

    def on_done(index: int, future: Any) -> None:
        results[index] = _fit_result(keys[index], future)
        bar.update(len(results))

    if wait_for(futures, on_done):
        warnings.warn(f"Interrupted: returning the {len(results)} of {len(futures)} fits that had finished; "
                      f"the others hold a FitError and were cancelled.", RuntimeWarning, stacklevel=3)
    return [results[index] if index in results else FitError(keys[index], CancelledError("cancelled by Ctrl-C"))
            for index in range(len(futures))]


def _fit_result(key: Any, future: Any) -> Any:
    try:
        outcome = future.result()
    except Exception as error:  # noqa: BLE001 (the failed fit's slot holds it)
        return FitError(key, error)
    _reemit(key, outcome, stacklevel=7)
    return outcome.idata
