"""Default transform and inverse CDF of a mixture (see ``mixture_op`` for the op).

Default transform: a latent mixture takes its components' common default
transform (same class and, for interval transforms, the same bounds,
symbolic bounds compared as graphs); otherwise none, with a reason that the
model turns into a warning only when the default is actually used.

Inverse CDF (univariate mixtures): the root of ``F(x) = q`` by bisection on
the mixture CDF, with a fixed number of steps inside the graph; integer
bisection for discrete mixtures.
"""

from __future__ import annotations

import functools

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Constant, equal_computations
from pytensor.graph.traversal import graph_inputs
from pytensor.scan.utils import until

from mixgraph import transforms
from mixgraph.distributions.mixture_op import MixtureRV, mixture_logcdf
from mixgraph.registry import DEFAULT_TRANSFORM, ICDF

__all__ = ["ComponentTransform", "mixture_default_transform", "mixture_icdf"]

BRACKET_STEPS = 64  # doubling steps to bracket the quantile: up to 2**64 from the start
BISECTION_STEPS = 64  # halving steps: float64 resolution of the bracket


def _family(op) -> str:
    name = type(op).__name__
    return name[:-2] if name.endswith("RV") else name


def _first_component_parameters(op: MixtureRV, parameters) -> list:
    """Component 0's parameters (the first entry of the mixture axis in batched form)."""
    _, groups = op.split_parameters(list(parameters))
    first = groups[0]
    if op.batched:
        first = [p[(Ellipsis, 0) + (slice(None),) * n] for p, n in zip(first, op.component_ops[0].ndims_params)]
    return first


class ComponentTransform(transforms.Transform):
    """A component's transform, fed the component's parameters out of the mixture's."""

    def __init__(self, op: MixtureRV, inner: transforms.Transform) -> None:
        self.op, self.inner = op, inner
        self.name, self.ndim_reduced = inner.name, inner.ndim_reduced

    def forward(self, value, *parameters):
        return self.inner.forward(value, *_first_component_parameters(self.op, parameters))

    def backward(self, value, *parameters):
        return self.inner.backward(value, *_first_component_parameters(self.op, parameters))

    def log_jac_det(self, value, *parameters):
        return self.inner.log_jac_det(value, *_first_component_parameters(self.op, parameters))

    def __repr__(self) -> str:
        return f"ComponentTransform({self.inner!r})"


def _constant_value(variable):
    if all(isinstance(root, Constant) for root in graph_inputs([variable])):
        return np.asarray(variable.eval())
    return None


def _same_bound(first, second) -> bool:
    if first is None or second is None:
        return first is None and second is None
    if equal_computations([first], [second]):
        return True
    a, b = _constant_value(first), _constant_value(second)
    if a is None or b is None:
        return False
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        return False
    return bool(np.all(a == b))


def _constant_along_mixture_axis(bound, axis_from_end: int) -> bool:
    """Whether a batched bound is the same for every component."""
    if bound is None or bound.ndim < axis_from_end:
        return True
    if bound.type.shape[bound.ndim - axis_from_end] == 1:
        return True
    value = _constant_value(bound)
    if value is None:
        return False
    moved = np.moveaxis(value, value.ndim - axis_from_end, 0)
    return bool(np.all(moved == moved[:1]))


def _rules(op: MixtureRV, groups: list) -> list:
    found = []
    for component, group in zip(op.component_ops, groups):
        rule = DEFAULT_TRANSFORM.lookup(component)
        transform = rule(*group) if rule is not None else None
        found.append(None if isinstance(transform, transforms.NoDefaultTransform) else transform)
    return found


def _describe(op: MixtureRV, found: list) -> str:
    return ", ".join(
        f"component {i} {_family(c)}: {'none' if t is None else t.name}"
        for i, (c, t) in enumerate(zip(op.component_ops, found))
    )


@DEFAULT_TRANSFORM.register(MixtureRV, takes_op=True)
def mixture_default_transform(op: MixtureRV, *parameters):
    _, groups = op.split_parameters(list(parameters))
    found = _rules(op, groups)
    if all(t is None for t in found):
        return None
    advice = (
        "so the latent mixture gets no transform and the sampler may step outside a "
        "component's support. Pass transform= to choose one, or default_transform=None to "
        "silence this warning."
    )
    if any(t is None for t in found) or len({type(t) for t in found}) > 1:
        return transforms.NoDefaultTransform(
            f"the mixture's components have different default transforms ({_describe(op, found)}), {advice}"
        )
    if isinstance(found[0], transforms.IntervalTransform):
        bounds = [t.bounds(*g) for t, g in zip(found, groups)]
        if op.batched:
            same = all(_constant_along_mixture_axis(b, 1 + op.ndim_supp) for b in bounds[0])
        else:
            same = all(_same_bound(b[0], bounds[0][0]) and _same_bound(b[1], bounds[0][1]) for b in bounds)
        if not same:
            shown = "; ".join(f"component {i}: {b}" for i, b in enumerate(bounds))
            return transforms.NoDefaultTransform(
                f"the mixture's {_describe(op, found)} components have interval transforms with "
                f"different bounds ({shown}), {advice}"
            )
    return ComponentTransform(op, found[0])


# ---------------------------------------------------------------- inverse CDF
def _cdf_below(op: MixtureRV, x, parameters, quantile):
    """Whether the mixture CDF at ``x`` is below ``quantile``."""
    return pt.lt(pt.exp(mixture_logcdf(op, x, *parameters)), quantile)


def _bracket_step(lower, upper, width, quantile, *parameters, op):
    lower_ok = _cdf_below(op, lower, parameters, quantile)
    upper_ok = pt.invert(_cdf_below(op, upper, parameters, quantile))
    new_lower = pt.switch(lower_ok, lower, lower - width)
    new_upper = pt.switch(upper_ok, upper, upper + width)
    return (new_lower, new_upper, 2.0 * width), until(pt.all(lower_ok & upper_ok))


def _bisection_step(lower, upper, quantile, *parameters, op, discrete):
    middle = pt.floor((lower + upper) / 2.0) if discrete else (lower + upper) / 2.0
    below = _cdf_below(op, middle, parameters, quantile)
    new_lower, new_upper = pt.switch(below, middle, lower), pt.switch(below, upper, middle)
    gap = new_upper - new_lower
    done = pt.all(gap <= (1.0 if discrete else 1e-15 * pt.maximum(1.0, pt.abs(new_upper))))
    return (new_lower, new_upper), until(done)


@ICDF.register(MixtureRV, takes_op=True)
def mixture_icdf(op: MixtureRV, quantile, *parameters):
    """Smallest ``x`` with ``F(x) >= q``, by bisection on the mixture CDF.

    Two loops (``scan``, so the graph stays small): the bracket starts at
    ``[-1, 1]`` and doubles outward until ``F(lower) < q <= F(upper)`` (at
    most 64 steps), then at most 64 bisection steps (integer midpoints for
    discrete mixtures) until the bracket is at float64 resolution.
    ``q`` outside [0, 1] gives NaN.
    """
    if op.ndim_supp != 0:
        raise TypeError("the inverse CDF is defined for univariate mixtures only")
    parameters = list(parameters)
    discrete = op.dtype.startswith("int")
    start = pt.zeros(pt.broadcast_shape(quantile, parameters[0][..., 0]), dtype="float64")
    lowers, uppers, _ = pytensor.scan(
        functools.partial(_bracket_step, op=op),
        outputs_info=[start - 1.0, start + 1.0, pt.ones_like(start)],
        non_sequences=[quantile, *parameters], n_steps=BRACKET_STEPS, return_updates=False,
    )
    lowers, uppers = pytensor.scan(
        functools.partial(_bisection_step, op=op, discrete=discrete),
        outputs_info=[lowers[-1], uppers[-1]],
        non_sequences=[quantile, *parameters], n_steps=BISECTION_STEPS, return_updates=False,
    )
    result = pt.switch(pt.or_(pt.lt(quantile, 0.0), pt.gt(quantile, 1.0)), np.nan, uppers[-1])
    return pt.cast(result, op.dtype) if discrete else result
