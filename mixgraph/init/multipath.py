"""Multi-path Pathfinder: many single paths, their draws resampled by PSIS weights.

Zhang, Carpenter, Gelman and Vehtari (2022), JMLR 23(306), Algorithm 2:
single-path Pathfinder (:mod:`mixgraph.init.pathfinder_path`) from many
dispersed starts; the draws of all paths get importance weights
``log p - log q``, smoothed by Pareto-smoothed importance sampling (Vehtari,
Simpson, Gelman, Yao and Gabry 2024, "Pareto smoothed importance sampling",
JMLR 25(72); ArviZ's ``psislw``), and are resampled. A path stuck in a minor
mode fits that mode, so its draws' weights are proportional to the mode's
mass: resampling keeps the modes that carry the mass.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from mixgraph.init.pathfinder_path import PathResult, final_elbo, lbfgs_path, path_from_iterates

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
        Each path's best ELBO (-inf for a failed or pruned path).
    path_variances : ndarray of shape (num_paths, dim)
        Diagonal of each path's approximation (NaN for a failed path).
    evaluations : int
        Log-density and gradient evaluations, all paths.
    """

    draws: np.ndarray
    path_of_draw: np.ndarray
    logp: np.ndarray
    logq: np.ndarray
    pareto_k: float
    elbo: np.ndarray
    path_variances: np.ndarray
    evaluations: int


def psis_log_weights(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised Pareto-smoothed log weights and the Pareto k (ArviZ's ``psislw``).

    Non-finite ratios (draws outside the support) get weight zero and take
    no part in the tail fit.
    """
    import arviz

    log_ratios = np.asarray(log_ratios, dtype=np.float64)
    finite = np.isfinite(log_ratios)
    log_weights = np.full(log_ratios.shape, -np.inf)
    if finite.sum() == 0:
        return log_weights, np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smoothed, pareto_k = arviz.psislw(log_ratios[finite] - np.max(log_ratios[finite]))
    log_weights[finite] = smoothed
    return log_weights, float(pareto_k)


def _resample(rng: np.random.Generator, log_weights: np.ndarray, count: int, replace: bool) -> np.ndarray:
    weights = np.exp(log_weights - np.max(log_weights))
    weights /= weights.sum()
    if not replace and np.count_nonzero(weights) < count:
        replace = True
    return rng.choice(weights.size, size=count, replace=replace, p=weights)


def pruning_threshold(final_elbos: np.ndarray, prune_margin: float | None) -> float:
    """The ELBO a path's last iterate must reach for the path to be given an approximation.

    The ELBO of a normal approximation ``q`` is, by Jensen's inequality, at
    most the log of the target's mass where ``q`` lies (``E_q log(p/q) <=
    log E_q(p/q)``), so it accounts for a mode's volume as well as its
    height (a funnel's neck is high but thin). A path whose ELBO is more
    than ``prune_margin`` below the best path's sits where its draws would
    get importance weights of order ``exp(-prune_margin)`` or less: its ELBO
    along the path and its draws, the bulk of a path's log-density
    evaluations, are not computed. ``None``: keep every path.
    """
    finite = final_elbos[np.isfinite(final_elbos)]
    if prune_margin is None or finite.size == 0:
        return -np.inf
    return float(np.max(finite) - prune_margin)


def _run_paths(compiled, starts, rng, num_draws_per_path, num_elbo_draws, max_iterations,
               prune_margin=None, pooled_draws=None) -> list[PathResult]:
    arguments = (compiled.logp_fn, compiled.float_data, compiled.int_data)
    paths = [lbfgs_path(*arguments, start, max_iterations, GRADIENT_TOLERANCE) for start in starts]
    final_elbos = np.full(len(paths), np.inf)
    if prune_margin is not None:
        final_elbos = np.array([final_elbo(*arguments, path, rng, num_elbo_draws) for path in paths])
    threshold = pruning_threshold(final_elbos, prune_margin)
    if pooled_draws is not None:
        # The pool PSIS smooths and resamples keeps its size however many paths are kept.
        num_draws_per_path = -(-int(pooled_draws) // max(int(np.count_nonzero(final_elbos >= threshold)), 1))
    results = []
    for path, elbo in zip(paths, final_elbos):
        if elbo >= threshold:
            results.append(path_from_iterates(*arguments, path, rng, num_draws_per_path, num_elbo_draws))
        else:
            results.append(PathResult(None, -np.inf, np.zeros((0, starts.shape[1])), np.zeros(0), np.zeros(0),
                                      path.positions.shape[0], path.evaluations + num_elbo_draws))
    return results


def multi_path(compiled, starts: np.ndarray, rng: np.random.Generator, num_draws: int,
               num_draws_per_path: int, num_elbo_draws: int = 10, max_iterations: int = 1000,
               replace: bool = True, prune_margin: float | None = None,
               pooled_draws: int | None = None) -> MultiPathResult:
    """Pathfinder's Algorithm 2: one path per row of ``starts``, draws pooled and resampled.

    Parameters
    ----------
    compiled : CompiledLogp
        The model's compiled log-density (``logp_fn``, ``float_data``, ``int_data``).
    starts : ndarray of shape (num_paths, dim)
        Unconstrained starting points, e.g. prior draws.
    rng : numpy.random.Generator
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
        more than ``prune_margin`` below the best path's (:func:`pruning_threshold`);
        None (default) keeps every path, as the paper.
    pooled_draws : int, optional
        Instead of ``num_draws_per_path``: this many draws in all, shared
        equally by the paths kept (rounded up).

    Raises
    ------
    PathfinderFailure
        When no path gave an approximation with a finite draw.
    """
    results = _run_paths(compiled, starts, rng, num_draws_per_path, num_elbo_draws, max_iterations, prune_margin,
                         pooled_draws)
    dim = starts.shape[1]
    draws = np.concatenate([result.draws for result in results]) if results else np.zeros((0, dim))
    logp = np.concatenate([result.logp for result in results]) if results else np.zeros(0)
    logq = np.concatenate([result.logq for result in results]) if results else np.zeros(0)
    path_index = np.concatenate([np.full(result.draws.shape[0], path) for path, result in enumerate(results)]
                                ) if results else np.zeros(0, dtype=int)
    log_weights, pareto_k = psis_log_weights(logp - logq)
    if not np.any(np.isfinite(log_weights)):
        elbos = [f"{result.elbo:.4g}" for result in results]
        raise PathfinderFailure(f"none of the {len(results)} Pathfinder paths gave a finite draw (ELBO per path: "
                                f"{', '.join(elbos)})")
    chosen = _resample(rng, log_weights, num_draws, replace)
    variances = np.array([np.clip(result.approximation.variances, *VARIANCE_LIMITS)
                          if result.approximation is not None else np.full(dim, np.nan) for result in results])
    return MultiPathResult(draws[chosen], path_index[chosen].astype(np.int64), logp[chosen], logq[chosen], pareto_k,
                           np.array([result.elbo for result in results]), variances,
                           int(sum(result.evaluations for result in results)))
