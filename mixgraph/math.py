"""PyTensor functions used in models, under the names PyMC scripts use.

``import mixgraph as mg`` then ``mg.math.exp(...)``, ``mg.math.stack([...])``:
a PyMC script ports by renaming ``pm`` to ``mg``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import zero_grad
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
from pytensor.tensor.special import log_softmax, softmax

__all__ = [
    "abs", "arange", "clip", "concatenate", "cos", "cumsum", "dot", "eq", "erf", "erfc",
    "exp", "expm1", "floor", "ge", "gt", "le", "log", "log1mexp", "log1p", "log1pexp",
    "logit", "invlogit", "logsumexp", "log_softmax", "lt", "matmul", "maximum", "mean",
    "minimum", "neq", "ones", "ones_like", "prod", "sigmoid", "sin", "softmax", "softplus",
    "sqr", "sqrt", "stack", "sum", "switch", "tanh", "where", "zeros", "zeros_like",
]


def logsumexp(x, axis: int | Sequence[int] | None = None, keepdims: bool = False):
    """``log(sum(exp(x), axis))``, stable by construction (as ``scipy.special.logsumexp``).

    The maximum along ``axis`` is subtracted before exponentiating, so no
    term overflows and the result does not depend on a graph rewrite (which
    never reaches inside a ``pytensor.scan``). Where every term is ``-inf``
    the result is ``-inf`` with gradient 0: the shift is then replaced by 0
    (the ``where(isneginf)`` guard) and ``log`` is never differentiated at 0.
    The shift carries no gradient, so the gradient is exactly
    ``softmax(x)``. A ``+inf`` term gives ``+inf``.

    Parameters
    ----------
    x : tensor-like
        The terms.
    axis : int or sequence of int, optional
        Axes to reduce (all by default), negative values counted from the end.
    keepdims : bool
        Keep the reduced axes with length 1, as numpy does.
    """
    x = pt.as_tensor(x)
    if x.dtype.startswith(("int", "uint", "bool")):
        x = pt.cast(x, "float64")
    maximum = pt.max(x, axis=axis, keepdims=True)
    infinite = pt.isinf(maximum)
    all_neginf = pt.isneginf(maximum)
    shift = zero_grad(pt.switch(infinite, 0.0, maximum))
    total = pt.sum(pt.exp(x - shift), axis=axis, keepdims=True)
    result = pt.switch(all_neginf, -np.inf, pt.log(pt.switch(all_neginf, 1.0, total)) + shift)
    if keepdims:
        return result
    return pt.squeeze(result, axis=axis) if axis is not None else pt.squeeze(result)


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
