"""A DiscreteMarkovChain latent summed out by the forward algorithm, and recovered by FFBS.

A free chain ``z`` (shape ``(T,)``, ``K`` states) whose dependents are
element-wise in ``z[t]`` (``Normal("y", mu[z], sigma, observed=y)``) is
enumerated like any element-wise latent (:mod:`mixgraph.marginal.enumerate`):
that gives the emission log-likelihood ``log p(y_t | z_t = k)`` of each state
at each time, shape ``(K, T)``. Instead of a log-sum-exp per element, the
marginal term is the forward algorithm over those emissions
(:func:`mixgraph.distributions.markov_forward.hmm_log_likelihood`).

After sampling, paths are drawn by forward filtering, backward sampling
(Carter and Kohn 1994; Frühwirth-Schnatter 2006, section 11.5.6):
``z_{T-1} ~ p(z_{T-1} | y)``, then ``z_t ~ p(z_t | y_{0:t}) P^{(t+1)}[z_t,
z_{t+1}]``, vectorised over posterior draws. The smoothed marginals
``p(z_t = k | y)`` come from the scaled backward recursion (Rabiner 1989,
section V.A).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.tensor import TensorVariable

from mixgraph.distributions.markov import DiscreteMarkovChainRV, markov_chain_validity
from mixgraph.distributions.markov_forward import hmm_log_likelihood
from mixgraph.distributions.markov_forward_batched import (
    batched_hmm_log_likelihood,
    batched_hmm_posterior_marginals,
    hmm_step_log_likelihoods,
)
from mixgraph.distributions.mixture_op import safe_log, safe_logsumexp
from mixgraph.logprob import check_parameters, constrained_values
from mixgraph.marginal.markov_lags import decode_log_marginals, decode_marginals, decode_paths, lagged_inputs
from mixgraph.registry import distribution_parameters

__all__ = [
    "is_markov_group",
    "markov_parameters",
    "markov_marginal_term",
    "markov_posterior_marginals",
    "markov_recovery_inputs",
    "markov_step_log_likelihood",
    "chain_shape",
    "ChainShape",
    "recover_markov",
    "recover_markov_group",
    "forward_filter",
    "backward_sample",
    "smoothed_log_probabilities",
]


def is_markov_group(group: Any) -> bool:
    """A DiscreteMarkovChain latent with element-wise dependents (summed out by the forward algorithm)."""
    return isinstance(group.latent.owner.op, DiscreteMarkovChainRV) and group.coupling.elementwise


def markov_parameters(group: Any, source: Any) -> tuple[TensorVariable, TensorVariable]:
    """The chain's initial probabilities and transition matrices, as graphs in the value variables."""
    _, init_probabilities, transitions = distribution_parameters(group.latent)
    return tuple(graph_replace([init_probabilities, transitions], constrained_values(source), strict=False))


class ChainShape(NamedTuple):
    """What the forward algorithm needs to know of a chain variable."""

    batch: tuple  # batch shape of the chains
    length: int  # T
    states: int  # K
    n_lags: int
    time_varying: bool


def chain_shape(group: Any) -> ChainShape:
    op = group.latent.owner.op
    shape = group.configurations.shape[1:]
    return ChainShape(tuple(shape[:-1]), int(shape[-1]), int(group.support.size), op.n_lags, op.time_varying)


def _per_chain_inputs(group: Any, source: Any, emission: TensorVariable) -> tuple:
    """``(init, P)`` for the validity checks, and the (lagged) chain's log init ``(*batch, K')``,
    log transitions ``(*batch, K', K')`` or ``(*batch, S, K', K')`` and emissions ``(*batch, T', K')``."""
    shape = chain_shape(group)
    init_probabilities, transitions = markov_parameters(group, source)
    emission = pt.moveaxis(emission, 0, -1)  # (K, *batch, T) -> (*batch, T, K)
    log_init = pt.broadcast_to(safe_log(init_probabilities), (*shape.batch, shape.states))
    log_transitions = safe_log(transitions)
    if shape.n_lags > 1:
        log_init, log_transitions, emission = lagged_inputs(log_init, log_transitions, emission, shape.states,
                                                            shape.n_lags)
    core_ndim = 3 if shape.time_varying else 2
    core = tuple(log_transitions.shape[axis] for axis in range(log_transitions.ndim - core_ndim, log_transitions.ndim))
    log_transitions = pt.broadcast_to(log_transitions, (*shape.batch, *core))
    return init_probabilities, transitions, (log_init, log_transitions, emission)


def _batched_inputs(shape: ChainShape, log_init, log_transitions, emission) -> list[TensorVariable]:
    """One batch axis of ``B`` chains: ``(B, K'), (B, S, K', K'), (B, T', K')``."""
    chains = int(np.prod(shape.batch, dtype=int))
    states = emission.shape[-1]
    if not shape.time_varying:
        log_transitions = pt.expand_dims(log_transitions, -3)
    return [log_init.reshape((chains, states)),
            log_transitions.reshape((chains, log_transitions.shape[-3], states, states)),
            emission.reshape((chains, emission.shape[-2], states))]


def markov_marginal_term(group: Any, emission: TensorVariable, source: Any) -> TensorVariable:
    """``log p(dependents)`` with the chain(s) summed out; ``emission`` of shape ``(K, *batch, T)``."""
    shape = chain_shape(group)
    init_probabilities, transitions, inputs = _per_chain_inputs(group, source, emission)
    if shape.batch:  # one forward pass per chain, in one op
        value = batched_hmm_log_likelihood(*_batched_inputs(shape, *inputs))
    else:
        value = hmm_log_likelihood(*inputs)
    return check_parameters(value, *markov_chain_validity(init_probabilities, transitions))


def markov_recovery_inputs(group: Any, emission: TensorVariable, source: Any) -> list[TensorVariable]:
    """What FFBS needs at one draw: log initial ``(B, K')``, log transitions ``(B, S, K', K')``, emissions ``(B, T', K')``."""
    return _batched_inputs(chain_shape(group), *_per_chain_inputs(group, source, emission)[2])


def markov_posterior_marginals(group: Any, emission: TensorVariable, source: Any) -> TensorVariable:
    """``p(z_t = k | everything else)``, shape ``(*batch, T, K)``, as a graph in the value variables."""
    shape = chain_shape(group)
    marginals = batched_hmm_posterior_marginals(*markov_recovery_inputs(group, emission, source))
    if shape.n_lags > 1:
        marginals = decode_marginals(marginals, shape.states, shape.n_lags)
    return marginals.reshape((*shape.batch, shape.length, shape.states))


def markov_step_log_likelihood(group: Any, emission: TensorVariable, source: Any) -> TensorVariable:
    """``log p(y_t | y_0, ..., y_{t-1}, theta)`` per chain and time, ``(*batch, T)``: the filter's normalisers.

    They sum to the marginal log-likelihood. For a chain of order ``m`` the
    first ``m`` states are independent, so ``log p(y_t) = logsumexp_k(log init_k
    + l_t(k))`` for ``t < m`` (together the lagged chain's first normaliser),
    and the lagged chain's normalisers follow.
    """
    shape = chain_shape(group)
    init_probabilities, transitions = markov_parameters(group, source)
    steps = hmm_step_log_likelihoods(*markov_recovery_inputs(group, emission, source))
    steps = steps.reshape((*shape.batch, shape.length - shape.n_lags + 1))
    if shape.n_lags > 1:
        log_init = pt.broadcast_to(safe_log(init_probabilities), (*shape.batch, shape.states))
        first = safe_logsumexp(log_init[..., None, :] + pt.moveaxis(emission, 0, -1)[..., : shape.n_lags, :], axis=-1)
        steps = pt.concatenate([first, steps[..., 1:]], axis=-1)
    return check_parameters(steps, *markov_chain_validity(init_probabilities, transitions))


# ---------------------------------------------------------------- FFBS, vectorised over draws
def _matrices(log_transitions: np.ndarray, draws: int) -> np.ndarray:
    """``(draws, S, K, K)`` transition probabilities (``S = 1`` for one shared matrix)."""
    transitions = np.exp(log_transitions)
    return transitions[:, None] if transitions.ndim == 3 else transitions


def forward_filter(log_init: np.ndarray, log_transitions: np.ndarray, emission: np.ndarray) -> tuple:
    """Filtered probabilities ``p(z_t | y_{0:t})`` for a batch of draws.

    Parameters
    ----------
    log_init : numpy.ndarray
        ``(draws, K)``.
    log_transitions : numpy.ndarray
        ``(draws, K, K)`` or ``(draws, T - 1, K, K)``.
    emission : numpy.ndarray
        ``(draws, T, K)``.

    Returns
    -------
    tuple
        ``filtered (draws, T, K)``, ``shifted`` emission likelihoods
        ``exp(emission - max_k)``, the normalising ``scales (draws, T)`` and
        the transition matrices ``(draws, S, K, K)``.
    """
    draws, steps, states = emission.shape
    transitions = _matrices(log_transitions, draws)
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = np.exp(emission - np.max(emission, axis=-1, keepdims=True))
    filtered, scales = np.empty((draws, steps, states)), np.empty((draws, steps))
    predicted = np.exp(log_init)
    for t in range(steps):
        if t > 0:
            matrix = transitions[:, t - 1 if transitions.shape[1] > 1 else 0]
            predicted = np.einsum("di,dij->dj", filtered[:, t - 1], matrix)
        unnormalised = predicted * shifted[:, t]
        scales[:, t] = unnormalised.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            filtered[:, t] = unnormalised / scales[:, t, None]
    return filtered, shifted, scales, transitions


def _inverse_cdf(weights: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(weights, axis=-1)
    index = np.sum(uniforms[:, None] * cumulative[:, -1:] >= cumulative, axis=-1)
    return np.minimum(index, weights.shape[-1] - 1)


def backward_sample(filtered: np.ndarray, transitions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One path per draw from ``p(z | y)``: ``z_{T-1}`` from the last filter, then backwards."""
    draws, steps, _ = filtered.shape
    uniforms = rng.random((steps, draws))
    path = np.empty((draws, steps), dtype=np.int64)
    path[:, steps - 1] = _inverse_cdf(filtered[:, steps - 1], uniforms[steps - 1])
    rows = np.arange(draws)
    for t in range(steps - 2, -1, -1):
        matrix = transitions[:, t if transitions.shape[1] > 1 else 0]  # P^{(t+1)}: from t to t + 1
        # p(z_t = i | z_{t+1}, y) is proportional to p(z_t = i | y_{0:t}) P^{(t+1)}[i, z_{t+1}]
        weights = filtered[:, t] * matrix[rows, :, path[:, t + 1]]
        path[:, t] = _inverse_cdf(weights, uniforms[t])
    return path


def smoothed_log_probabilities(filtered: np.ndarray, shifted: np.ndarray, scales: np.ndarray,
                               transitions: np.ndarray) -> np.ndarray:
    """``log p(z_t = k | y)``, shape ``(draws, T, K)``, by the scaled backward recursion."""
    draws, steps, states = filtered.shape
    smoothed = np.empty_like(filtered)
    backward = np.ones((draws, states))
    for t in range(steps - 1, -1, -1):
        smoothed[:, t] = filtered[:, t] * backward
        if t == 0:
            break
        matrix = transitions[:, t - 1 if transitions.shape[1] > 1 else 0]
        weighted = shifted[:, t] * backward / scales[:, t, None]
        backward = np.einsum("dij,dj->di", matrix, weighted)
    with np.errstate(divide="ignore"):
        return np.log(smoothed / smoothed.sum(axis=-1, keepdims=True))


def recover_markov(log_init: np.ndarray, log_transitions: np.ndarray, emission: np.ndarray,
                   rng: np.random.Generator, include_logps: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Paths ``(..., T)`` by FFBS (and the smoothed log-probabilities ``(..., T, K)``) over leading draw axes."""
    leading = emission.shape[:-2]
    draws = int(np.prod(leading, dtype=int))
    flat_init = log_init.reshape((draws,) + log_init.shape[-1:])
    flat_emission = emission.reshape((draws,) + emission.shape[-2:])
    flat_transitions = log_transitions.reshape((draws,) + log_transitions.shape[len(leading):])
    filtered, shifted, scales, transitions = forward_filter(flat_init, flat_transitions, flat_emission)
    path = backward_sample(filtered, transitions, rng).reshape(leading + emission.shape[-2:-1])
    if not include_logps:
        return path, None
    smoothed = smoothed_log_probabilities(filtered, shifted, scales, transitions)
    return path, smoothed.reshape(leading + emission.shape[-2:])


def recover_markov_group(group: Any, log_init: np.ndarray, log_transitions: np.ndarray, emission: np.ndarray,
                         rng: np.random.Generator, include_logps: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """FFBS for every chain of a group at every draw: paths ``(chain, draw, *batch, T)``.

    The inputs are :func:`markov_recovery_inputs` at every draw, with leading
    ``(chain, draw)`` axes; a chain of order ``m`` is sampled on its lagged
    states and decoded.
    """
    shape = chain_shape(group)
    leading = emission.shape[:2]
    flat = [values.reshape((-1,) + values.shape[3:]) for values in (log_init, log_transitions, emission)]
    path, smoothed = recover_markov(*flat, rng, include_logps)
    if shape.n_lags > 1:
        path = decode_paths(path, shape.states, shape.n_lags)
        smoothed = None if smoothed is None else decode_log_marginals(smoothed, shape.states, shape.n_lags)
    path = path.reshape(leading + shape.batch + (shape.length,))
    if smoothed is not None:
        smoothed = smoothed.reshape(leading + shape.batch + (shape.length, shape.states))
    return path, smoothed
