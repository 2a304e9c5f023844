"""Chain starts for ``sample(init=...)``: multi-path Pathfinder, or jitter around the initial point.

``init="auto"`` runs multi-path Pathfinder (:mod:`mixgraph.init.multipath`)
from prior draws mapped to the unconstrained space, and starts each chain at
a distinct draw of the PSIS-resampled approximation, with the variances of
that draw's path as the starting diagonal metric. A model Pathfinder cannot
handle (a prior without random draws, every path failing) falls back to
jitter, and the reason is kept in :attr:`ChainStarts.note`. ``initvals=``
means jitter around them, as does ``init="jitter"``.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, NamedTuple

import numpy as np
from threadpoolctl import ThreadpoolController

from mixgraph.compile import CompiledLogp
from mixgraph.init.jitter import jittered_starts
from mixgraph.init.lbfgs_numba import path_kernels
from mixgraph.init.multipath import PathfinderFailure, multi_path
from mixgraph.init.prior_draws import PriorDrawError, prior_draw_stream

__all__ = [
    "INIT_METHODS", "ChainStarts", "PathfinderSettings", "chain_starts", "check_init", "dispersed_starts",
    "record_init",
]

INIT_METHODS = ("auto", "jitter")

_LOGGER = logging.getLogger("mixgraph")


class PathfinderSettings(NamedTuple):
    """Multi-path Pathfinder's size when it only chooses chain starts (cheap by design)."""

    num_paths: int = 16
    pooled_draws: int = 400
    """Draws from all kept paths together, for PSIS resampling (shared equally by the paths)."""
    pooled_draws_per_optimum: int = 100
    """At most this many pooled draws per distinct optimum: when every path ends at one optimum, its
    approximation gives 100 draws, not 400 (their log-densities were a quarter to a half of the
    initialisation's time on the benchmark models)."""
    num_elbo_draws: int = 4
    max_iterations: int = 100
    prune_margin: float = 20.0
    """Paths whose last iterate's ELBO is more than ``prune_margin`` below the best converged path's get
    no approximation (:func:`mixgraph.init.path_selection.pruning_threshold`): their draws would get no weight."""
    relative_tolerance: float = 1e-7
    """L-BFGS stops when an iteration lowers ``-log p`` by less than this, relatively (Stan's
    ``tol_rel_obj``, scipy's ``ftol``): chain starts need the optimum's region, not its digits."""
    merge_optima: bool = True
    """Paths that end at the same optimum share one approximation and its draws
    (:func:`mixgraph.init.path_selection.merged_optima`)."""
    threads: int = 2
    """Paths run concurrently on this many threads (the starts do not depend on it)."""


class ChainStarts(NamedTuple):
    """Where the chains start, and how that was chosen.

    Attributes
    ----------
    positions : ndarray of shape (chains, dim)
    inverse_mass_matrix : ndarray of shape (chains, dim) or None
        Starting diagonal metric (None: the sampler's own start).
    note : str
        ``"pathfinder"``, ``"jitter"``, or why Pathfinder was not used.
    pareto_k : float
        Pathfinder's Pareto k (NaN when not run).
    seconds : float
        Wall time spent choosing the starts.
    """

    positions: np.ndarray
    inverse_mass_matrix: np.ndarray | None
    note: str
    pareto_k: float
    seconds: float = float("nan")


def check_init(init: Any) -> str:
    """Validate ``sample``'s ``init=``; PyMC's method names get a precise error."""
    if isinstance(init, str) and init in INIT_METHODS:
        return init
    pymc_hint = ""
    if isinstance(init, str) and ("adapt" in init or "advi" in init or "map" in init):
        pymc_hint = (" PyMC's init methods do not exist here: the mass matrix is always adapted, "
                     "'jitter+adapt_diag' is init='jitter', and 'advi' is best replaced by init='auto' (Pathfinder).")
    raise ValueError(f"init must be one of {list(INIT_METHODS)}, got {init!r}.{pymc_hint}")


def dispersed_starts(model: Any, compiled: CompiledLogp, count: int, seed: Any) -> np.ndarray:
    """``count`` prior draws (unconstrained) at which the log-density and its gradient are finite.

    The first ``count`` draws are made first, and more (up to ``4 * count``
    in all) only when some of them are not finite; the result is that of
    drawing ``4 * count`` at once and keeping the first ``count`` finite ones.

    Raises
    ------
    PriorDrawError
        When a free variable's prior cannot be drawn from.
    PathfinderFailure
        When fewer than one draw in ``4 * count`` tries is finite.
    """
    draw = prior_draw_stream(model, compiled.layout, seed, exact=False)
    finite = np.zeros((0, compiled.layout.size))
    for batch in (count, 3 * count):
        draws = draw(batch)
        draws = np.ascontiguousarray(draws[np.all(np.isfinite(draws), axis=1)])
        logps, finite_gradient = path_kernels().batch_logps(compiled.logp_fn, compiled.float_data,
                                                            compiled.int_data, draws)
        finite = np.concatenate([finite, draws[np.isfinite(logps) & finite_gradient]])
        if len(finite) >= count:
            break
    if not len(finite):
        raise PathfinderFailure(f"the log-density is not finite at any of {4 * count} prior draws")
    return finite[:count]


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """Made once: ``threadpool_limits`` looks up the loaded libraries at every use (about 1 ms)."""
    return ThreadpoolController()


def _pathfinder_starts(model, compiled, chains, seed, settings: PathfinderSettings) -> ChainStarts:
    prior_seed, path_seed = seed.spawn(2)
    with _blas_controller().limit(limits=1, user_api="blas"):
        # One BLAS thread: the paths' small matrix products are slower with threads on a busy machine.
        starts = dispersed_starts(model, compiled, settings.num_paths, prior_seed)
        result = multi_path(compiled, starts, np.random.default_rng(path_seed), num_draws=chains,
                            num_draws_per_path=0,  # replaced by pooled_draws
                            num_elbo_draws=settings.num_elbo_draws, max_iterations=settings.max_iterations,
                            replace=False, prune_margin=settings.prune_margin, pooled_draws=settings.pooled_draws,
                            relative_tolerance=settings.relative_tolerance, merge_optima=settings.merge_optima,
                            threads=settings.threads, pooled_draws_per_optimum=settings.pooled_draws_per_optimum)
    positions = np.ascontiguousarray(result.draws)
    logps, finite_gradient = path_kernels().batch_logps(compiled.logp_fn, compiled.float_data, compiled.int_data,
                                                        positions)
    if not (np.all(np.isfinite(logps)) and np.all(finite_gradient)):
        raise PathfinderFailure("a resampled draw has a non-finite gradient")
    inverse_mass_matrix = result.path_variances[result.path_of_draw]
    return ChainStarts(positions, np.ascontiguousarray(inverse_mass_matrix), "pathfinder", result.pareto_k)


def chain_starts(model: Any, compiled: CompiledLogp, start: np.ndarray, chains: int, init: str,
                 initvals_given: bool, jitter_seed: np.random.SeedSequence,
                 pathfinder_seed: np.random.SeedSequence,
                 settings: PathfinderSettings = PathfinderSettings()) -> ChainStarts:
    """One start per chain, by ``init`` (see the module docstring).

    Parameters
    ----------
    start : ndarray
        The flat initial point (support points or ``initvals``), jittered around.
    initvals_given : bool
        True when the user gave ``initvals=``: jitter around them.
    jitter_seed, pathfinder_seed : numpy.random.SeedSequence
        Separate streams, so that ``init="jitter"`` draws what it always drew.
    """
    began = time.perf_counter()
    if init == "jitter" or initvals_given:
        note = "jitter" if init == "jitter" else "jitter (initvals given)"
    else:
        try:
            return _pathfinder_starts(model, compiled, chains, pathfinder_seed, settings)._replace(
                seconds=time.perf_counter() - began)
        except (PriorDrawError, PathfinderFailure) as error:
            note = f"jitter (Pathfinder not used: {type(error).__name__}: {error})"
        except Exception as error:  # noqa: BLE001 - the default start must never stop sample()
            note = f"jitter (Pathfinder not used: {type(error).__name__}: {error})"
            _LOGGER.debug("Pathfinder failed; chains start by jitter", exc_info=True)
    positions = jittered_starts(model, compiled, start, chains, jitter_seed)
    return ChainStarts(positions, None, note, float("nan"), time.perf_counter() - began)


def record_init(idata: Any, starts: ChainStarts) -> None:
    """Note on the posterior and sample_stats groups how the chains started.

    ``attrs["init"]`` is the method used (or why Pathfinder fell back to
    jitter), ``attrs["init_time"]`` its wall time in seconds, and
    ``attrs["init_pareto_k"]`` Pathfinder's Pareto k when it ran.
    """
    for group in ("posterior", "sample_stats"):
        if group in idata.groups():
            attrs = idata[group].attrs
            attrs["init"] = starts.note
            attrs["init_time"] = float(starts.seconds)
            if np.isfinite(starts.pareto_k):
                attrs["init_pareto_k"] = float(starts.pareto_k)
