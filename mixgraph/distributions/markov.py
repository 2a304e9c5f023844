"""DiscreteMarkovChain: a latent state sequence with a transition matrix and an initial distribution.

The chain ``z`` of length ``T`` on the states ``0, ..., K - 1`` has

.. math:: \\log p(z) = \\log \\pi_{z_0} + \\sum_{t=1}^{T-1} \\log P^{(t)}_{z_{t-1} z_t},

with ``P^{(t)} = P`` (one ``(K, K)`` matrix) or ``P^{(t)} = P[t - 1]``
(time-varying, ``P`` of shape ``(T - 1, K, K)``: ``P[t - 1]`` takes the
state at ``t - 1`` to the state at ``t``). As a free variable it is summed out
of the model by the forward algorithm (:mod:`mixgraph.marginal.markov`,
:mod:`mixgraph.distributions.markov_forward`) and its path is recovered by
forward filtering, backward sampling.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.random import numba_core_rv_funcify
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.special import softmax

from mixgraph.distributions.base import Distribution, as_parameter, check_constant
from mixgraph.distributions.markov_shapes import MAX_LAGGED_STATES, chain_layout, check_init_shape
from mixgraph.distributions.mixture_op import safe_log
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, outside_interval
from mixgraph.logprob import check_parameters
from mixgraph.registry import LOGP, SUPPORT_POINT, distribution_parameters

__all__ = ["DiscreteMarkovChain", "DiscreteMarkovChainRV", "MAX_LAGGED_STATES", "markov_chain_op",
           "markov_chain_validity", "ROW_SUM_TOLERANCE"]

NUMBA_DRAW_VERSION = 2
"""Part of the Numba cache key of the draw; increase it when the draw changes."""

ROW_SUM_TOLERANCE = 1e-6
"""How far from 1 a row of ``P`` (or the initial probabilities) may sum."""


class DiscreteMarkovChainRV(RandomVariable):
    """A Markov chain of ``steps + n_lags`` states, drawn ancestrally.

    Inputs are ``rng, size, steps, init_probabilities, P``; ``P`` is ``(K, K)``,
    ``(steps, K, K)`` (time-varying) or ``(K,) * (n_lags + 1)`` (order
    ``n_lags``), after any batch axes. The first ``n_lags`` states are drawn
    independently from ``init_probabilities``.
    """

    name = "discrete_markov_chain"
    dtype = "int64"
    _print_name = ("DiscreteMarkovChain", "\\operatorname{DiscreteMarkovChain}")

    @property
    def time_varying(self) -> bool:
        """Whether ``P`` holds one matrix per transition."""
        return "(s,k,k)" in self.signature

    @property
    def n_lags(self) -> int:
        """The order of the chain."""
        return 1 if self.time_varying else self.ndims_params[2] - 1

    def _supp_shape_from_params(self, dist_params, param_shapes=None):
        return (dist_params[0] + self.n_lags,)

    def rng_fn(self, rng, steps, init_probabilities, transitions, size):
        steps = int(np.asarray(steps).reshape(-1)[0])
        core = 3 if self.time_varying else self.n_lags + 1
        batch = tuple(size) if size is not None else np.broadcast_shapes(
            np.shape(init_probabilities)[:-1], np.shape(transitions)[: np.ndim(transitions) - core])
        init_probabilities = np.broadcast_to(init_probabilities, batch + np.shape(init_probabilities)[-1:])
        transitions = np.broadcast_to(transitions, batch + np.shape(transitions)[np.ndim(transitions) - core:])
        draws = np.empty(batch + (steps + self.n_lags,), dtype=np.int64)
        for index in np.ndindex(*batch):
            draws[index] = _draw_path(rng, steps, init_probabilities[index], transitions[index],
                                      self.time_varying, self.n_lags)
        return draws


def _draw_one(row: np.ndarray, uniform: float) -> int:
    return min(int(np.searchsorted(np.cumsum(row), uniform * np.sum(row), "right")), row.shape[0] - 1)


def _draw_path(rng: np.random.Generator, steps: int, init_probabilities: np.ndarray, transitions: np.ndarray,
               time_varying: bool, n_lags: int) -> np.ndarray:
    """One path: ``z_0..z_{m-1} ~ init`` independently, then ``z_t ~ P[z_{t-m}, ..., z_{t-1}]``."""
    uniforms = rng.random(steps + n_lags)
    path = np.empty(steps + n_lags, dtype=np.int64)
    for t in range(n_lags):
        path[t] = _draw_one(init_probabilities, uniforms[t])
    for t in range(n_lags, steps + n_lags):
        row = transitions[t - 1, path[t - 1]] if time_varying else transitions[tuple(path[t - n_lags: t])]
        path[t] = _draw_one(row, uniforms[t])
    return path


@functools.cache
def markov_chain_op(time_varying: bool, n_lags: int) -> DiscreteMarkovChainRV:
    """The op of a chain: ``P`` core ``(s,k,k)`` (time-varying) or ``(k,) * (n_lags + 1)``."""
    core = "(s,k,k)" if time_varying else "(" + ",".join(["k"] * (n_lags + 1)) + ")"
    return DiscreteMarkovChainRV(signature=f"(),(k),{core}->(t)")


shared_markov_chain = markov_chain_op(False, 1)
time_varying_markov_chain = markov_chain_op(True, 1)


@numba_basic.numba_njit
def _draw_state(rng, row):
    total = 0.0
    for state in range(row.shape[0]):
        total += row[state]
    uniform = rng.uniform(0.0, 1.0) * total
    running = 0.0
    for state in range(row.shape[0]):
        running += row[state]
        if running > uniform:
            return state
    return row.shape[0] - 1


@numba_basic.numba_njit
def _numba_lagged_path(rng, steps, init_probabilities, transitions):
    """Shared P of any order: its rows flattened to ``(K ** n_lags, K)``, the row of the last lags."""
    states = init_probabilities.shape[0]
    rows = np.ascontiguousarray(transitions).reshape((transitions.size // states, states))
    lags = transitions.ndim - 1
    path = np.empty(steps + lags, dtype=np.int64)
    for t in range(lags):
        path[t] = _draw_state(rng, init_probabilities)
    for t in range(lags, steps + lags):
        row = 0
        for lag in range(lags):
            row = row * states + path[t - lags + lag]
        path[t] = _draw_state(rng, rows[row])
    return path


@numba_basic.numba_njit
def _numba_time_varying_path(rng, steps, init_probabilities, transitions):
    path = np.empty(steps + 1, dtype=np.int64)
    path[0] = _draw_state(rng, init_probabilities)
    for t in range(1, steps + 1):
        path[t] = _draw_state(rng, transitions[t - 1, path[t - 1]])
    return path


@numba_core_rv_funcify.register(DiscreteMarkovChainRV)
def _markov_chain_core_draw(op: DiscreteMarkovChainRV, node: Any) -> tuple:
    """The Numba core draw (one path), so that draws run in nopython mode."""
    return (_numba_time_varying_path if op.time_varying else _numba_lagged_path), NUMBA_DRAW_VERSION


def _rows_on_simplex(array: np.ndarray) -> np.ndarray:
    return np.all(array >= 0, axis=-1) & (np.abs(array.sum(axis=-1) - 1.0) <= ROW_SUM_TOLERANCE)


def _static(length: Any) -> int | None:
    return None if length is None else int(length)


def _initial_probabilities(init_dist: Any, states: int | None, batch: tuple) -> TensorVariable:
    if init_dist is None:
        if states is None:
            raise ValueError("give init_dist (a Categorical.dist) when the number of states of P is not known")
        return pt.as_tensor(np.full(states, 1.0 / states))
    if not isinstance(init_dist, Variable) or not isinstance(getattr(init_dist.owner, "op", None), random_ops.CategoricalRV):
        raise ValueError(
            f"init_dist must be a Categorical.dist(p=...) over the K states, got {type(init_dist).__name__}"
            f"{'' if not isinstance(init_dist, Variable) or init_dist.owner is None else ' of ' + type(init_dist.owner.op).__name__}"
        )
    probabilities = distribution_parameters(init_dist)[0]
    check_init_shape(init_dist, probabilities, batch)
    count = probabilities.type.shape[-1]
    if states is not None and count is not None and count != states:
        raise ValueError(f"init_dist has {count} categories but P has {states} states; they must agree")
    return probabilities


class DiscreteMarkovChain(Distribution):
    r"""First-order discrete Markov chain (a hidden Markov model's state sequence).

    .. math:: p(z) = \pi_{z_0} \prod_{t=1}^{T-1} P^{(t)}_{z_{t-1} z_t}

    Parameters
    ----------
    P : tensor_like, optional
        Transition probabilities, rows on the simplex: one ``(K, K)``
        matrix, or ``(T - 1, K, K)`` time-varying matrices where ``P[t - 1]``
        takes the state at ``t - 1`` to the state at ``t``.
    logit_P : tensor_like, optional
        Log-weights instead of ``P``: ``P = softmax(logit_P, axis=-1)``.
    init_dist : TensorVariable, optional
        ``Categorical.dist(p=...)`` over the ``K`` states, the distribution of
        ``z[0]``; uniform if not given.
    steps : int, optional
        Number of transitions, ``T - n_lags`` (PyMC's name); or give ``shape=(T,)``.
    n_lags : int
        The order of the chain (pymc-extras' name), at most
        ``K ** n_lags <= MAX_LAGGED_STATES`` lagged states.

    Notes
    -----
    As a free variable it is summed out of the model by the forward
    algorithm, and posterior draws are recovered by forward filtering,
    backward sampling. ``shape=(*batch, T)`` (or ``size=batch``, or dims)
    makes independent chains; ``P`` and ``init_dist`` may then have one
    value per chain (leading axes) or one shared by all
    (:mod:`mixgraph.distributions.markov_shapes`). A chain of order
    ``n_lags = m`` takes ``P`` of shape ``(K,) * (m + 1)``,
    ``P[z_{t-m}, ..., z_{t-1}, z_t]``, its first ``m`` states independent
    draws of ``init_dist``, and ``steps = T - m``.
    """

    @classmethod
    def dist(cls, P: Any = None, logit_P: Any = None, init_dist: Any = None, steps: int | None = None,
             n_lags: int = 1, shape: Any = None, size: Any = None) -> TensorVariable:
        if (P is None) == (logit_P is None):
            raise ValueError("give P or logit_P (one of them)")
        transitions = softmax(as_parameter(logit_P), axis=-1) if logit_P is not None else as_parameter(P)
        layout = chain_layout(transitions, shape, size, steps, n_lags)
        if P is not None:
            check_constant("P", P, _rows_on_simplex, "non-negative with rows summing to 1")
        initial = _initial_probabilities(init_dist, _static(transitions.type.shape[-1]), layout.batch)
        check_constant("init_dist's p", initial, _rows_on_simplex, "non-negative and summing to 1")
        op = markov_chain_op(layout.time_varying, layout.n_lags)
        return cls.build([pt.as_tensor(np.int64(layout.length - layout.n_lags)), initial, transitions],
                         rv_op=op, size=layout.batch)

    @classmethod
    def is_discrete(cls) -> bool:
        return True


def markov_chain_validity(init_probabilities: TensorVariable, transitions: TensorVariable) -> list[TensorVariable]:
    """Run-time conditions: the initial probabilities and every row of ``P`` on the simplex."""
    return [
        pt.all(pt.ge(init_probabilities, 0.0)), pt.all(pt.ge(transitions, 0.0)),
        pt.all(pt.le(pt.abs(pt.sum(init_probabilities, axis=-1) - 1.0), ROW_SUM_TOLERANCE)),
        pt.all(pt.le(pt.abs(pt.sum(transitions, axis=-1) - 1.0), ROW_SUM_TOLERANCE)),
    ]


def _flat_transition_logs(op: DiscreteMarkovChainRV, transitions: TensorVariable, batch: tuple) -> TensorVariable:
    """``log P`` with its core axes flattened, ``(*batch, K ** (m + 1))`` (``(*batch, S, K * K)`` time-varying)."""
    log_transitions = safe_log(transitions)
    states = transitions.shape[-1]
    core = 3 if op.time_varying else op.n_lags + 1
    leading = [transitions.shape[axis] for axis in range(transitions.ndim - core)]
    if op.time_varying:
        flat = log_transitions.reshape((*leading, transitions.shape[-3], states * states))
        return pt.broadcast_to(flat, (*batch, transitions.shape[-3], states * states))
    flat = log_transitions.reshape((*leading, states ** (op.n_lags + 1)))
    return pt.broadcast_to(flat, (*batch, states ** (op.n_lags + 1)))


def _chain_log_density(op, value, init_probabilities, transitions) -> TensorVariable:
    """``sum_{t < m} log init[z_t] + sum_t log P[z_{t-m}, ..., z_t]``, one value per chain."""
    lags, states = op.n_lags, init_probabilities.shape[-1]
    batch = [value.shape[axis] for axis in range(value.ndim - 1)]
    log_init = pt.broadcast_to(safe_log(init_probabilities), (*batch, states))
    log_first = pt.sum(pt.take_along_axis(log_init, value[..., :lags], axis=-1), axis=-1)
    length = value.shape[-1]
    index = value[..., : length - lags]
    for lag in range(1, lags + 1):  # the flat index of (z_{t-m}, ..., z_t), z_{t-m} most significant
        index = index * states + value[..., lag: length - lags + lag]
    flat = _flat_transition_logs(op, transitions, tuple(batch))
    if op.time_varying:
        moves = pt.take_along_axis(flat, index[..., None], axis=-1)[..., 0]
    else:
        moves = pt.take_along_axis(flat, index, axis=-1)
    return log_first + pt.sum(moves, axis=-1)


@LOGP.register(DiscreteMarkovChainRV, takes_op=True)
def markov_chain_logp(op, value, steps, init_probabilities, transitions):
    """``log p(z)`` per chain, ``-inf`` outside the states."""
    states = init_probabilities.shape[-1]
    inside = pt.all(pt.and_(pt.ge(value, 0), pt.lt(value, states)), axis=-1)
    safe = pt.clip(value, 0, states - 1)
    log_path = pt.switch(inside, _chain_log_density(op, safe, init_probabilities, transitions), -np.inf)
    return check_parameters(log_path, *markov_chain_validity(init_probabilities, transitions))


@SUPPORT_POINT.register(DiscreteMarkovChainRV)
def markov_chain_support_point(rv, steps, init_probabilities, transitions):
    """The most probable initial state, held for the whole chain."""
    return pt.zeros(rv.shape, dtype="int64") + pt.argmax(init_probabilities, axis=-1)[..., None]


@SUPPORT_VIOLATIONS.register(DiscreteMarkovChainRV)
def markov_chain_support_violations(value, steps, init_probabilities, transitions):
    states = None if init_probabilities is None else np.shape(init_probabilities)[-1] - 1
    return np.any(outside_interval(value, 0, states), axis=-1)
