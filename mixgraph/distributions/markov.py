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
from mixgraph.distributions.mixture_op import safe_log
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, outside_interval
from mixgraph.logprob import check_parameters
from mixgraph.registry import LOGP, SUPPORT_POINT, distribution_parameters
from mixgraph.shapes import static_value

__all__ = ["DiscreteMarkovChain", "DiscreteMarkovChainRV", "markov_chain_validity", "ROW_SUM_TOLERANCE"]

NUMBA_DRAW_VERSION = 1
"""Part of the Numba cache key of the draw; increase it when the draw changes."""

ROW_SUM_TOLERANCE = 1e-6
"""How far from 1 a row of ``P`` (or the initial probabilities) may sum."""


class DiscreteMarkovChainRV(RandomVariable):
    """A first-order Markov chain of ``steps + 1`` states, drawn ancestrally.

    Inputs are ``rng, size, steps, init_probabilities, P``; ``P`` is ``(K, K)``
    (``time_varying=False``) or ``(steps, K, K)``.
    """

    name = "discrete_markov_chain"
    dtype = "int64"
    _print_name = ("DiscreteMarkovChain", "\\operatorname{DiscreteMarkovChain}")

    @property
    def time_varying(self) -> bool:
        """Whether ``P`` holds one matrix per transition."""
        return self.ndims_params[2] == 3

    def _supp_shape_from_params(self, dist_params, param_shapes=None):
        return (dist_params[0] + 1,)

    def rng_fn(self, rng, steps, init_probabilities, transitions, size):
        steps = int(np.asarray(steps).reshape(-1)[0])
        batch = tuple(size) if size is not None else np.broadcast_shapes(
            np.shape(init_probabilities)[:-1], np.shape(transitions)[: -(3 if self.time_varying else 2)])
        init_probabilities = np.broadcast_to(init_probabilities, batch + np.shape(init_probabilities)[-1:])
        transitions = np.broadcast_to(transitions, batch + np.shape(transitions)[-(3 if self.time_varying else 2):])
        draws = np.empty(batch + (steps + 1,), dtype=np.int64)
        for index in np.ndindex(*batch):
            draws[index] = _draw_path(rng, steps, init_probabilities[index], transitions[index])
        return draws


def _draw_path(rng: np.random.Generator, steps: int, init_probabilities: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """One path: ``z_0 ~ init``, then ``z_t ~ P^{(t)}[z_{t-1}]``, by inverting each row's cumulative sum."""
    states = init_probabilities.shape[-1]
    uniforms = rng.random(steps + 1)
    path = np.empty(steps + 1, dtype=np.int64)
    path[0] = min(np.searchsorted(np.cumsum(init_probabilities), uniforms[0] * np.sum(init_probabilities), "right"), states - 1)
    for t in range(1, steps + 1):
        row = (transitions[t - 1] if transitions.ndim == 3 else transitions)[path[t - 1]]
        path[t] = min(np.searchsorted(np.cumsum(row), uniforms[t] * np.sum(row), "right"), states - 1)
    return path


shared_markov_chain = DiscreteMarkovChainRV(signature="(),(k),(k,k)->(t)")
time_varying_markov_chain = DiscreteMarkovChainRV(signature="(),(k),(s,k,k)->(t)")


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
def _numba_shared_path(rng, steps, init_probabilities, transitions):
    path = np.empty(steps + 1, dtype=np.int64)
    path[0] = _draw_state(rng, init_probabilities)
    for t in range(1, steps + 1):
        path[t] = _draw_state(rng, transitions[path[t - 1]])
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
    return (_numba_time_varying_path if op.time_varying else _numba_shared_path), NUMBA_DRAW_VERSION


def _rows_on_simplex(array: np.ndarray) -> np.ndarray:
    return np.all(array >= 0, axis=-1) & (np.abs(array.sum(axis=-1) - 1.0) <= ROW_SUM_TOLERANCE)


def _static(length: Any) -> int | None:
    return None if length is None else int(length)


def _chain_length(shape: Any, size: Any, steps: Any, transitions: TensorVariable) -> int:
    """``T``, from ``shape=(T,)``, ``steps=T - 1`` or a time-varying ``P`` of ``T - 1`` matrices."""
    if size not in (None, ()):
        raise ValueError(
            f"size={size} asks for a batch of chains, which is not supported; give shape=(T,) for one chain "
            f"(or steps=T - 1), and stack several chains as separate variables"
        )
    from_shape = None
    if shape is not None:
        shape = tuple(shape) if np.ndim(shape) else (shape,)
        if len(shape) != 1:
            raise ValueError(f"shape={shape} has {len(shape)} dimensions; a DiscreteMarkovChain has shape (T,)")
        from_shape = static_value(shape[0])  # a dim's current length: the chain's length is fixed here
        if from_shape is None:
            raise ValueError(f"shape={shape}: the chain's length must be known when it is built")
    from_steps = None if steps is None else int(steps) + 1
    from_transitions = _static(transitions.type.shape[0]) + 1 if transitions.ndim == 3 and transitions.type.shape[0] is not None else None
    if from_shape is not None and from_steps is not None and from_shape != from_steps:
        raise ValueError(f"shape={shape} and steps={steps} disagree: a chain of T values has steps = T - 1")
    length = from_shape if from_shape is not None else from_steps if from_steps is not None else from_transitions
    if length is None:
        raise ValueError("give the chain's length: shape=(T,) (or steps=T - 1)")
    if length < 1:
        raise ValueError(f"a chain needs at least one value, got length {length}")
    return length


def _check_transitions(transitions: TensorVariable, length: int) -> None:
    shape = tuple(transitions.type.shape)
    if transitions.ndim not in (2, 3) or (None not in shape[-2:] and shape[-1] != shape[-2]):
        raise ValueError(
            f"P must be one (K, K) transition matrix or (T - 1, K, K) time-varying matrices, got shape {shape}"
        )
    if transitions.ndim == 3 and shape[0] is not None and shape[0] != length - 1:
        hint = " Pass P[1:] (P[t - 1] is the transition from time t - 1 to t)." if shape[0] == length else ""
        raise ValueError(
            f"a time-varying P needs T - 1 = {length - 1} matrices for a chain of length T = {length}, "
            f"got P of shape {shape}.{hint}"
        )


def _initial_probabilities(init_dist: Any, states: int | None) -> TensorVariable:
    if init_dist is None:
        if states is None:
            raise ValueError("give init_dist (a Categorical.dist) when the number of states of P is not known")
        return pt.as_tensor(np.full(states, 1.0 / states))
    if not isinstance(init_dist, Variable) or not isinstance(getattr(init_dist.owner, "op", None), random_ops.CategoricalRV):
        raise ValueError(
            f"init_dist must be a Categorical.dist(p=...) over the K states, got {type(init_dist).__name__}"
            f"{'' if not isinstance(init_dist, Variable) or init_dist.owner is None else ' of ' + type(init_dist.owner.op).__name__}"
        )
    if init_dist.ndim != 0:
        raise ValueError(f"init_dist must be one Categorical (shape ()), got shape {tuple(init_dist.type.shape)}")
    probabilities = distribution_parameters(init_dist)[0]
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
        Number of transitions, ``T - 1`` (PyMC's name); or give ``shape=(T,)``.

    Notes
    -----
    As a free variable it is summed out of the model by the forward
    algorithm, and posterior draws are recovered by forward filtering,
    backward sampling. Batches of chains (``size=``) are not supported.
    """

    @classmethod
    def dist(cls, P: Any = None, logit_P: Any = None, init_dist: Any = None, steps: int | None = None,
             n_lags: int = 1, shape: Any = None, size: Any = None) -> TensorVariable:
        if (P is None) == (logit_P is None):
            raise ValueError("give P or logit_P (one of them)")
        if n_lags != 1:
            raise ValueError(f"n_lags={n_lags}: only first-order chains (n_lags=1) are supported")
        transitions = softmax(as_parameter(logit_P), axis=-1) if logit_P is not None else as_parameter(P)
        length = _chain_length(shape, size, steps, transitions)
        _check_transitions(transitions, length)
        if P is not None:
            check_constant("P", P, _rows_on_simplex, "non-negative with rows summing to 1")
        initial = _initial_probabilities(init_dist, _static(transitions.type.shape[-1]))
        check_constant("init_dist's p", initial, _rows_on_simplex, "non-negative and summing to 1")
        op = time_varying_markov_chain if transitions.ndim == 3 else shared_markov_chain
        return cls.build([pt.as_tensor(np.int64(length - 1)), initial, transitions], rv_op=op)

    @classmethod
    def is_discrete(cls) -> bool:
        return True


def markov_chain_validity(init_probabilities: TensorVariable, transitions: TensorVariable) -> list[TensorVariable]:
    """Run-time conditions: the initial probabilities and every row of ``P`` on the simplex."""
    return [
        pt.all(pt.ge(init_probabilities, 0.0)), pt.all(pt.ge(transitions, 0.0)),
        pt.le(pt.abs(pt.sum(init_probabilities) - 1.0), ROW_SUM_TOLERANCE),
        pt.all(pt.le(pt.abs(pt.sum(transitions, axis=-1) - 1.0), ROW_SUM_TOLERANCE)),
    ]


@LOGP.register(DiscreteMarkovChainRV)
def markov_chain_logp(value, steps, init_probabilities, transitions):
    """``log init[z_0] + sum_t log P^(t)[z_{t-1}, z_t]``, ``-inf`` outside the states."""
    states = init_probabilities.shape[-1]
    inside = pt.all(pt.and_(pt.ge(value, 0), pt.lt(value, states)), axis=-1)
    safe = pt.clip(value, 0, states - 1)
    log_first = safe_log(init_probabilities)[safe[..., 0]]
    log_transitions = safe_log(transitions)
    if transitions.ndim == 3:
        moves = log_transitions[pt.arange(transitions.shape[0]), safe[..., :-1], safe[..., 1:]]
    else:
        moves = log_transitions[safe[..., :-1], safe[..., 1:]]
    log_path = pt.switch(inside, log_first + pt.sum(moves, axis=-1), -np.inf)
    return check_parameters(log_path, *markov_chain_validity(init_probabilities, transitions))


@SUPPORT_POINT.register(DiscreteMarkovChainRV)
def markov_chain_support_point(rv, steps, init_probabilities, transitions):
    """The most probable initial state, held for the whole chain."""
    return pt.full((steps + 1,), pt.argmax(init_probabilities), dtype="int64")


@SUPPORT_VIOLATIONS.register(DiscreteMarkovChainRV)
def markov_chain_support_violations(value, steps, init_probabilities, transitions):
    states = None if init_probabilities is None else np.shape(init_probabilities)[-1] - 1
    return np.any(outside_interval(value, 0, states), axis=-1)
