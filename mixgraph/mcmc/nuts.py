"""One transition of the No-U-Turn Sampler, with an iteratively built tree.

The algorithm is multinomial NUTS as in Stan (Betancourt 2017, appendix A;
Hoffman and Gelman 2014 for the original slice version):

* the trajectory doubles in a random direction until it makes a U-turn, it
  diverges, or ``max_tree_depth`` doublings have been made;
* inside each new sub-tree a point is chosen with probability proportional to
  its weight :math:`e^{-H}` (uniform progressive sampling, appendix A.3.1);
* at the top level the sub-tree's candidate replaces the current one with
  probability :math:`\\min(1, w_\\text{new} / w_\\text{old})` (biased
  progressive sampling, appendix A.3.2), which favours moving away;
* the generalised U-turn criterion and Stan's two extra checks across sub-trees
  (``metrics.is_turning_after_merge``) are applied at every merge.

The tree is built without recursion (Numba cannot load recursive functions
from its disk cache, numba issues 6061 and 9129). A sub-tree of depth ``d`` is
2**d leapfrog steps; after leaf ``i`` (counted from 0) the sub-trees that it
completes are merged, one per trailing 1-bit of ``i`` (the post-order of the
recursive algorithm). Pending left sub-trees are held in a stack indexed by
their depth, as in blackjax's iterative ``termination.py``.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from mixgraph.mcmc.integrators import PhasePoint, leapfrog
from mixgraph.mcmc.lazy import compiled_only
from mixgraph.mcmc.metrics import draw_momentum, is_turning_after_merge, kinetic_energy, velocity

__all__ = ["NUTSInfo", "NUTSState", "SubtreeResult", "build_subtree", "nuts_transition"]


class NUTSState(NamedTuple):
    """Position of the chain with its cached log-density and gradient."""

    position: np.ndarray
    logp: float
    logp_grad: np.ndarray


class NUTSInfo(NamedTuple):
    """Statistics of one NUTS transition (ArviZ names)."""

    lp: float
    acceptance_rate: float
    acceptance_rate_symmetric: float
    tree_depth: int
    n_steps: int
    diverging: bool
    energy: float
    energy_error: float
    max_energy_error: float
    reached_max_treedepth: bool


class SubtreeResult(NamedTuple):
    """A freshly built sub-tree, summarised for merging into the trajectory.

    ``momentum_begin`` and ``velocity_begin`` belong to the first point
    integrated, ``momentum_end`` and ``velocity_end`` to the last one (``edge``).
    """

    edge: PhasePoint
    proposal: PhasePoint
    proposal_energy: float
    log_sum_weight: float
    momentum_sum: np.ndarray
    momentum_begin: np.ndarray
    velocity_begin: np.ndarray
    momentum_end: np.ndarray
    velocity_end: np.ndarray
    is_turning: bool
    diverging: bool
    sum_acceptance: float
    sum_acceptance_symmetric: float
    n_steps: int
    max_energy_error: float


@compiled_only
def _energy(point):
    """Hamiltonian :math:`H = -\\log\\pi(q) + K(p)`; ``inf`` where logp is not finite."""
    if not np.isfinite(point.logp):
        return np.inf  # Stan maps a NaN energy to +inf: a divergence.
    return -point.logp + kinetic_energy(point.momentum, point.velocity)


@compiled_only
def _larger_error(current, candidate):
    """Return whichever signed energy error is larger in absolute value."""
    if np.isnan(candidate) or abs(candidate) > abs(current):
        return candidate
    return current


@compiled_only
def _symmetric_acceptance(energy_error):
    """nutpie's symmetric acceptance statistic :math:`2 \\min(1, e^{-\\Delta}) / (1 + e^{-\\Delta})`.

    Equal to :math:`2 e^{-|\\Delta|} / (1 + e^{-|\\Delta|})`: it penalises an
    energy error of either sign, where the Metropolis statistic
    :math:`\\min(1, e^{-\\Delta})` counts every drop in energy as a success
    (nuts-rs, ``AcceptanceRateCollector``, used in its late warm-up).
    """
    magnitude = np.exp(-abs(energy_error))
    return 2.0 * magnitude / (1.0 + magnitude)


@compiled_only
def _merge_into_stack(stacks, leaf_index, leaf):
    """Merge the sub-trees completed by leaf ``leaf_index``; push the result.

    ``stacks`` holds, per depth, the pending left sub-tree's momentum sum,
    first momentum, first velocity, last momentum and last velocity.
    Returns ``(is_turning, momentum_sum, momentum_begin, velocity_begin)`` of
    the largest completed sub-tree ending at this leaf (its end is the leaf).
    """
    sums, begin_momenta, begin_velocities, end_momenta, end_velocities = stacks
    momentum_sum = leaf.momentum
    momentum_begin, velocity_begin = leaf.momentum, leaf.velocity
    level = 0
    while (leaf_index >> level) & 1:
        # The stack holds the left sibling (integrated earlier) at this depth.
        if is_turning_after_merge(
            begin_velocities[level], end_momenta[level], end_velocities[level], sums[level],
            momentum_begin, velocity_begin, leaf.velocity, momentum_sum,
        ):
            return True, momentum_sum, momentum_begin, velocity_begin
        momentum_sum = sums[level] + momentum_sum
        momentum_begin = begin_momenta[level].copy()
        velocity_begin = begin_velocities[level].copy()
        level += 1
    if level < sums.shape[0]:
        sums[level] = momentum_sum
        begin_momenta[level] = momentum_begin
        begin_velocities[level] = velocity_begin
        end_momenta[level] = leaf.momentum
        end_velocities[level] = leaf.velocity
    return False, momentum_sum, momentum_begin, velocity_begin


@njit(nogil=True, cache=True, error_model="numpy")
def build_subtree(logp_fn, float_data, int_data, rng, edge, depth, step_size, metric,
                  initial_energy, max_energy_error):
    """Build a sub-tree of ``2**depth`` leapfrog steps starting next to ``edge``.

    Parameters
    ----------
    logp_fn : first-class function
    float_data, int_data : ndarray
    rng : numpy.random.Generator
    edge : PhasePoint
        The end of the current trajectory on the side being extended.
    depth : int
    step_size : float
        Signed: negative to extend the trajectory backwards in time.
    metric : mixgraph.mcmc.metrics.Metric
    initial_energy : float
        Hamiltonian at the start of the transition.
    max_energy_error : float
        An energy error above this is a divergence (1000 in Stan).

    Returns
    -------
    SubtreeResult
        With ``is_turning`` or ``diverging`` set, the sub-tree must be
        discarded and the trajectory stops growing.
    """
    dim = edge.position.shape[0]
    rows = max(depth, 1)
    stacks = (np.empty((rows, dim)), np.empty((rows, dim)), np.empty((rows, dim)),
              np.empty((rows, dim)), np.empty((rows, dim)))
    proposal = edge
    proposal_energy = np.inf
    log_sum_weight = -np.inf
    momentum_sum, momentum_begin, velocity_begin = edge.momentum, edge.momentum, edge.velocity
    sum_acceptance, sum_symmetric, largest_error = 0.0, 0.0, 0.0
    n_leaves = 1 << depth
    for leaf_index in range(n_leaves):
        edge = leapfrog(logp_fn, float_data, int_data, edge, step_size, metric)
        energy = _energy(edge)
        energy_error = energy - initial_energy
        largest_error = _larger_error(largest_error, energy_error)
        # Metropolis acceptance of the leaf, averaged for dual averaging
        # (Hoffman & Gelman 2014, section 3.2.1; Stan's sum_metro_prob).
        if energy_error <= max_energy_error:
            sum_acceptance += 1.0 if energy_error <= 0.0 else np.exp(-energy_error)
            sum_symmetric += _symmetric_acceptance(energy_error)
        else:  # a divergence (or NaN) accepts nothing
            return SubtreeResult(edge, proposal, proposal_energy, log_sum_weight, momentum_sum,
                                 momentum_begin, velocity_begin, edge.momentum, edge.velocity,
                                 False, True, sum_acceptance, sum_symmetric, leaf_index + 1,
                                 largest_error)
        # Uniform progressive sampling inside the sub-tree: keep the new leaf
        # with probability w / sum(w) (Betancourt 2017, appendix A.3.1).
        log_weight = -energy_error
        log_sum_weight = np.logaddexp(log_sum_weight, log_weight)
        if leaf_index == 0 or np.log(rng.random()) < log_weight - log_sum_weight:
            proposal = edge
            proposal_energy = energy
        # A leaf is a sub-tree of depth 0: its momentum is its begin, end and sum.
        turning, momentum_sum, momentum_begin, velocity_begin = _merge_into_stack(
            stacks, leaf_index, edge)
        if turning:
            return SubtreeResult(edge, proposal, proposal_energy, log_sum_weight, momentum_sum,
                                 momentum_begin, velocity_begin, edge.momentum, edge.velocity,
                                 True, False, sum_acceptance, sum_symmetric, leaf_index + 1,
                                 largest_error)
    return SubtreeResult(edge, proposal, proposal_energy, log_sum_weight, momentum_sum,
                         momentum_begin, velocity_begin, edge.momentum, edge.velocity, False,
                         False, sum_acceptance, sum_symmetric, n_leaves, largest_error)


@compiled_only
def _info(proposal, proposal_energy, initial_energy, sum_acceptance, sum_symmetric, n_steps,
          depth, diverging, largest_error, max_tree_depth):
    """Collect the statistics of a finished transition."""
    return NUTSInfo(
        proposal.logp,
        sum_acceptance / max(n_steps, 1),
        sum_symmetric / max(n_steps, 1),
        depth,
        n_steps,
        diverging,
        proposal_energy,
        proposal_energy - initial_energy,
        largest_error,
        depth >= max_tree_depth,
    )


@njit(nogil=True, cache=True, error_model="numpy")
def nuts_transition(logp_fn, float_data, int_data, rng, state, step_size, metric,
                    max_tree_depth, max_energy_error):
    """Make one NUTS transition from ``state``.

    Parameters
    ----------
    logp_fn : first-class function ``(position, grad_out, float_data, int_data) -> logp``
    float_data, int_data : ndarray
        Opaque buffers handed to ``logp_fn``.
    rng : numpy.random.Generator
    state : NUTSState
    step_size : float
    metric : mixgraph.mcmc.metrics.Metric
    max_tree_depth : int
        At most ``2**max_tree_depth - 1`` leapfrog steps are taken.
    max_energy_error : float
        Energy error above which a step is a divergence (1000 in Stan).

    Returns
    -------
    NUTSState
        The new state.
    NUTSInfo
        Statistics of the transition.
    """
    momentum = draw_momentum(rng, metric)
    start = PhasePoint(state.position, momentum, velocity(momentum, metric), state.logp,
                       state.logp_grad)
    initial_energy = _energy(start)
    left, right, proposal = start, start, start
    proposal_energy = initial_energy
    momentum_sum = momentum
    log_sum_weight = 0.0  # log of the weight exp(-(H - H0)) of the start point
    sum_acceptance, sum_symmetric, largest_error = 0.0, 0.0, 0.0
    n_steps, depth, diverging = 0, 0, False
    while depth < max_tree_depth:
        forward = rng.random() < 0.5  # direction of the doubling (Betancourt 2017, A.2)
        edge = right if forward else left
        signed_step = step_size if forward else -step_size
        # int(depth): never the literal 0 of the first pass of type inference,
        # which would compile a second specialisation of build_subtree.
        subtree = build_subtree(logp_fn, float_data, int_data, rng, edge, int(depth),
                                signed_step, metric, initial_energy, max_energy_error)
        n_steps += subtree.n_steps
        sum_acceptance += subtree.sum_acceptance
        sum_symmetric += subtree.sum_acceptance_symmetric
        largest_error = _larger_error(largest_error, subtree.max_energy_error)
        if subtree.diverging:
            diverging = True
            break
        if subtree.is_turning:
            break
        depth += 1
        # Biased progressive sampling between the old tree and the new sub-tree
        # (Betancourt 2017, appendix A.3.2).
        if np.log(rng.random()) < subtree.log_sum_weight - log_sum_weight:
            proposal = subtree.proposal
            proposal_energy = subtree.proposal_energy
        log_sum_weight = np.logaddexp(log_sum_weight, subtree.log_sum_weight)
        # The old tree, ordered as integrated from the new sub-tree's side.
        old_begin = left if forward else right
        old_end = right if forward else left
        turning = is_turning_after_merge(
            old_begin.velocity, old_end.momentum, old_end.velocity, momentum_sum,
            subtree.momentum_begin, subtree.velocity_begin, subtree.velocity_end,
            subtree.momentum_sum,
        )
        momentum_sum = momentum_sum + subtree.momentum_sum
        if forward:
            right = subtree.edge
        else:
            left = subtree.edge
        if turning:
            break
    new_state = NUTSState(proposal.position, proposal.logp, proposal.logp_grad)
    info = _info(proposal, proposal_energy, initial_energy, sum_acceptance, sum_symmetric,
                 n_steps, depth, diverging, largest_error, max_tree_depth)
    return new_state, info
