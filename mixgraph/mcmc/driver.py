"""Run several chains in parallel threads, in chunks, with progress and Ctrl-C.

Each chain runs in its own worker thread; the compiled kernel releases the
GIL (``nogil=True``), so chains use all cores. Between chunks a worker checks
a stop flag, which the main thread sets on ``KeyboardInterrupt``: every draw
completed so far is kept. Inside an :class:`InterruptGuard` (as ``sample()``
runs), a second Ctrl-C while the chains stop or the draws are packed is
deferred instead of raised, so it cannot lose the draws. Every chain owns a ``numpy.random.Generator``
spawned from one ``SeedSequence``, so the draws depend only on the seed, not
on the number of threads or on their scheduling.

While the chains run, the BLAS library (OpenBLAS, through which Numba's
``np.dot`` runs) is limited to one thread with ``threadpoolctl``: the chains
are the parallelism. Left at its default, every ``np.dot`` in every chain
wakes one BLAS thread per core, and chains and BLAS threads then fight over
the cores (measured on the Old Faithful MvNormal mixture, 2 cores: one
log-density evaluation took 300 to 590 us instead of 133 us while another
process kept one core busy).
"""

import os
import signal
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Callable, NamedTuple

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from mixgraph.mcmc.kernel import init_chain, run_chain
from mixgraph.mcmc.lazy import FunctionPointer
from mixgraph.mcmc.mass_matrix import LOW_RANK_EIGENVALUE_CUTOFF, LOW_RANK_REGULARISATION, WINDOW_ESTIMATES
from mixgraph.mcmc.options import check_metric_arguments
from mixgraph.mcmc.schedules import (
    TuningSchedule,
    nutpie_schedule,
    stan_schedule,
    window_capacity,
)
from mixgraph.mcmc.state import (
    ADAPTATION_MODES,
    ESTIMATE_SIGNATURE,
    LOGP_SIGNATURE,
    METRIC_KINDS,
    STAT_NAMES,
    SamplerSettings,
)

__all__ = ["ChainsResult", "InterruptGuard", "chain_generators", "compile_kernel", "run_chains"]

_INTEGER_STATS = ("tree_depth", "n_steps")
_BOOLEAN_STATS = ("diverging", "reached_max_treedepth")
_POLL_SECONDS = 0.1
_ESTIMATE_REFRESH_INTERVAL = 10
"""Iterations between re-estimates of a dense or low-rank metric (the diagonal: every one)."""


class ChainsResult(NamedTuple):
    """Draws and statistics of all chains, warm-up included.

    Attributes
    ----------
    positions : ndarray of shape (chains, tune + draws, dim)
    stats : dict of str to ndarray of shape (chains, tune + draws)
        Keys are :data:`mixgraph.mcmc.state.STAT_NAMES`.
    n_completed : ndarray of int, shape (chains,)
        Iterations completed by each chain; rows beyond are zeros.
    interrupted : bool
        True when the run was stopped before every chain finished.
    attrs : dict, optional
        Facts about the run for the InferenceData's attributes (e.g. the
        executor, chains rerun after a worker died); ``None`` when there are none.
    """

    positions: np.ndarray
    stats: dict
    n_completed: np.ndarray
    interrupted: bool
    attrs: dict | None = None


class InterruptGuard:
    """Let the first Ctrl-C stop the chains; defer every later one, so the draws are kept.

    Inside ``with InterruptGuard() as guard:`` the first SIGINT raises
    ``KeyboardInterrupt`` as usual (:func:`run_chains` catches it and stops
    the chains after their current chunk). Every later SIGINT, and every
    SIGINT after :meth:`defer` (called before the draws are packed into an
    InferenceData), is only counted in :attr:`deferred`: a second Ctrl-C
    while the interrupted result is being packed no longer loses the draws.
    Outside the main thread, where Python delivers no signals, the guard
    does nothing.
    """

    def __init__(self) -> None:
        self.deferred = 0
        self._armed = False
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self._armed:
            self.deferred += 1
            return
        self._armed = True
        raise KeyboardInterrupt

    def defer(self) -> None:
        """From now on, only count SIGINTs."""
        self._armed = True

    def __enter__(self) -> "InterruptGuard":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def chain_generators(seed, chains: int) -> list:
    """One independent ``numpy.random.Generator`` per chain.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence, list of SeedSequence or None
        ``None`` draws fresh entropy. A ``SeedSequence`` is spawned from, so
        passing the same object twice gives different generators. A list
        holds one ``SeedSequence`` per chain, used as is (a chain run
        elsewhere gets the child it would have had in a local run).
    chains : int

    Returns
    -------
    list of numpy.random.Generator
    """
    if isinstance(seed, (list, tuple)):
        if len(seed) != chains:
            raise ValueError(f"{len(seed)} chain seeds were given for {chains} chains")
        return [np.random.default_rng(child) for child in seed]
    if not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    return [np.random.default_rng(child) for child in seed.spawn(chains)]


def compile_kernel(metric: str = "diag") -> None:
    """Compile (or load from Numba's disk cache) the kernel of a run with ``metric=``, now.

    :func:`run_chains` does it anyway; ``sample()`` calls it while it compiles
    the model, so that a fresh install's one wait for the kernel counts as
    compile time, and happens in this thread (worker processes then load it
    from the disk cache). Cheap once done in a process.

    Parameters
    ----------
    metric : {"diag", "dense", "low_rank"}
    """
    init_chain.compiled()
    run_chain.compiled()
    estimate = WINDOW_ESTIMATES[metric]
    if not estimate.signatures:
        estimate.compile(ESTIMATE_SIGNATURE)


def _schedule(adaptation: str, metric: str, tune: int) -> TuningSchedule:
    if adaptation == "nutpie":
        interval = 1 if metric == "diag" else _ESTIMATE_REFRESH_INTERVAL
        return nutpie_schedule(tune, refresh_interval=interval)
    return stan_schedule(tune)


def _stats_dict(stats: np.ndarray) -> dict:
    result = {}
    for column, name in enumerate(STAT_NAMES):
        values = stats[:, :, column]
        if name in _INTEGER_STATS:
            values = values.astype(np.int64)
        elif name in _BOOLEAN_STATS:
            values = values.astype(np.bool_)
        result[name] = np.ascontiguousarray(values)
    return result


def _run_one_chain(logp_fn, float_data, int_data, rng, state, settings, estimate_fn, schedule,
                   chunk_size, positions, stats, completed, chain, stop_event, data_threads=1):
    """Worker: run one chain chunk by chunk until done or asked to stop."""
    # Numba's thread count is per thread: this chain's log-density may use data_threads
    # (1: it never enters a parallel region, see mixgraph.distributions.mixture_fused_threads).
    numba.set_num_threads(data_threads)
    total = positions.shape[0]
    while state.iteration < total and not stop_event.is_set():
        state = run_chain(logp_fn, float_data, int_data, rng, state, settings, estimate_fn,
                          schedule, chunk_size, positions, stats)
        completed[chain] = state.iteration


def _checked_inverse_mass_matrix(matrix, chains: int, dim: int) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (chains, dim) or not np.all(np.isfinite(matrix)) or not np.all(matrix > 0):
        raise ValueError(
            f"initial_inverse_mass_matrix must be a finite, positive array of shape (chains, dim) = "
            f"{(chains, dim)}, got shape {matrix.shape}"
        )
    return matrix


def _init_states(logp_fn, float_data, int_data, generators, initial_positions, settings,
                 initial_inverse_mass_matrix=None):
    states = []
    for chain, rng in enumerate(generators):
        position = np.ascontiguousarray(initial_positions[chain], dtype=np.float64)
        given = (np.zeros(0) if initial_inverse_mass_matrix is None
                 else np.ascontiguousarray(initial_inverse_mass_matrix[chain], dtype=np.float64))
        state = init_chain(logp_fn, float_data, int_data, rng, position, settings, given)
        if not np.isfinite(state.logp):
            raise ValueError(
                f"The log-density or its gradient is not finite at the initial point of chain "
                f"{chain}: {position}"
            )
        states.append(state)
    return states


def _reporting(progress, on_tuned, completed, stats, tune) -> Callable[[int], None]:
    """The main thread's report: progress, and once every chain is past warm-up, ``on_tuned``."""
    tuned_reported = [on_tuned is None or tune == 0]

    def report(total: int) -> None:
        if progress is not None:
            progress(total)
        if not tuned_reported[0] and min(completed) >= tune:
            tuned_reported[0] = True  # warm-up rows are final: the workers write later rows only
            on_tuned(stats[:, :tune, STAT_NAMES.index("lp")].copy())

    return report


def _wait_for_chains(futures, completed, progress, stop_event) -> bool:
    """Main-thread loop: report progress; on Ctrl-C set the stop flag. Return True if stopped."""
    try:
        while True:
            done, pending = wait(futures, timeout=_POLL_SECONDS, return_when=FIRST_EXCEPTION)
            if progress is not None:
                progress(int(sum(completed)))
            if not pending or any(future.exception() is not None for future in done):
                break
    except KeyboardInterrupt:
        stop_event.set()
    wait(futures)  # workers stop after their current chunk
    for future in futures:
        future.result()  # re-raise an error from a worker
    return stop_event.is_set()


def run_chains(
    logp_fn,
    float_data: np.ndarray,
    int_data: np.ndarray,
    initial_positions: np.ndarray,
    draws: int,
    tune: int,
    seed=None,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    adaptation: str = "nutpie",
    metric: str = "diag",
    cores: int | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 50,
    stop_event: threading.Event | None = None,
    initial_inverse_mass_matrix: np.ndarray | None = None,
    on_tuned: Callable[[np.ndarray], None] | None = None,
    data_threads: int = 1,
) -> ChainsResult:
    """Sample several NUTS chains in parallel threads.

    Parameters
    ----------
    logp_fn : numba dispatcher
        An ``@njit`` function ``logp_fn(position, grad_out, float_data, int_data) -> logp``
        compilable for :data:`mixgraph.mcmc.state.LOGP_SIGNATURE`.
    float_data : ndarray of float64
    int_data : ndarray of int64
        Opaque buffers passed through to ``logp_fn``.
    initial_positions : ndarray of shape (chains, dim)
    draws, tune : int
        Iterations kept after, and spent in, warm-up.
    seed : int, numpy.random.SeedSequence, list of SeedSequence or None
        See :func:`chain_generators`.
    target_accept : float
    max_tree_depth : int
    adaptation : {"nutpie", "stan"}
        Mass-matrix adaptation (:mod:`mixgraph.mcmc.adaptation`).
    metric : {"diag", "dense", "low_rank"}
        Form of the mass matrix estimated in warm-up
        (:mod:`mixgraph.mcmc.metrics`, :mod:`mixgraph.mcmc.mass_matrix`).
    cores : int, optional
        Worker threads; ``os.cpu_count()`` capped at the number of chains.
    progress : callable, optional
        Called from the main thread with the total number of completed
        iterations (all chains), about every 0.1 s and at the end.
    chunk_size : int
        Iterations per call into the compiled kernel.
    stop_event : threading.Event, optional
        Setting it stops the run as Ctrl-C does (used by tests).
    initial_inverse_mass_matrix : ndarray of shape (chains, dim), optional
        Each chain's starting diagonal metric (positive), e.g. the variances
        of a Pathfinder approximation; by default the adaptation's own start.
    on_tuned : callable, optional
        Called once from the main thread, as soon as every chain has finished
        warm-up, with the warm-up log-densities, shape ``(chains, tune)``
        (e.g. to warn early about chains in different modes).
    data_threads : int
        Numba threads each chain's log-density may use (set in the chain's
        worker thread; a parallel kernel gives the same numbers with any count).

    Returns
    -------
    ChainsResult
    """
    check_metric_arguments(metric, adaptation)
    initial_positions = np.atleast_2d(np.asarray(initial_positions, dtype=np.float64))
    chains, dim = initial_positions.shape
    cores = min(cores or os.cpu_count() or 1, chains)
    float_data = np.ascontiguousarray(float_data, dtype=np.float64)
    int_data = np.ascontiguousarray(int_data, dtype=np.int64)
    schedule = _schedule(adaptation, metric, int(tune))
    capacity = 0 if metric == "diag" else window_capacity(schedule, adaptation)
    settings = SamplerSettings(int(tune), float(target_accept), int(max_tree_depth), 1000.0,
                               ADAPTATION_MODES[adaptation], 0.05, 10.0, 0.75,
                               METRIC_KINDS[metric], capacity, LOW_RANK_REGULARISATION,
                               LOW_RANK_EIGENVALUE_CUTOFF)
    schedule = np.ascontiguousarray(np.stack(schedule), dtype=np.bool_)
    generators = chain_generators(seed, chains)
    compile_kernel(metric)  # in this thread, before the workers need it
    if hasattr(logp_fn, "get_compile_result"):  # a dispatcher: look its address up once
        logp_fn = FunctionPointer(logp_fn, LOGP_SIGNATURE)
    estimate_fn = FunctionPointer(WINDOW_ESTIMATES[metric], ESTIMATE_SIGNATURE)
    if initial_inverse_mass_matrix is not None:
        initial_inverse_mass_matrix = _checked_inverse_mass_matrix(initial_inverse_mass_matrix, chains, dim)
    states = _init_states(logp_fn, float_data, int_data, generators, initial_positions, settings,
                          initial_inverse_mass_matrix)
    positions = np.zeros((chains, tune + draws, dim))
    stats = np.zeros((chains, tune + draws, len(STAT_NAMES)))
    completed = [0] * chains
    stop_event = stop_event if stop_event is not None else threading.Event()
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=cores) as pool:
        futures = [
            pool.submit(_run_one_chain, logp_fn, float_data, int_data, generators[chain],
                        states[chain], settings, estimate_fn, schedule, chunk_size, positions[chain],
                        stats[chain], completed, chain, stop_event, int(data_threads))
            for chain in range(chains)
        ]
        report = _reporting(progress, on_tuned, completed, stats, int(tune))
        stopped = _wait_for_chains(futures, completed, report, stop_event)
    report(int(sum(completed)))
    n_completed = np.array(completed, dtype=np.int64)
    interrupted = bool(stopped and np.any(n_completed < tune + draws))
    return ChainsResult(positions, _stats_dict(stats), n_completed, interrupted)
