"""Which mixtures get the fused log-density: the choice made when a mixture's log-density is built.

A univariate mixture whose components all come from a family of
:data:`mixture_fused.FAMILY_OPS`, with a static number of components, and
whose parameters are each shared by every observation or broadcast to the
value's shape, becomes one :class:`~mixture_fused.FusedMixtureLogp` node;
any other keeps the generic graph (``mixture_op.mixture_logp``).
:func:`generic_only` turns the choice off, for comparisons.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from mixgraph.distributions.mixture_fused import FAMILY_OPS, FusedMixtureLogp
from mixgraph.distributions.mixture_op import MixtureRV, valid_weights
from mixgraph.logprob import parameter_conditions
from mixgraph.registry import LOGP

__all__ = ["fused_mixture_logp", "generic_only"]

_FAMILY_OF_TYPE = {type(op): name for name, op in FAMILY_OPS.items()}

_STATE = {"enabled": True}


@contextlib.contextmanager
def generic_only() -> Iterator[None]:
    """Build mixture log-densities with the generic graph inside this block (for comparisons)."""
    previous = _STATE["enabled"]
    _STATE["enabled"] = False
    try:
        yield
    finally:
        _STATE["enabled"] = previous


def _broadcast_kind(parameter: TensorVariable, value: TensorVariable) -> str | None:
    """``"shared"`` (one entry for all), ``"full"`` (one per observation) or None (keep generic).

    None where the parameter could broadcast the value to a larger shape, or
    where the static shapes already disagree (the generic graph reports that).
    """
    if parameter.ndim > value.ndim:
        return None
    shape = parameter.type.shape
    if all(length == 1 for length in shape):
        return "shared"
    for length, value_length in zip(shape, value.type.shape[value.ndim - parameter.ndim:]):
        if length == 1:
            continue
        if value_length == 1 or (length is not None and value_length is not None and length != value_length):
            return None
    return "full"


def _flat(parameter: TensorVariable, kind: str, value: TensorVariable) -> TensorVariable:
    parameter = pt.cast(parameter, "float64")
    if kind == "shared":
        return parameter.reshape((1,))
    return pt.broadcast_to(parameter, value.shape).ravel()


def _flat_weights(weights: TensorVariable, kind: str, value: TensorVariable, count: int) -> TensorVariable:
    weights = pt.cast(weights, "float64")
    if kind == "shared":
        return weights.reshape((1, count))
    return pt.broadcast_to(weights, (*value.shape, count)).reshape((-1, count))


def _components(op: MixtureRV, groups: list, count: int) -> list[tuple[str, list]] | None:
    """(family, parameters) per component, the batched form split along its mixture axis."""
    families = [_FAMILY_OF_TYPE.get(type(component)) for component in op.component_ops]
    if None in families:
        return None
    if not op.batched:
        return list(zip(families, groups))
    parameters = groups[0]
    if any(p.ndim == 0 or p.type.shape[-1] not in (1, count, None) for p in parameters):
        return None
    return [
        (families[0], [p[..., 0] if p.type.shape[-1] == 1 else p[..., k] for p in parameters])
        for k in range(count)
    ]


def fused_mixture_logp(op: MixtureRV, value: TensorVariable, parameters: Sequence) -> TensorVariable | None:
    """The fused per-observation log-density of a mixture, or None where the generic graph stays.

    Applies to univariate mixtures whose components are all normal, Student's
    t, Poisson or point masses, with a static number of components and parameters that
    are either shared by every observation or broadcast to the value's shape.
    """
    if not _STATE["enabled"] or op.ndim_supp != 0:
        return None
    weights, groups = op.split_parameters(list(parameters))
    weights = pt.as_tensor(weights)
    count = weights.type.shape[-1] if op.batched else len(op.component_ops)
    if count is None or weights.type.shape[-1] not in (count, None):
        return None
    components = _components(op, groups, count)
    if components is None:
        return None
    flat_parameters = [pt.as_tensor(p) for _, group in components for p in group]
    kinds = [_broadcast_kind(weights[..., 0], value)] + [_broadcast_kind(p, value) for p in flat_parameters]
    if None in kinds:
        return None
    families = tuple(family for family, _ in components)
    x = pt.cast(value, "float64").ravel()
    inputs = [x, _flat_weights(weights, kinds[0], value, count)]
    inputs += [_flat(p, kind, value) for p, kind in zip(flat_parameters, kinds[1:])]
    if "poisson" in families:
        inputs.append(pt.gammaln(pt.maximum(x, 0.0) + 1.0))
    fused = FusedMixtureLogp(families, tuple(kind == "shared" for kind in kinds))(*inputs)
    result = fused.reshape(value.shape)
    # The conditions the kernel checks, kept as check_parameters keeps them, so that
    # a mixture or hurdle containing this one is -inf for invalid parameters too.
    logps = [LOGP.get(FAMILY_OPS[family])(value, *group) for family, group in components]
    conditions = valid_weights(weights) + [c for logp in logps for c in parameter_conditions(logp, value)]
    result.tag.parameter_condition = pt.all([pt.all(condition) for condition in conditions])
    return result
