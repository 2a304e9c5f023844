"""The improper flat priors: ``Flat`` on the real line, ``HalfFlat`` on the half-line.

Neither has parameters or draws; each is an op of its own (PyTensor has no
random variable for them), registered like any other distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable

from mixgraph.distributions.base import Distribution
from mixgraph.distributions.continuous import _positive_log_transform, broadcast_to_rv
from mixgraph.registry import DEFAULT_TRANSFORM, LOGCDF, LOGP, SUPPORT_POINT
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, outside_interval

__all__ = ["FlatRV", "HalfFlatRV", "Flat", "HalfFlat"]


class FlatRV(RandomVariable):
    """An improper uniform density on the real line (no draws)."""

    name = "flat"
    signature = "->()"
    dtype = "floatX"
    _print_name = ("Flat", "\\operatorname{Flat}")

    @classmethod
    def rng_fn(cls, rng, size):
        raise NotImplementedError("Flat is improper: it has no draws")


class HalfFlatRV(RandomVariable):
    """An improper uniform density on the positive half-line (no draws)."""

    name = "half_flat"
    signature = "->()"
    dtype = "floatX"
    _print_name = ("HalfFlat", "\\operatorname{HalfFlat}")

    @classmethod
    def rng_fn(cls, rng, size):
        raise NotImplementedError("HalfFlat is improper: it has no draws")


flat = FlatRV()
half_flat = HalfFlatRV()


class Flat(Distribution):
    r"""Improper flat prior on the real line.

    .. math:: p(x) \propto 1

    It has no parameters and no draws.
    """

    rv_op = flat

    @classmethod
    def dist(cls, **kwargs: Any) -> TensorVariable:
        return cls.build([], **kwargs)


@LOGP.register(FlatRV)
def flat_logp(value):
    return pt.zeros_like(value, dtype="float64")


@LOGCDF.register(FlatRV)
def flat_logcdf(value):
    # The limit of a uniform on (-a, a) as a grows: 1/2 everywhere but at the ends.
    return pt.switch(
        pt.eq(value, -np.inf), -np.inf, pt.switch(pt.eq(value, np.inf), 0.0, np.log(0.5))
    )


@SUPPORT_POINT.register(FlatRV)
def flat_support_point(rv):
    return broadcast_to_rv(rv, 0.0)


class HalfFlat(Distribution):
    r"""Improper flat prior on the positive half-line.

    .. math:: p(x) \propto 1, \quad x > 0
    """

    rv_op = half_flat

    @classmethod
    def dist(cls, **kwargs: Any) -> TensorVariable:
        return cls.build([], **kwargs)


@LOGP.register(HalfFlatRV)
def half_flat_logp(value):
    return pt.switch(pt.lt(value, 0.0), -np.inf, pt.zeros_like(value, dtype="float64"))


@LOGCDF.register(HalfFlatRV)
def half_flat_logcdf(value):
    return pt.switch(pt.eq(value, np.inf), np.float64(0.0), np.float64(-np.inf))


@SUPPORT_POINT.register(HalfFlatRV)
def half_flat_support_point(rv):
    return broadcast_to_rv(rv, 1.0)


DEFAULT_TRANSFORM.register(HalfFlatRV)(_positive_log_transform)


# ---------------------------------------------------------------- supports (see support.py)
@SUPPORT_VIOLATIONS.register(HalfFlatRV)
def half_flat_support_violations(value):
    return outside_interval(value, 0.0)
