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

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.tensor import TensorVariable

from mixgraph.distributions.markov import DiscreteMarkovChainRV, markov_chain_validity
from mixgraph.distributions.markov_forward import hmm_log_likelihood, hmm_posterior_marginals
from mixgraph.distributions.mixture_op import safe_log
from mixgraph.logprob import check_parameters, constrained_values
from mixgraph.registry import distribution_parameters

__all__ = [
    "is_markov_group",
    "markov_parameters",
    "markov_marginal_term",
    "markov_posterior_marginals",
    "markov_recovery_inputs",
    "recover_markov",
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


def _hmm_inputs(group: Any, source: Any, emission: TensorVariable) -> tuple:
    init_probabilities, transitions = markov_parameters(group, source)
    return init_probabilities, transitions, (safe_log(init_probabilities), safe_log(transitions), emission.T)


def markov_marginal_term(group: Any, emission: TensorVariable, source: Any) -> TensorVariable:
    """``log p(dependents)`` with the chain summed out; ``emission`` of shape ``(K, T)``."""
    init_probabilities, transitions, inputs = _hmm_inputs(group, source, emission)
    return check_parameters(hmm_log_likelihood(*inputs), *markov_chain_validity(init_probabilities, transitions))


def markov_recovery_inputs(group: Any, emission: TensorVariable, source: Any) -> list[TensorVariable]:
    """What FFBS needs at one draw: log initial ``(K,)``, log transitions, emissions ``(T, K)``."""
    return list(_hmm_inputs(group, source, emission)[2])


def markov_posterior_marginals(group: Any, emission: TensorVariable, source: Any) -> TensorVariable:
    """``p(z_t = k | everything else)``, shape ``(T, K)``, as a graph in the value variables."""
    return hmm_posterior_marginals(*_hmm_inputs(group, source, emission)[2])


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
