"""PyTensor functions used in models, under the names PyMC scripts use.

``import mixgraph as mg`` then ``mg.math.exp(...)``, ``mg.math.stack([...])``:
a PyMC script ports by renaming ``pm`` to ``mg``.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.tensor import (
    abs,
    arange,
    clip,
    concatenate,
    cos,
    cumsum,
    dot,
    eq,
    erf,
    erfc,
    exp,
    expm1,
    floor,
    ge,
    gt,
    le,
    log,
    log1mexp,
    log1p,
    lt,
    maximum,
    minimum,
    neq,
    ones,
    ones_like,
    prod,
    sigmoid,
    sin,
    softplus,
    sqr,
    sqrt,
    stack,
    sum,
    switch,
    tanh,
    where,
    zeros,
    zeros_like,
)
from pytensor.tensor.math import logsumexp
from pytensor.tensor.special import log_softmax, softmax

__all__ = [
    "abs", "arange", "clip", "concatenate", "cos", "cumsum", "dot", "eq", "erf", "erfc",
    "exp", "expm1", "floor", "ge", "gt", "le", "log", "log1mexp", "log1p", "log1pexp",
    "logit", "invlogit", "logsumexp", "log_softmax", "lt", "matmul", "maximum", "mean",
    "minimum", "neq", "ones", "ones_like", "prod", "sigmoid", "sin", "softmax", "softplus",
    "sqr", "sqrt", "stack", "sum", "switch", "tanh", "where", "zeros", "zeros_like",
]


def log1pexp(x):
    """``log(1 + exp(x))``, computed without overflow (softplus)."""
    return pt.softplus(x)


def logit(p):
    """``log(p / (1 - p))``."""
    return pt.log(p) - pt.log1p(-p)


def invlogit(x):
    """The logistic function, inverse of :func:`logit`."""
    return pt.sigmoid(x)


def matmul(a, b):
    """Matrix product."""
    return pt.matmul(a, b)


def mean(x, axis=None):
    """Arithmetic mean."""
    return pt.mean(x, axis=axis)
