"""The finite-mixture random-variable op and the functions registered for it.

A :class:`MixtureRV` instance carries the structure of one kind of mixture:
the ops of its components, whether the components are a list (one op per
component) or one batched op whose last batch axis indexes the components,
and so how its flat list of inputs splits into weights and per-component
parameters. Its inputs are ``rng, size, weights, *component_parameters``;
no reference to the user's component variables is kept.

Every rule of a mixture (log-density, log-CDF, support point, default
transform, moments) rebuilds the components' rules through the same
registries as any variable, so any distribution, a mixture included, can be a
component.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.utils import safe_signature

from mixgraph.diagnostics import INITIAL_POINT_DIAGNOSTICS
from mixgraph.logprob import check_parameters, parameter_conditions
from mixgraph.math import logsumexp
from mixgraph.registry import LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, union_of_components

__all__ = ["MixtureRV", "safe_log", "safe_logsumexp", "WEIGHT_SUM_TOLERANCE"]

WEIGHT_SUM_TOLERANCE = 1e-6


def safe_log(weights: TensorVariable) -> TensorVariable:
    """``log(weights)`` with value ``-inf`` and gradient 0 where a weight is 0.

    The plain ``log`` has gradient ``1/0`` there, which meets the zero
    gradient of ``logsumexp`` as ``inf * 0 = NaN``. At an exact zero weight
    (the boundary of the simplex) the gradient with respect to that weight is
    reported as 0.
    """
    positive = pt.gt(weights, 0)
    return pt.switch(positive, pt.log(pt.switch(positive, weights, 1.0)), -np.inf)


def safe_logsumexp(terms: TensorVariable, axis: int = -1) -> TensorVariable:
    """``log(sum(exp(terms)))`` along ``axis``, NaN-free in value and gradient.

    The one implementation is :func:`mixgraph.math.logsumexp`; see there.
    """
    return logsumexp(terms, axis=axis)


def _parameter_counts(ops: Sequence[RandomVariable]) -> tuple[int, ...]:
    return tuple(len(op.ndims_params) for op in ops)


class MixtureRV(RandomVariable):
    """A finite mixture of components, drawn ancestrally.

    Parameters
    ----------
    component_ops : tuple of RandomVariable
        One op per component (list form), or a single op whose last batch axis
        indexes the components (batched form).
    batched : bool
        Which of the two forms.

    Notes
    -----
    Inputs are ``rng, size, weights, *parameters``. ``weights`` has core
    shape ``(K,)``. In list form the parameters of component ``i`` follow in
    its op's order with that op's core dimensions; in batched form each
    parameter has one more core dimension, the mixture axis, placed before
    the op's own core dimensions (length ``K``, or 1 when shared by every
    component).
    """

    __props__ = ("name", "signature", "dtype", "inplace", "component_ops", "batched")

    def __init__(
        self, component_ops: Sequence[RandomVariable], batched: bool, name: str = "mixture",
        signature: str | None = None, dtype: str | None = None, inplace: bool = False,
    ) -> None:
        component_ops = tuple(component_ops)
        extra = 1 if batched else 0
        ndims = [1] + [ndim + extra for op in component_ops for ndim in op.ndims_params]
        signature = signature or safe_signature(ndims, [component_ops[0].ndim_supp])
        dtype = dtype or component_ops[0].dtype
        self.component_ops = component_ops
        self.batched = bool(batched)
        super().__init__(name=name, signature=signature, dtype=dtype, inplace=inplace)

    # ------------------------------------------------------------ structure
    def split_parameters(self, parameters: Sequence) -> tuple:
        """Split ``[weights, *parameters]`` into weights and one list per component op."""
        weights, rest = parameters[0], list(parameters[1:])
        groups, start = [], 0
        for count in _parameter_counts(self.component_ops):
            groups.append(rest[start:start + count])
            start += count
        return weights, groups

    def component_core_ndims(self, index: int) -> list[int]:
        """Core dimensions of component ``index``'s parameters as inputs of this op."""
        extra = 1 if self.batched else 0
        return [ndim + extra for ndim in self.component_ops[index].ndims_params]

    def _supp_shape_from_params(self, dist_params, param_shapes=None):
        _, groups = self.split_parameters(list(dist_params))
        op, parameters = self.component_ops[0], groups[0]
        if self.batched:  # drop the mixture axis: any component has the support shape
            parameters = [
                parameter[(Ellipsis, 0) + (slice(None),) * ndim]
                for parameter, ndim in zip(parameters, op.ndims_params)
            ]
        return op._supp_shape_from_params(parameters)

    # ------------------------------------------------------------ draws
    def rng_fn(self, rng, *args):
        """Ancestral draw: a component index per batch element, then gather."""
        *parameters, size = args
        weights, groups = self.split_parameters(parameters)
        core_ndims = [1] + [n for i in range(len(groups)) for n in self.component_core_ndims(i)]
        if size is None:
            size = np.broadcast_shapes(*[
                np.shape(p)[: np.ndim(p) - n] for p, n in zip(parameters, core_ndims)
            ])
        batch = tuple(size)
        n_components = np.shape(weights)[-1]
        weights = np.broadcast_to(weights, batch + (n_components,))
        cumulative = np.cumsum(weights, axis=-1)
        uniform = rng.uniform(size=batch) * cumulative[..., -1]
        index = np.minimum(np.sum(cumulative <= uniform[..., None], axis=-1), n_components - 1)
        if self.batched:
            draws = self._draw_component(rng, 0, groups[0], batch + (n_components,))
        else:
            draws = np.stack(
                [self._draw_component(rng, i, group, batch) for i, group in enumerate(groups)],
                axis=len(batch),
            )
        ndim_supp = self.ndim_supp
        gathered = np.take_along_axis(
            draws, index.reshape(batch + (1,) + (1,) * ndim_supp), axis=len(batch)
        )
        return np.squeeze(gathered, axis=len(batch))

    def _draw_component(self, rng, index: int, parameters: list, batch: tuple) -> np.ndarray:
        op = self.component_ops[index]
        broadcast = [
            np.broadcast_to(p, batch + np.shape(p)[np.ndim(p) - n:] if n else batch)
            for p, n in zip(parameters, op.ndims_params)
        ]
        return np.asarray(op.rng_fn(rng, *broadcast, batch))


# ---------------------------------------------------------------- helpers
def batch_shape_of(variable: TensorVariable, ndim_supp: int) -> tuple:
    """The symbolic batch shape of ``variable`` (its support axes dropped)."""
    return tuple(variable.shape[axis] for axis in range(variable.ndim - ndim_supp))


def component_logps(op: MixtureRV, value: TensorVariable, groups: list) -> TensorVariable:
    """Each component's log-density at ``value``, stacked on a last (mixture) axis."""
    if op.batched:
        expanded = pt.expand_dims(value, value.ndim - op.ndim_supp)
        return LOGP.get(op.component_ops[0])(expanded, *groups[0])
    terms = [LOGP.get(component)(value, *group) for component, group in zip(op.component_ops, groups)]
    return pt.stack(pt.broadcast_arrays(*terms), axis=-1)


def valid_weights(weights: TensorVariable) -> list:
    """Conditions for symbolic weights to lie on the simplex (else the log-density is -inf)."""
    return [
        pt.all(pt.ge(weights, 0)),
        pt.all(pt.le(pt.abs(pt.sum(weights, axis=-1) - 1.0), WEIGHT_SUM_TOLERANCE)),
    ]


@LOGP.register(MixtureRV, takes_op=True)
def mixture_logp(op: MixtureRV, value, *parameters):
    from mixgraph.distributions.mixture_fused_choice import fused_mixture_logp  # imports this module

    fused = fused_mixture_logp(op, value, parameters)
    if fused is not None:  # one pass over the observations (see mixture_fused.py)
        return fused
    weights, groups = op.split_parameters(parameters)
    logps = component_logps(op, value, groups)
    terms = safe_log(weights) + logps
    # an invalid component parameter makes the mixture -inf; a value outside a
    # component's support only removes that component from the sum
    conditions = valid_weights(weights) + parameter_conditions(logps, value)
    return check_parameters(safe_logsumexp(terms, axis=-1), *conditions)


@LOGCDF.register(MixtureRV, takes_op=True)
def mixture_logcdf(op: MixtureRV, value, *parameters):
    if op.ndim_supp != 0:
        raise TypeError("the log-CDF is defined for univariate mixtures only")
    weights, groups = op.split_parameters(parameters)
    if op.batched:
        expanded = pt.expand_dims(value, value.ndim)
        logcdfs = LOGCDF.get(op.component_ops[0])(expanded, *groups[0])
    else:
        terms = [LOGCDF.get(c)(value, *g) for c, g in zip(op.component_ops, groups)]
        logcdfs = pt.stack(pt.broadcast_arrays(*terms), axis=-1)
    conditions = valid_weights(weights) + parameter_conditions(logcdfs, value)
    return check_parameters(safe_logsumexp(safe_log(weights) + logcdfs, axis=-1), *conditions)


def component_variables(op: MixtureRV, batch: tuple, weights, groups: list) -> list[TensorVariable]:
    """Rebuild the component random variables with the mixture's batch shape.

    In batched form one variable comes back, whose last batch axis has length
    ``K``. These variables are used for their rules (support point, moments),
    never drawn from by the mixture.
    """
    size_batch = list(batch) + ([weights.shape[-1]] if op.batched else [])
    size = pt.as_tensor([pt.as_tensor(s, dtype="int64") for s in size_batch]) if size_batch else pt.as_tensor(np.zeros(0, dtype="int64"))
    variables = []
    for component, group in zip(op.component_ops, groups):
        rng = pytensor.shared(np.random.default_rng(0))
        variables.append(component.make_node(rng, size, *group).default_output())
    return variables


def _stacked_rule(registry, op: MixtureRV, rv: TensorVariable, parameters) -> tuple:
    """A rule of every component, stacked on the mixture axis (before support axes)."""
    weights, groups = op.split_parameters(parameters)
    components = component_variables(op, batch_shape_of(rv, op.ndim_supp), weights, groups)
    values = [
        registry.get(c.owner.op)(c, *c.owner.op.dist_params(c.owner)) for c in components
    ]
    axis = rv.ndim - op.ndim_supp
    stacked = values[0] if op.batched else pt.stack(values, axis=axis)
    expanded_weights = pt.shape_padright(weights, op.ndim_supp)
    return expanded_weights, stacked, axis


@SUPPORT_POINT.register(MixtureRV, takes_op=True)
def mixture_support_point(op: MixtureRV, rv, *parameters):
    weights, points, axis = _stacked_rule(SUPPORT_POINT, op, rv, parameters)
    point = pt.sum(weights * points, axis=axis)
    if op.dtype.startswith("int"):
        return pt.cast(pt.round(point), op.dtype)
    return point


@MEAN.register(MixtureRV, takes_op=True)
def mixture_mean(op: MixtureRV, rv, *parameters):
    """Law of total expectation: ``sum_k w_k E[X_k]``."""
    weights, means, axis = _stacked_rule(MEAN, op, rv, parameters)
    return pt.sum(weights * means, axis=axis)


@VARIANCE.register(MixtureRV, takes_op=True)
def mixture_variance(op: MixtureRV, rv, *parameters):
    """Law of total variance (covariance matrix for multivariate components).

    ``Var X = sum_k w_k Var X_k + sum_k w_k (E X_k - E X)(E X_k - E X)^T``:
    within-component plus between-component (co)variance.
    """
    weights, means, axis = _stacked_rule(MEAN, op, rv, parameters)
    _, variances, _ = _stacked_rule(VARIANCE, op, rv, parameters)
    mean = pt.sum(weights * means, axis=axis, keepdims=True)
    deviation = means - mean
    if op.ndim_supp == 0:
        return pt.sum(weights * (variances + deviation**2), axis=axis)
    if op.ndim_supp != 1:
        raise TypeError("mixture variance is defined for scalar or vector components")
    if variances.ndim == means.ndim:  # components reported variances only: make them diagonal
        variances = variances[..., :, None] * pt.eye(variances.shape[-1])
    outer = deviation[..., :, None] * deviation[..., None, :]
    matrix_weights = pt.shape_padright(weights, 1)  # already padded for one support axis
    return pt.sum(matrix_weights * (variances + outer), axis=axis)


# ---------------------------------------------------------------- support (see support.py)
def _component_check(op: RandomVariable, parameters: list, expand_axis: int | None):
    check = SUPPORT_VIOLATIONS.lookup(op)

    def violations(value):
        if check is None:  # no declared support: anything may lie inside
            return np.zeros(np.shape(value)[: np.ndim(value) - op.ndim_supp], dtype=bool)
        return check(value if expand_axis is None else np.expand_dims(value, expand_axis), *parameters)

    return violations


@SUPPORT_VIOLATIONS.register(MixtureRV, takes_op=True)
def mixture_support_violations(op: MixtureRV, value, *parameters):
    """Outside the union of the components' supports (bounds of symbolic parameters unchecked)."""
    _, groups = op.split_parameters(parameters)
    if op.batched:
        axis = np.ndim(value) - op.ndim_supp
        mask = np.asarray(_component_check(op.component_ops[0], groups[0], axis)(value), dtype=bool)
        return np.all(mask, axis=-1) if mask.ndim > axis else mask
    checks = [_component_check(component, group, None) for component, group in zip(op.component_ops, groups)]
    return union_of_components(checks, value)


# ---------------------------------------------------------------- diagnostics (see diagnostics.py)
def describe_weights(name: str, sums_and_minimum: np.ndarray) -> str | None:
    """A sentence about weights off the simplex, from their row sums and smallest entry."""
    sums, minimum = np.asarray(sums_and_minimum[:-1]), float(sums_and_minimum[-1])
    worst = int(np.argmax(np.abs(sums - 1.0))) if sums.size else 0
    where = f" (row {worst} of {sums.size})" if sums.size > 1 else ""
    if sums.size and abs(sums[worst] - 1.0) > WEIGHT_SUM_TOLERANCE:
        return f"the weights of {name!r} sum to {sums[worst]:.6g}{where}, not 1: make them a point of the simplex (e.g. a Dirichlet variable, or divide by their sum)"
    if minimum < 0:
        return f"the weights of {name!r} include a negative value, {minimum:.6g}: weights must be >= 0"
    return None


@INITIAL_POINT_DIAGNOSTICS.register(MixtureRV, takes_op=True)
def mixture_weights_diagnostic(op: MixtureRV, rv, *parameters):
    """The weights' row sums and smallest entry, for the initial-failure message of ``sample()``."""
    weights = pt.as_tensor(parameters[0])
    sums = pt.flatten(pt.sum(weights, axis=-1))
    return pt.concatenate([sums, pt.atleast_1d(pt.min(weights))]), describe_weights
