"""Which Pathfinder paths get an approximation and draws: pruning far-below paths, merging duplicates.

Both decisions use what a path's last iterate offers at the price of a few
log-density evaluations: its position, the ELBO of the normal approximation
there and that approximation's variances
(:func:`mixgraph.init.pathfinder_path.final_elbo`). The bulk of a path's
cost, the ELBO at every iterate and the draws (Zhang, Carpenter, Gelman and
Vehtari 2022, JMLR 23(306), Algorithm 1, lines 4-14), is then spent only on
the paths that matter.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MERGE_DISTANCE", "MERGE_ELBO_GAP", "merged_optima", "pruning_threshold"]

MERGE_DISTANCE = 0.5
"""Two last iterates are the same optimum when no coordinate differs by more than this many
standard deviations of either path's approximation ..."""

MERGE_ELBO_GAP = 1.0
"""... and their last-iterate ELBOs differ by less than this (the estimates' Monte Carlo noise)."""


def pruning_threshold(final_elbos: np.ndarray, prune_margin: float | None,
                      converged: np.ndarray | None = None) -> float:
    """The ELBO a path's last iterate must reach for the path to be given an approximation.

    The ELBO of a normal approximation ``q`` is, by Jensen's inequality, at
    most the log of the target's mass where ``q`` lies (``E_q log(p/q) <=
    log E_q(p/q)``), so it accounts for a mode's volume as well as its
    height (a funnel's neck is high but thin). A path whose ELBO is more
    than ``prune_margin`` below the best path's sits where its draws would
    get importance weights of order ``exp(-prune_margin)`` or less: its ELBO
    along the path and its draws, the bulk of a path's log-density
    evaluations, are not computed. ``None``: keep every path.

    ``converged`` (one flag per path): the best is taken over the paths
    whose optimiser converged, and ``-inf`` (no pruning) is returned when
    none did. A path cut off by the iteration cap may sit where the
    inverse-Hessian estimate is still poor, and its ELBO estimate, too high
    as well as too low, must not set the bar (in Neal's funnel every path
    runs into the neck, where the last iterates' ELBOs are between -300 and
    -1e10: the best of them would keep one path chosen by noise).
    """
    reference = np.isfinite(final_elbos)
    if converged is not None:
        reference &= converged
    if prune_margin is None or not np.any(reference):
        return -np.inf
    return float(np.max(final_elbos[reference]) - prune_margin)


def merged_optima(positions: np.ndarray, final_elbos: np.ndarray, variances: np.ndarray,
                  kept: np.ndarray) -> np.ndarray:
    """For each path, the path whose approximation stands for it (itself unless it is a duplicate).

    Paths are visited from the highest last-iterate ELBO down; a kept path
    joins the first representative whose last iterate is within
    :data:`MERGE_DISTANCE` standard deviations in every coordinate (in
    both paths' scales) and whose ELBO is within :data:`MERGE_ELBO_GAP`;
    otherwise it becomes a representative. Paths not kept, or without a
    finite ELBO and variances, stand for themselves.

    Parameters
    ----------
    positions : ndarray of shape (num_paths, dim)
        Each path's last iterate.
    final_elbos : ndarray of shape (num_paths,)
    variances : ndarray of shape (num_paths, dim)
        The diagonal of each path's last-iterate approximation.
    kept : ndarray of bool, shape (num_paths,)

    Returns
    -------
    ndarray of int, shape (num_paths,)
    """
    representative = np.arange(len(final_elbos))
    usable = kept & np.isfinite(final_elbos) & np.all(np.isfinite(variances) & (variances > 0), axis=1)
    leaders: list[int] = []
    for path in sorted(np.flatnonzero(usable), key=lambda index: -final_elbos[index]):
        for leader in leaders:
            scale = np.sqrt(np.minimum(variances[path], variances[leader]))
            same_point = np.max(np.abs(positions[path] - positions[leader]) / scale) < MERGE_DISTANCE
            if same_point and abs(final_elbos[path] - final_elbos[leader]) < MERGE_ELBO_GAP:
                representative[path] = leader
                break
        else:
            leaders.append(int(path))
    return representative
