"""Run independent SMC runs in parallel threads, stage by stage, with progress and Ctrl-C.

Each run (a "chain") owns a ``numpy.random.Generator`` spawned from one
``SeedSequence`` and runs in a worker thread; :func:`mixgraph.smc.kernel.smc_stage`
releases the GIL, so runs use all cores. Between stages a worker checks a stop
flag, set by the main thread on ``KeyboardInterrupt``; an interrupted run
stops before reaching :math:`\\beta = 1` and is reported as such.
"""

import os
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Callable, NamedTuple

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from mixgraph.mcmc.driver import chain_generators
from mixgraph.smc.kernel import SMCSettings, SMCState, init_smc, smc_stage

__all__ = ["SMCFunctions", "SMCRunsResult", "run_smc_chains", "MAX_STAGES"]

MAX_STAGES = 1000
"""A run stops with an error if it has not reached beta = 1 after this many stages."""

_POLL_SECONDS = 0.1
#: Progress is reported in thousandths of the way from beta = 0 to beta = 1, per run.
PROGRESS_UNITS = 1000


class SMCFunctions(NamedTuple):
    """The prior and the likelihood, compiled, with their data buffers."""

    prior_fn: object
    prior_float: np.ndarray
    prior_int: np.ndarray
    likelihood_fn: object
    likelihood_float: np.ndarray
    likelihood_int: np.ndarray


class SMCRunsResult(NamedTuple):
    """Final particles and per-stage statistics of every run.

    Attributes
    ----------
    particles : ndarray of shape (chains, draws, dim)
    prior_logps, likelihood_logps : ndarray of shape (chains, draws)
        The final particles' prior and likelihood log-densities.
    log_marginal_likelihood : ndarray of shape (chains,)
    stages : list of dict of str to ndarray
        Per run: ``beta``, ``acceptance_rate``, ``n_steps``, ``log_increment``, ``ess``,
        one entry per stage.
    completed : ndarray of bool, shape (chains,)
        Whether each run reached beta = 1.
    interrupted : bool
    """

    particles: np.ndarray
    prior_logps: np.ndarray
    likelihood_logps: np.ndarray
    log_marginal_likelihood: np.ndarray
    stages: list
    completed: np.ndarray
    interrupted: bool


def _run_one(functions, rng, state, settings, record, progress_cells, chain, stop_event, alone=True):
    """Worker: run stages until beta = 1 or asked to stop; return the last state."""
    if not alone:  # runs side by side keep to one Numba thread each (mixture_fused_threads)
        numba.set_num_threads(1)
    while state.beta < 1.0 and not stop_event.is_set():
        if len(record) >= MAX_STAGES:
            raise RuntimeError(
                f"SMC run {chain} has not reached beta = 1 after {MAX_STAGES} stages (beta = "
                f"{state.beta:.3g}): lower threshold (bigger stages), or give the model more informative priors")
        state, info = smc_stage(*functions, rng, state, settings)
        record.append(info)
        progress_cells[chain] = int(PROGRESS_UNITS * state.beta)
    return state


def _initial_states(functions, particles):
    states = []
    for chain_particles in particles:
        chain_particles = np.ascontiguousarray(chain_particles, dtype=np.float64)
        prior_logps, likelihood_logps = init_smc(*functions, chain_particles)
        states.append(SMCState(chain_particles, prior_logps, likelihood_logps, 0.0, 0.0, 1.0, 0.5))
    return states


def _stage_arrays(record) -> dict:
    fields = ("beta", "acceptance_rate", "n_steps", "log_increment", "ess")
    arrays = {name: np.array([getattr(info, name) for info in record]) for name in fields}
    arrays["n_steps"] = arrays["n_steps"].astype(np.int64)
    return arrays


def _wait(futures, progress_cells, progress, stop_event) -> bool:
    try:
        while True:
            done, pending = wait(futures, timeout=_POLL_SECONDS, return_when=FIRST_EXCEPTION)
            if progress is not None:
                progress(int(sum(progress_cells)))
            if not pending or any(future.exception() is not None for future in done):
                break
    except KeyboardInterrupt:
        stop_event.set()
    wait(futures)
    return stop_event.is_set()


def run_smc_chains(
    functions: SMCFunctions,
    initial_particles: np.ndarray,
    settings: SMCSettings,
    seed=None,
    cores: int | None = None,
    progress: Callable[[int], None] | None = None,
    stop_event: threading.Event | None = None,
) -> SMCRunsResult:
    """Run one SMC from each set of initial particles, in parallel threads.

    Parameters
    ----------
    functions : SMCFunctions
    initial_particles : ndarray of shape (chains, draws, dim)
        Draws from the prior, in the space where ``functions`` are densities.
    settings : SMCSettings
    seed : int, numpy.random.SeedSequence or None
    cores : int, optional
        Worker threads (default: the machine's cores, at most ``chains``).
    progress : callable, optional
        Called with the sum over runs of ``int(1000 * beta)``.
    stop_event : threading.Event, optional
        Setting it stops the runs as Ctrl-C does.

    Returns
    -------
    SMCRunsResult
    """
    chains = initial_particles.shape[0]
    cores = min(cores or os.cpu_count() or 1, chains)
    functions = SMCFunctions(
        functions.prior_fn, np.ascontiguousarray(functions.prior_float, dtype=np.float64),
        np.ascontiguousarray(functions.prior_int, dtype=np.int64), functions.likelihood_fn,
        np.ascontiguousarray(functions.likelihood_float, dtype=np.float64),
        np.ascontiguousarray(functions.likelihood_int, dtype=np.int64))
    generators = chain_generators(seed, chains)
    smc_stage.compiled()  # compile (or load) in this thread, before the workers need it
    states = _initial_states(functions, initial_particles)
    records = [[] for _ in range(chains)]
    progress_cells = [0] * chains
    stop_event = stop_event if stop_event is not None else threading.Event()
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=cores) as pool:
        futures = [pool.submit(_run_one, functions, generators[chain], states[chain], settings,
                               records[chain], progress_cells, chain, stop_event, cores == 1)
                   for chain in range(chains)]
        stopped = _wait(futures, progress_cells, progress, stop_event)
    final = [future.result() for future in futures]  # re-raises a worker's error
    if progress is not None:
        progress(int(sum(progress_cells)))
    completed = np.array([state.beta >= 1.0 for state in final])
    return SMCRunsResult(
        np.stack([state.particles for state in final]),
        np.stack([state.prior_logps for state in final]),
        np.stack([state.likelihood_logps for state in final]),
        np.array([state.log_marginal_likelihood for state in final]),
        [_stage_arrays(record) for record in records], completed, bool(stopped and not completed.all()),
    )
