"""The triangular distribution on ``[lower, upper]`` with its mode at ``c``.

A small class (PyMC's parameter names) next to the functions registered for
PyTensor's ``TriangularRV``, whose parameters are ``(left, mode, right)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops

from mixgraph import transforms
from mixgraph.distributions.base import Distribution, as_parameter, check_constant
from mixgraph.distributions.continuous import broadcast_to_rv, check_constant_order
from mixgraph.logprob import check_parameters
from mixgraph.registry import DEFAULT_TRANSFORM, LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE

__all__ = ["Triangular"]


def _check_mode_inside(lower: Any, c: Any, upper: Any) -> None:
    if any(isinstance(value, Variable) for value in (lower, c, upper)):
        return
    lower, c, upper = (np.asarray(value, dtype="float64") for value in (lower, c, upper))
    check_constant("c", (c - lower) * (upper - c), lambda product: product >= 0, "between lower and upper")


class Triangular(Distribution):
    r"""Triangular distribution.

    .. math::
        p(x \mid l, c, u) =
        \begin{cases}
            \frac{2 (x - l)}{(u - l)(c - l)} & l \le x < c \\
            \frac{2}{u - l} & x = c \\
            \frac{2 (u - x)}{(u - l)(u - c)} & c < x \le u
        \end{cases}

    Parameters
    ----------
    lower : tensor_like, optional
        Lower bound ``l``. Default 0.
    c : tensor_like, optional
        Mode, ``lower <= c <= upper``. Default 0.5.
    upper : tensor_like, optional
        Upper bound ``u`` (> lower). Default 1.

    Notes
    -----
    ``scipy.stats.triang(c=(c - l) / (u - l), loc=l, scale=u - l)`` is the same distribution.
    """

    rv_op = random_ops.triangular

    @classmethod
    def dist(cls, lower: Any = 0.0, c: Any = 0.5, upper: Any = 1.0, **kwargs: Any) -> TensorVariable:
        check_constant_order("lower", lower, "upper", upper)
        _check_mode_inside(lower, c, upper)
        return cls.build([as_parameter(lower), as_parameter(c), as_parameter(upper)], **kwargs)


def _valid(lower, c, upper) -> tuple:
    return upper > lower, pt.ge(c, lower), pt.le(c, upper)


def _safe_positive(width):
    """``width`` where it is positive, else 1 (a branch that is never selected)."""
    return pt.switch(pt.gt(width, 0.0), width, 1.0)


@LOGP.register(random_ops.TriangularRV)
def triangular_logp(value, lower, c, upper):
    inside = pt.and_(pt.ge(value, lower), pt.le(value, upper))
    # Keep every logarithm's argument positive in the branches not taken, so
    # that neither the value nor the gradient sees a NaN.
    rising = pt.log(_safe_positive(value - lower)) - pt.log(_safe_positive(c - lower))
    falling = pt.log(_safe_positive(upper - value)) - pt.log(_safe_positive(upper - c))
    at_edge = pt.or_(pt.eq(value, lower), pt.eq(value, upper))
    shape = pt.switch(pt.lt(value, c), rising, pt.switch(pt.gt(value, c), falling, 0.0))
    shape = pt.switch(pt.and_(at_edge, pt.neq(value, c)), -np.inf, shape)
    density = np.log(2.0) - pt.log(_safe_positive(upper - lower)) + shape
    return check_parameters(pt.switch(inside, density, -np.inf), *_valid(lower, c, upper))


@LOGCDF.register(random_ops.TriangularRV)
def triangular_logcdf(value, lower, c, upper):
    width = _safe_positive(upper - lower)
    below_mode = (
        2.0 * pt.log(_safe_positive(value - lower)) - pt.log(width) - pt.log(_safe_positive(c - lower))
    )
    above_mode = pt.log1p(-(upper - value) ** 2 / (width * _safe_positive(upper - c)))
    log_cdf = pt.switch(pt.le(value, c), below_mode, above_mode)
    log_cdf = pt.switch(pt.le(value, lower), -np.inf, pt.switch(pt.ge(value, upper), 0.0, log_cdf))
    return check_parameters(log_cdf, *_valid(lower, c, upper))


@SUPPORT_POINT.register(random_ops.TriangularRV)
def triangular_support_point(rv, lower, c, upper):
    """The mean, strictly inside ``(lower, upper)`` even when the mode is on a bound."""
    return broadcast_to_rv(rv, (lower + c + upper) / 3.0)


@MEAN.register(random_ops.TriangularRV)
def triangular_mean(rv, lower, c, upper):
    return broadcast_to_rv(rv, (lower + c + upper) / 3.0)


@VARIANCE.register(random_ops.TriangularRV)
def triangular_variance(rv, lower, c, upper):
    spread = lower**2 + c**2 + upper**2 - lower * c - lower * upper - c * upper
    return broadcast_to_rv(rv, spread / 18.0)


@DEFAULT_TRANSFORM.register(random_ops.TriangularRV)
def triangular_default_transform(lower, c, upper):
    return transforms.IntervalTransform(bounds=lambda lower, c, upper: (lower, upper))
