"""Multi-path Pathfinder: many single paths, their draws resampled by PSIS weights.

Zhang, Carpenter, Gelman and Vehtari (2022), JMLR 23(306), Algorithm 2:
single-path Pathfinder (:mod:`mixgraph.init.pathfinder_path`) from many
dispersed starts; the draws of all paths get importance weights
``log p - log q``, smoothed by Pareto-smoothed importance sampling (Vehtari,
Simpson, Gelman, Yao and Gabry 2024, "Pareto smoothed importance sampling",
JMLR 25(72); :mod:`mixgraph.init.psis`), and are resampled. A path stuck in a minor
mode fits that mode, so its draws' weights are proportional to the mode's
mass: resampling keeps the modes that carry the mass.
"""

from __future__ import annotations

import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from mixgraph.init.lbfgs_numba import path_kernels
from mixgraph.init.path_selection import merged_optima, pruning_threshold
from mixgraph.init.psis import pareto_smoothed_log_weights
from mixgraph.init.pathfinder_path import (
    RELATIVE_TOLERANCE, approximation_draws, best_approximation, final_elbo, lbfgs_path, target_logps,
)

__all__ = ["MultiPathResult", "PathfinderFailure", "multi_path", "pruning_threshold", "psis_log_weights"]

GRADIENT_TOLERANCE = 1e-8
"""L-BFGS stops when the largest entry of the gradient is below this."""

VARIANCE_LIMITS = (1e-10, 1e10)
"""Variances handed to the sampler as a starting metric are clipped to this range (as its adaptation)."""


class PathfinderFailure(RuntimeError):
    """No Pathfinder path gave a usable normal approximation."""


class MultiPathResult(NamedTuple):
    """Resampled draws of multi-path Pathfinder, and what produced them.

    Attributes
    ----------
    draws : ndarray of shape (num_draws, dim)
        Resampled, unconstrained, flat.
    path_of_draw : ndarray of int, shape (num_draws,)
        Which path each resampled draw came from.
    logp, logq : ndarray of shape (num_draws,)
        Target and approximation log-densities of the resampled draws.
    pareto_k : float
        PSIS's shape estimate over all paths' draws (above 0.7: the
        approximation is poor and the weights unreliable).
    elbo : ndarray of shape (num_paths,)
        Each path's best ELBO (-inf for a failed or pruned path; a merged
        path's is its representative's).
    path_variances : ndarray of shape (num_paths, dim)
        Diagonal of each path's approximation (NaN for a failed or pruned
        path; a merged path's is its representative's).
    evaluations : int
        Log-density and gradient evaluations, all paths.
    representative : ndarray of int, shape (num_paths,)
        The path whose approximation and draws stand for each path (itself
        unless it was merged as a duplicate optimum).
    costs : dict
        ``{stage: (evaluations, seconds)}`` for the stages ``"lbfgs"``,
        ``"final elbo"``, ``"path elbos"``, ``"draws"`` and ``"psis"``
        (wall time; the paths of a stage run concurrently).
    """

    draws: np.ndarray
    path_of_draw: np.ndarray
    logp: np.ndarray
    logq: np.ndarray
    pareto_k: float
    elbo: np.ndarray
    path_variances: np.ndarray
    evaluations: int
    representative: np.ndarray
    costs: dict


def psis_log_weights(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised Pareto-smoothed log weights and the Pareto k (:mod:`mixgraph.init.psis`).

    Non-finite ratios (draws outside the support) get weight zero and take
    no part in the tail fit.
    """
    log_ratios = np.asarray(log_ratios, dtype=np.float64)
    finite = np.isfinite(log_ratios)
    log_weights = np.full(log_ratios.shape, -np.inf)
    if finite.sum() == 0:
        return log_weights, np.inf
    log_weights[finite], pareto_k = pareto_smoothed_log_weights(log_ratios[finite])
    return log_weights, float(pareto_k)


def _resample(rng: np.random.Generator, log_weights: np.ndarray, count: int, replace: bool) -> np.ndarray:
    weights = np.exp(log_weights - np.max(log_weights))
    weights /= weights.sum()
    if not replace and np.count_nonzero(weights) < count:
        replace = True
    return rng.choice(weights.size, size=count, replace=replace, p=weights)


class _Stages:
    """Evaluations and wall time per stage of :func:`multi_path`, in the order run."""

    def __init__(self) -> None:
        self.costs: dict = {}
        self._began = time.perf_counter()

    def done(self, stage: str, evaluations: int) -> None:
        now = time.perf_counter()
        self.costs[stage] = (int(evaluations), now - self._began)
        self._began = now


def _executor(threads: int) -> ThreadPoolExecutor:
    """One pool per thread count, kept for the process: starting threads at every
    ``sample()`` cost a few milliseconds, a tenth of a small model's initialisation.

    Keyed by the process id as well: a process forked (e.g. by a process pool)
    after the pool was made inherits it without its threads, and would wait
    on it for ever.
    """
    return _process_executor(threads, os.getpid())


@functools.cache
def _process_executor(threads: int, process_id: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pathfinder")


THREAD_MIN_SECONDS = 1e-3
"""A stage's paths go to the threads only when its first path took this long: handing a task to
a thread and back costs 0.1-0.3 ms, as much as a small model's whole L-BFGS path."""


def _mapper(threads: int):
    """``map(function, *items)``, on ``threads`` threads when above 1 and the tasks are long enough.

    The first task runs here and is timed; the others go to the threads if it
    took :data:`THREAD_MIN_SECONDS` or more. The kernels release the GIL
    (``nogil=True``), so paths run in parallel; each path draws from its own
    generator, so the results do not depend on where or when a task runs.
    """
    def run(function, *items):
        rows = list(zip(*items))
        if not rows:
            return []
        began = time.perf_counter()
        first = function(*rows[0])
        if threads <= 1 or time.perf_counter() - began < THREAD_MIN_SECONDS:
            return [first] + [function(*row) for row in rows[1:]]
        return [first] + list(_executor(threads).map(lambda row: function(*row), rows[1:]))

    return run


def _draws_of_groups(arguments, approximations, representative, path_rngs, num_draws_per_path, dim):
    """Each representative's draws, ``num_draws_per_path`` for every path it stands for, and their densities.

    A group of ``k`` merged paths gets the ``k * num_draws_per_path`` draws
    its paths would have had together: when their approximations coincide,
    the pooled draws, and so the importance weights and the resampling,
    have the same distribution as without the merge. The target
    log-densities of all draws are computed in one Numba call.
    """
    draws, logq, path_index = [np.zeros((0, dim))], [np.zeros(0)], [np.zeros(0, dtype=np.int64)]
    for path, approximation in enumerate(approximations):
        if approximation is None or representative[path] != path:
            continue
        count = num_draws_per_path * int(np.count_nonzero(representative == path))
        path_draws, path_logq = approximation_draws(approximation, path_rngs[path], count)
        draws.append(path_draws)
        logq.append(path_logq)
        path_index.append(np.full(count, path, dtype=np.int64))
    draws = np.concatenate(draws)
    return draws, target_logps(*arguments, draws), np.concatenate(logq), np.concatenate(path_index)


def _selected_paths(paths, summaries, prune_margin, merge_optima):
    """Which paths are kept (:func:`pruning_threshold`) and who stands for whom (:func:`merged_optima`)."""
    num_paths = len(paths)
    final_elbos = np.array([elbo for elbo, _ in summaries]) if summaries else np.full(num_paths, np.inf)
    converged = np.array([path.converged for path in paths], dtype=bool)
    kept = final_elbos >= pruning_threshold(final_elbos, prune_margin, converged)
    representative = np.arange(num_paths)
    if merge_optima and summaries:
        last_points = np.array([path.positions[-1] if len(path.positions) else np.full(path.positions.shape[1], np.nan)
                                for path in paths])
        variances = np.array([path_variances for _, path_variances in summaries])
        representative = merged_optima(last_points, final_elbos, variances, kept)
    return kept, representative


def _run_paths(compiled, starts, rng, num_draws_per_path, num_elbo_draws, max_iterations, prune_margin,
               pooled_draws, relative_tolerance, merge_optima, threads, pooled_draws_per_optimum=None):
    arguments = (compiled.logp_fn, compiled.float_data, compiled.int_data)
    num_paths, dim = starts.shape
    path_rngs = rng.spawn(num_paths)  # one stream per path: the same results on any number of threads
    path_kernels()  # compiled (or loaded) once, before the threads start
    stages = _Stages()
    run = _mapper(min(int(threads), num_paths))
    paths = run(lambda start: lbfgs_path(*arguments, start, max_iterations, GRADIENT_TOLERANCE,
                                         relative_tolerance), list(starts))
    stages.done("lbfgs", sum(path.evaluations for path in paths))
    summaries = []
    if prune_margin is not None or merge_optima:
        summaries = run(lambda path, path_rng: final_elbo(*arguments, path, path_rng, num_elbo_draws),
                        paths, path_rngs)
    stages.done("final elbo", num_elbo_draws * sum(len(path.positions) > 1 for path in paths) if summaries else 0)
    kept, representative = _selected_paths(paths, summaries, prune_margin, merge_optima)
    chosen = [path for path in range(num_paths) if kept[path] and representative[path] == path]
    if pooled_draws is not None:
        # The pool PSIS smooths and resamples keeps its size however many paths are kept.
        pool = int(pooled_draws)
        if pooled_draws_per_optimum is not None:
            pool = min(pool, int(pooled_draws_per_optimum) * max(len(chosen), 1))
        num_draws_per_path = -(-pool // max(int(np.count_nonzero(kept)), 1))
    fits = run(lambda path: best_approximation(*arguments, paths[path], path_rngs[path], num_elbo_draws), chosen)
    stages.done("path elbos", sum(evaluations for _, _, evaluations in fits))
    approximations = [None] * num_paths
    elbos = np.full(num_paths, -np.inf)
    for path, (approximation, elbo, _) in zip(chosen, fits):
        approximations[path], elbos[path] = approximation, elbo
    elbos = np.where(kept, elbos[representative], -np.inf)
    draws, logp, logq, path_index = _draws_of_groups(arguments, approximations, representative, path_rngs,
                                                     num_draws_per_path, dim)
    stages.done("draws", len(draws))
    variances = np.array([np.clip(approximations[representative[path]].variances, *VARIANCE_LIMITS)
                          if kept[path] and approximations[representative[path]] is not None else np.full(dim, np.nan)
                          for path in range(num_paths)]).reshape(num_paths, dim)
    return draws, logp, logq, path_index, elbos, variances, representative, stages


def multi_path(compiled, starts: np.ndarray, rng: np.random.Generator, num_draws: int,
               num_draws_per_path: int, num_elbo_draws: int = 10, max_iterations: int = 1000,
               replace: bool = True, prune_margin: float | None = None,
               pooled_draws: int | None = None, relative_tolerance: float = RELATIVE_TOLERANCE,
               merge_optima: bool = False, threads: int = 1,
               pooled_draws_per_optimum: int | None = None) -> MultiPathResult:
    """Pathfinder's Algorithm 2: one path per row of ``starts``, draws pooled and resampled.

    Parameters
    ----------
    compiled : CompiledLogp
        The model's compiled log-density (``logp_fn``, ``float_data``, ``int_data``).
    starts : ndarray of shape (num_paths, dim)
        Unconstrained starting points, e.g. prior draws.
    rng : numpy.random.Generator
        Each path draws from its own child generator (``rng.spawn``); the
        resampling from ``rng``.
    num_draws : int
        Draws returned after resampling.
    num_draws_per_path : int
        Draws taken from each path's best approximation before resampling.
    num_elbo_draws : int
        Monte Carlo draws of the ELBO estimate at each iterate.
    max_iterations : int
        L-BFGS iterations per path.
    replace : bool
        Resample with replacement (as the paper); without, the draws are
        distinct (chain starts).
    prune_margin : float, optional
        Give no approximation to a path whose ELBO at its last iterate is
        more than ``prune_margin`` below the best converged path's
        (:func:`pruning_threshold`); None (default) keeps every path, as the paper.
    pooled_draws : int, optional
        Instead of ``num_draws_per_path``: this many draws in all, shared
        equally by the paths kept (rounded up).
    relative_tolerance : float
        L-BFGS also stops when one iteration lowers ``-log p`` by less than
        this, relatively (scipy's ``ftol``).
    merge_optima : bool
        Paths that end at the same optimum share one approximation and its
        draws (:func:`mixgraph.init.path_selection.merged_optima`); False
        (default): every path gets its own, as the paper.
    threads : int
        Paths run concurrently on this many threads (the results do not depend on it).
    pooled_draws_per_optimum : int, optional
        With ``pooled_draws``: the pool is at most this many draws per distinct
        approximation kept (after merging), so that paths which all end at one
        optimum pay for one approximation's draws, not ``pooled_draws``.

    Raises
    ------
    PathfinderFailure
        When no path gave an approximation with a finite draw.
    """
    draws, logp, logq, path_index, elbos, variances, representative, stages = _run_paths(
        compiled, np.asarray(starts, dtype=np.float64), rng, num_draws_per_path, num_elbo_draws, max_iterations,
        prune_margin, pooled_draws, relative_tolerance, merge_optima, threads, pooled_draws_per_optimum)
    log_weights, pareto_k = psis_log_weights(logp - logq)
    if not np.any(np.isfinite(log_weights)):
        listed = [f"{elbo:.4g}" for elbo in elbos]
        raise PathfinderFailure(f"none of the {len(elbos)} Pathfinder paths gave a finite draw (ELBO per path: "
                                f"{', '.join(listed)})")
    chosen = _resample(rng, log_weights, num_draws, replace)
    stages.done("psis", 0)
    evaluations = sum(evaluations for evaluations, _ in stages.costs.values())
    return MultiPathResult(draws[chosen], path_index[chosen], logp[chosen], logq[chosen], pareto_k, elbos, variances,
                           evaluations, representative, stages.costs)
