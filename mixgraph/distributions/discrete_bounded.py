"""Discrete distributions with bounded support: Categorical, DiscreteUniform, DiracDelta.

Each distribution is a small class (PyMC's parameter names, converted to its
op's parameters in ``dist``) next to the functions registered for its op.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.special import softmax

from mixgraph.distributions.base import Distribution, as_parameter, check_constant
from mixgraph.distributions.discrete import broadcast_to_rv
from mixgraph.logprob import check_parameters
from mixgraph.registry import LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, not_equal, outside_interval

__all__ = ["Categorical", "DiscreteUniform", "DiracDelta"]


class Categorical(Distribution):
    r"""Categorical distribution on :math:`\{0, \dots, K - 1\}`.

    .. math:: P(x = k \mid p) = p_k

    Parameters
    ----------
    p : tensor_like, optional
        Non-negative weights along the last axis; they are normalised to sum to one.
    logit_p : tensor_like, optional
        Log-weights: ``p = softmax(logit_p)``; give either ``p`` or ``logit_p``.
    """

    rv_op = random_ops.categorical

    @classmethod
    def dist(cls, p: Any = None, logit_p: Any = None, **kwargs: Any) -> TensorVariable:
        if (p is None) == (logit_p is None):
            raise ValueError("give p or logit_p (one of them)")
        if logit_p is not None:
            return cls.build([softmax(as_parameter(logit_p), axis=-1)], **kwargs)
        check_constant("p", p, lambda array: (array >= 0) & (array.sum(axis=-1, keepdims=True) > 0), "non-negative weights")
        p = as_parameter(p)
        return cls.build([p / pt.sum(p, axis=-1, keepdims=True)], **kwargs)


def _categories(p: TensorVariable) -> TensorVariable:
    return pt.arange(p.shape[-1])


def _valid_weights(p: TensorVariable) -> tuple:
    return pt.ge(p, 0.0), pt.le(pt.abs(pt.sum(p, axis=-1) - 1.0), 1e-8)


@LOGP.register(random_ops.CategoricalRV)
def categorical_logp(value, p):
    matches = pt.eq(pt.shape_padright(value), _categories(p))
    log_mass = pt.sum(pt.switch(matches, pt.log(p), 0.0), axis=-1)
    inside = pt.and_(pt.ge(value, 0), pt.lt(value, p.shape[-1]))
    return check_parameters(pt.switch(inside, log_mass, -np.inf), *_valid_weights(p))


@LOGCDF.register(random_ops.CategoricalRV)
def categorical_logcdf(value, p):
    below = pt.le(_categories(p), pt.shape_padright(value))
    log_cdf = pt.log(pt.sum(pt.switch(below, p, 0.0), axis=-1))
    return check_parameters(pt.switch(pt.ge(value, p.shape[-1] - 1), 0.0, log_cdf), *_valid_weights(p))


@SUPPORT_POINT.register(random_ops.CategoricalRV)
def categorical_support_point(rv, p):
    """The mode."""
    return broadcast_to_rv(rv, pt.argmax(p, axis=-1))


@MEAN.register(random_ops.CategoricalRV)
def categorical_mean(rv, p):
    return pt.broadcast_to(pt.sum(p * _categories(p), axis=-1), rv.shape)


@VARIANCE.register(random_ops.CategoricalRV)
def categorical_variance(rv, p):
    categories = _categories(p)
    mean = pt.sum(p * categories, axis=-1, keepdims=True)
    return pt.broadcast_to(pt.sum(p * (categories - mean) ** 2, axis=-1), rv.shape)


class DiscreteUniformRV(RandomVariable):
    """Uniform on the integers ``lower, ..., upper`` (both included)."""

    name = "discrete_uniform"
    signature = "(),()->()"
    dtype = "int64"
    _print_name = ("DiscreteUniform", "\\operatorname{DiscreteUniform}")

    @classmethod
    def rng_fn(cls, rng, lower, upper, size):
        return rng.integers(lower, upper, size=size, endpoint=True)


discrete_uniform = DiscreteUniformRV()


class DiscreteUniform(Distribution):
    r"""Discrete uniform distribution on the integers from ``lower`` to ``upper``.

    .. math:: P(x \mid l, u) = \frac{1}{u - l + 1}, \quad x = l, \dots, u

    Parameters
    ----------
    lower, upper : tensor_like of int
        Inclusive bounds, ``lower <= upper``.
    """

    rv_op = discrete_uniform

    @classmethod
    def dist(cls, lower: Any, upper: Any, **kwargs: Any) -> TensorVariable:
        if not isinstance(lower, Variable) and not isinstance(upper, Variable):
            gap = np.asarray(upper) - np.asarray(lower)
            check_constant("upper", gap, lambda array: array >= 0, "at least lower")
        return cls.build([as_parameter(lower, dtype="int64"), as_parameter(upper, dtype="int64")], **kwargs)


@LOGP.register(DiscreteUniformRV)
def discrete_uniform_logp(value, lower, upper):
    inside = pt.and_(pt.ge(value, lower), pt.le(value, upper))
    log_mass = pt.switch(inside, -pt.log(upper - lower + 1.0), -np.inf)
    return check_parameters(log_mass, pt.le(lower, upper))


@LOGCDF.register(DiscreteUniformRV)
def discrete_uniform_logcdf(value, lower, upper):
    fraction = (pt.floor(value) - lower + 1.0) / (upper - lower + 1.0)
    log_cdf = pt.log(pt.clip(fraction, 0.0, 1.0))
    return check_parameters(log_cdf, pt.le(lower, upper))


@SUPPORT_POINT.register(DiscreteUniformRV)
def discrete_uniform_support_point(rv, lower, upper):
    return broadcast_to_rv(rv, (lower + upper) // 2)


@MEAN.register(DiscreteUniformRV)
def discrete_uniform_mean(rv, lower, upper):
    return pt.broadcast_to((lower + upper) / 2.0, rv.shape)


@VARIANCE.register(DiscreteUniformRV)
def discrete_uniform_variance(rv, lower, upper):
    return pt.broadcast_to(((upper - lower + 1.0) ** 2 - 1.0) / 12.0, rv.shape)


class DiracDeltaRV(RandomVariable):
    """All mass at ``c``; the op's dtype follows ``c`` (integer or float)."""

    name = "dirac_delta"
    signature = "()->()"
    _print_name = ("DiracDelta", "\\operatorname{DiracDelta}")

    @classmethod
    def rng_fn(cls, rng, c, size):
        if size is None:
            return np.array(c, copy=True)
        return np.array(np.broadcast_to(c, size), copy=True)


dirac_delta_float = DiracDeltaRV(dtype="floatX")
dirac_delta_int = DiracDeltaRV(dtype="int64")


class DiracDelta(Distribution):
    r"""Point mass at ``c``.

    .. math:: P(x \mid c) = \mathbb{1}[x = c]

    Parameters
    ----------
    c : tensor_like
        The only value; integer ``c`` gives an integer variable.
    """

    rv_op = dirac_delta_float

    @classmethod
    def dist(cls, c: Any, **kwargs: Any) -> TensorVariable:
        is_integer = np.asarray(c).dtype.kind in "iub" if not isinstance(c, Variable) else c.dtype.startswith(("int", "uint"))
        if is_integer:
            return cls.build([as_parameter(c, dtype="int64")], rv_op=dirac_delta_int, **kwargs)
        return cls.build([as_parameter(c)], **kwargs)


@LOGP.register(DiracDeltaRV)
def dirac_delta_logp(value, c):
    return pt.switch(pt.eq(value, c), np.float64(0.0), np.float64(-np.inf))


@LOGCDF.register(DiracDeltaRV)
def dirac_delta_logcdf(value, c):
    return pt.switch(pt.lt(value, c), np.float64(-np.inf), np.float64(0.0))


@SUPPORT_POINT.register(DiracDeltaRV)
def dirac_delta_support_point(rv, c):
    return broadcast_to_rv(rv, c)


@MEAN.register(DiracDeltaRV)
def dirac_delta_mean(rv, c):
    return pt.broadcast_to(pt.cast(c, "float64"), rv.shape)


@VARIANCE.register(DiracDeltaRV)
def dirac_delta_variance(rv, c):
    return pt.zeros(rv.shape, dtype="float64")


# ---------------------------------------------------------------- supports (see support.py)
@SUPPORT_VIOLATIONS.register(random_ops.CategoricalRV)
def categorical_support_violations(value, p):
    return outside_interval(value, 0, None if p is None else np.shape(p)[-1] - 1)


@SUPPORT_VIOLATIONS.register(DiscreteUniformRV)
def discrete_uniform_support_violations(value, lower, upper):
    return outside_interval(value, lower, upper)


@SUPPORT_VIOLATIONS.register(DiracDeltaRV)
def dirac_delta_support_violations(value, c):
    return not_equal(value, c)
