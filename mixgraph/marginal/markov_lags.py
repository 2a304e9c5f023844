"""A chain of order ``m`` on ``K`` states as a first-order chain on the ``K ** m`` lagged states.

The lagged state at time ``s`` is the tuple ``a_s = (z_s, ..., z_{s+m-1})``,
coded as ``sum_i z_{s+i} K^{m-1-i}`` (``z_s`` most significant). The tuples
form a first-order chain of length ``T - m + 1``: the standard reduction of a
higher-order Markov chain to a first-order one on tuples of states (Zucchini,
MacDonald and Langrock 2016, *Hidden Markov Models for Time Series*, 2nd ed.,
the chapter on extensions of the basic HMM, second-order Markov chains):

- transitions ``Q[a, b] = P[z_s, ..., z_{s+m-1}, z_{s+m}]`` when ``b`` shifts
  ``a`` by one state (``b = (a mod K^{m-1}) K + z_{s+m}``), zero otherwise;
- initial probabilities ``prod_{i<m} init[z_i]`` (the first ``m`` states are
  independent draws of ``init_dist``, as in pymc-extras);
- emissions: ``a_0`` emits ``y_0..y_{m-1}``, ``sum_{i<m} l_i(z_i)``; later
  tuples emit the state they add, ``l_{s+m-1}(z_{s+m-1})``.

The forward algorithm on the lagged chain gives the exact marginal
likelihood; its paths and smoothed marginals decode back to ``z``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

__all__ = ["lag_digits", "lagged_inputs", "decode_paths", "decode_marginals", "decode_log_marginals"]


def lag_digits(states: int, lags: int) -> np.ndarray:
    """``digits[a, i] = z_{s+i}`` of the lagged state ``a``, shape ``(K ** m, m)``."""
    codes = np.arange(states ** lags)
    return np.stack([(codes // states ** (lags - 1 - i)) % states for i in range(lags)], axis=1)


def _gather_last(values: TensorVariable, index: np.ndarray) -> TensorVariable:
    """``values[..., index]``, shape ``(..., *index.shape)``, as a gather on the first axis (cheap in Numba)."""
    moved = pt.moveaxis(values, -1, 0)[pt.constant(index.ravel().astype(np.int64))]
    gathered = pt.moveaxis(moved, 0, -1)
    return gathered.reshape((*[values.shape[axis] for axis in range(values.ndim - 1)], *index.shape))


def _lagged_transitions(log_transitions: TensorVariable, states: int, lags: int) -> TensorVariable:
    """``log Q``, ``(..., K^m, K^m)``, from ``log P`` of shape ``(..., K, ..., K)`` (``m + 1`` axes)."""
    count = states ** lags
    leading = [log_transitions.shape[axis] for axis in range(log_transitions.ndim - lags - 1)]
    flat = log_transitions.reshape((*leading, count * states))  # row a, column z_new: a * K + z_new
    source, target = np.meshgrid(np.arange(count), np.arange(count), indexing="ij")
    reachable = (target // states) == (source % (count // states))  # b shifts a by one state
    gathered = _gather_last(flat, source * states + target % states)
    return pt.switch(pt.constant(reachable), gathered, -np.inf)


def lagged_inputs(log_init: TensorVariable, log_transitions: TensorVariable, emission: TensorVariable,
                  states: int, lags: int) -> tuple[TensorVariable, TensorVariable, TensorVariable]:
    """The lagged chain's log initial ``(..., K^m)``, log transitions ``(..., K^m, K^m)``, emissions ``(..., T-m+1, K^m)``.

    ``emission`` has shape ``(..., T, K)``; ``log_init`` ``(..., K)``.
    """
    digits = lag_digits(states, lags)
    lagged_init = pt.sum(_gather_last(log_init, digits), axis=-1)
    later = _gather_last(emission[..., lags - 1:, :], digits[:, -1])  # the state each tuple adds
    first = pt.zeros_like(lagged_init)
    for position in range(lags - 1):
        first = first + _gather_last(emission[..., position, :], digits[:, position])
    lagged_emission = pt.inc_subtensor(later[..., 0, :], first)
    return lagged_init, _lagged_transitions(log_transitions, states, lags), lagged_emission


def decode_paths(paths: np.ndarray, states: int, lags: int) -> np.ndarray:
    """Lagged paths ``(..., T - m + 1)`` as paths of ``z``, ``(..., T)``."""
    digits = lag_digits(states, lags)
    return np.concatenate([digits[paths[..., 0], : lags - 1], paths % states], axis=-1)


def _one_hot(digits: np.ndarray, position: int, states: int) -> np.ndarray:
    return (digits[:, position][:, None] == np.arange(states)).astype(np.float64)


def decode_marginals(marginals: TensorVariable, states: int, lags: int) -> TensorVariable:
    """Smoothed marginals of the lagged chain ``(..., T - m + 1, K^m)`` as ``p(z_t = k)``, ``(..., T, K)``."""
    digits = lag_digits(states, lags)
    first = [pt.dot(marginals[..., 0, :], pt.constant(_one_hot(digits, position, states)))[..., None, :]
             for position in range(lags - 1)]
    later = pt.dot(marginals, pt.constant(_one_hot(digits, lags - 1, states)))
    return pt.concatenate([*first, later], axis=-2)


def decode_log_marginals(log_marginals: np.ndarray, states: int, lags: int) -> np.ndarray:
    """:func:`decode_marginals` for NumPy log-probabilities."""
    digits = lag_digits(states, lags)
    probabilities = np.exp(log_marginals)
    first = [(probabilities[..., 0, :] @ _one_hot(digits, position, states))[..., None, :]
             for position in range(lags - 1)]
    later = probabilities @ _one_hot(digits, lags - 1, states)
    with np.errstate(divide="ignore"):
        return np.log(np.concatenate([*first, later], axis=-2))
