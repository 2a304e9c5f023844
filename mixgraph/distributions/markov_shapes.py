"""The shapes of a DiscreteMarkovChain: its length, its batch of chains, the layout of ``P`` and ``init_dist``.

A chain variable has shape ``(*batch, T)``: ``batch`` independent chains of
length ``T`` (``shape=(B, T)``, ``size=(B,)`` with ``steps=``, or dims). ``P``
holds, after its own leading batch axes (which broadcast against ``batch``,
right-aligned as in NumPy):

- ``(K, K)``: one matrix for every transition (first order);
- ``(T - 1, K, K)``: time-varying matrices, ``P[t - 1]`` from ``t - 1`` to ``t``;
- ``(K,) * (n_lags + 1)``: a chain of order ``n_lags``, ``P[z_{t-m}, ..., z_{t-1}, z_t]``
  (pymc-extras' convention).

Which one is read from the number of batch axes: with ``shape=(B, T)``, a
``P`` of three axes is ``(B, K, K)``, one matrix per chain. Time-varying
matrices shared by every chain are written ``P[None]``, shape
``(1, T - 1, K, K)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from pytensor.tensor import TensorVariable

from mixgraph.shapes import static_value

__all__ = ["ChainLayout", "MAX_LAGGED_STATES", "chain_layout", "check_init_shape"]

MAX_LAGGED_STATES = 256
"""Largest ``K ** n_lags``: a chain of order ``n_lags`` is summed out as a first-order chain on that many states."""


class ChainLayout(NamedTuple):
    """The resolved shapes of one DiscreteMarkovChain."""

    length: int  # T
    batch: tuple  # batch shape of the chains
    n_lags: int
    time_varying: bool


def _static_shape(shape: Any, what: str) -> tuple:
    shape = tuple(shape) if np.ndim(shape) else (shape,)
    lengths = tuple(static_value(length) for length in shape)
    if any(length is None for length in lengths):
        raise ValueError(f"{what}={shape}: the lengths of a chain variable must be known when it is built")
    return tuple(int(length) for length in lengths)


def _batch_and_length(shape: Any, size: Any, steps: Any, n_lags: int) -> tuple:
    """``batch`` (None: not given) and ``T`` (None: not given) from shape=, size= and steps=."""
    batch, length = None, None
    if shape is not None:
        shape = _static_shape(shape, "shape")
        if len(shape) == 0:
            raise ValueError("shape=() has no time axis; a DiscreteMarkovChain has shape (..., T)")
        batch, length = shape[:-1], shape[-1]
    if size is not None:
        batch = _static_shape(size, "size")
    if steps is not None:
        from_steps = int(steps) + n_lags
        if length is not None and length != from_steps:
            rule = "T - 1" if n_lags == 1 else f"T - n_lags = T - {n_lags}"
            raise ValueError(f"shape={shape} and steps={steps} disagree: a chain of T values has steps = {rule}")
        length = from_steps
    return batch, length


def _transition_kind(transitions: TensorVariable, batch: tuple | None, n_lags: int) -> tuple[bool, int]:
    """``(time_varying, number of P's own batch axes)``."""
    core = n_lags + 1
    if transitions.ndim < core:
        what = "one (K, K) transition matrix or (T - 1, K, K) time-varying matrices" if n_lags == 1 else \
            f"(K,) * {core} transition probabilities for n_lags={n_lags}"
        raise ValueError(f"P must be {what}, got shape {tuple(transitions.type.shape)}")
    if batch is None:  # no batch given: P's axes are all core axes
        if n_lags == 1 and transitions.ndim == 3:
            return True, 0
        if transitions.ndim == core:
            return False, 0
        raise ValueError(
            f"P of shape {tuple(transitions.type.shape)} has {transitions.ndim} axes; with n_lags={n_lags} "
            f"it needs {core} ({'(K, K) or (T - 1, K, K)' if n_lags == 1 else '(K,) * (n_lags + 1)'}), "
            f"or give shape=(..., T) for a batch of chains with one P each"
        )
    if transitions.ndim <= len(batch) + core and transitions.ndim >= core:
        return False, transitions.ndim - core
    if n_lags == 1 and transitions.ndim == len(batch) + 3:
        return True, len(batch)
    wanted = ("(K, K), (*batch, K, K) or (*batch, T - 1, K, K)" if n_lags == 1
              else f"(*batch,) + (K,) * {core}")
    raise ValueError(
        f"P of shape {tuple(transitions.type.shape)} does not fit chains of batch shape {batch}: give P "
        f"of shape {wanted}"
    )


def _check_broadcasts(name: str, leading: tuple, batch: tuple) -> None:
    fits = len(leading) <= len(batch) and all(
        length in (None, 1) or length == wanted for length, wanted in zip(reversed(leading), reversed(batch)))
    if not fits:
        raise ValueError(
            f"{name} has batch shape {leading}, which does not broadcast to the chains' batch shape {batch}; "
            f"give one per chain or one shared by all"
        )


def _check_core(transitions: TensorVariable, own_batch: int, time_varying: bool, n_lags: int, length: int) -> None:
    shape = tuple(transitions.type.shape)
    core = shape[own_batch:]
    states = [length for length in core[-(n_lags + 1):] if length is not None]
    if time_varying:
        states = [length for length in core[-2:] if length is not None]
    if len(set(states)) > 1:
        what = "one (K, K) transition matrix or (T - 1, K, K) time-varying matrices" if n_lags == 1 else \
            f"(K,) * {n_lags + 1} transition probabilities for n_lags={n_lags}"
        raise ValueError(f"P must be {what}, got shape {shape}")
    if time_varying and core[0] is not None and core[0] != length - 1:
        sliced = "P[1:]" if own_batch == 0 else f"P[{':, ' * own_batch}1:]"
        hint = f" Pass {sliced} (P[t - 1] is the transition from time t - 1 to t)." if core[0] == length else ""
        raise ValueError(
            f"a time-varying P needs T - 1 = {length - 1} matrices for a chain of length T = {length}, "
            f"got P of shape {shape}.{hint}"
        )


def chain_layout(transitions: TensorVariable, shape: Any, size: Any, steps: Any, n_lags: int) -> ChainLayout:
    """Resolve and check a chain's shapes; the errors name the shapes and the fix."""
    if not isinstance(n_lags, (int, np.integer)) or n_lags < 1:
        raise ValueError(f"n_lags={n_lags!r}: give a whole number of lags, at least 1")
    n_lags = int(n_lags)
    batch, length = _batch_and_length(shape, size, steps, n_lags)
    time_varying, own_batch = _transition_kind(transitions, batch, n_lags)
    if length is None and time_varying and transitions.type.shape[own_batch] is not None:
        length = int(transitions.type.shape[own_batch]) + 1
    if length is None:
        raise ValueError("give the chain's length: shape=(T,) (or steps=T - 1)")
    if length < n_lags:
        raise ValueError(f"a chain of order n_lags={n_lags} needs at least {n_lags} values, got length {length}")
    if length < 1:
        raise ValueError(f"a chain needs at least one value, got length {length}")
    _check_core(transitions, own_batch, time_varying, n_lags, length)
    leading = tuple(transitions.type.shape[:own_batch])
    if batch is None:
        batch = ()
    _check_broadcasts("P", leading, batch)
    states = transitions.type.shape[-1]
    if n_lags > 1 and states is not None and states ** n_lags > MAX_LAGGED_STATES:
        raise ValueError(
            f"n_lags={n_lags} with K={states} states is summed out as a first-order chain on K**n_lags = "
            f"{states ** n_lags} lagged states, more than MAX_LAGGED_STATES = {MAX_LAGGED_STATES} (the forward "
            f"algorithm costs T * (K**n_lags)**2). Use fewer lags or fewer states"
        )
    return ChainLayout(length, batch, n_lags, time_varying)


def check_init_shape(init_dist: TensorVariable, probabilities: TensorVariable, batch: tuple) -> None:
    """``init_dist``: one Categorical, or one per chain (its shape broadcasts to the batch)."""
    shape = tuple(init_dist.type.shape)
    leading = tuple(probabilities.type.shape[:-1])
    if len(shape) > len(batch) or len(leading) > len(batch):
        raise ValueError(
            f"init_dist must be one Categorical (shape ()) or one per chain (shape {batch}), got shape {shape}"
        )
    _check_broadcasts("init_dist", shape, batch)
    _check_broadcasts("init_dist's p", leading, batch)
