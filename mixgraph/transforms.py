"""Bijections from constrained supports to the real line, with log-Jacobians.

A transform maps a constrained value ``x`` to an unconstrained ``y =
forward(x)``; the sampler works on ``y`` and the log-density gains
``log |det d backward(y) / dy|`` (:meth:`Transform.log_jac_det`). Every method
also receives the distribution's parameters, so that bounds may be symbolic
(``Uniform("x", lower=a, upper=b)`` with ``a`` and ``b`` random).

Transforms that act on a whole vector (``simplex``, ``ordered``) reduce the
last axis in their log-Jacobian: ``ndim_reduced = 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from mixgraph.math import logsumexp

__all__ = [
    "Transform",
    "LogTransform",
    "LogOddsTransform",
    "IntervalTransform",
    "SimplexTransform",
    "OrderedTransform",
    "Chain",
    "log",
    "logodds",
    "simplex",
    "ordered",
    "interval",
    "Interval",
    "NoDefaultTransform",
]

BoundsFunction = Callable[..., tuple]


class Transform:
    """Base class: a bijection with its log-Jacobian determinant."""

    name: str = "transform"
    ndim_reduced: int = 0

    def forward(self, value: TensorVariable, *inputs: TensorVariable) -> TensorVariable:
        """Map a constrained value to the unconstrained space."""
        raise TypeError(f"{type(self).__name__} does not define forward")

    def backward(self, value: TensorVariable, *inputs: TensorVariable) -> TensorVariable:
        """Map an unconstrained value back to the constrained space."""
        raise TypeError(f"{type(self).__name__} does not define backward")

    def log_jac_det(self, value: TensorVariable, *inputs: TensorVariable) -> TensorVariable:
        """Return ``log |det J|`` of :meth:`backward` at the unconstrained ``value``."""
        raise TypeError(f"{type(self).__name__} does not define log_jac_det")

    def initial_forward(self, value: TensorVariable, *inputs: TensorVariable) -> TensorVariable:
        """:meth:`forward` of a default starting value (a support point, not a user's ``initval``).

        Transforms whose forward map is undefined at a support point (an
        ordered vector whose entries all start equal) move it inside first.
        """
        return self.forward(value, *inputs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NoDefaultTransform:
    """What a default-transform rule returns when it finds none and the user should know why.

    The model warns with ``reason`` only if the default is used (no explicit
    ``transform=`` or ``default_transform=``); the variable gets no transform.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason


class LogTransform(Transform):
    """``y = log(x)`` for positive ``x``."""

    name = "log"

    def forward(self, value, *inputs):
        return pt.log(value)

    def backward(self, value, *inputs):
        return pt.exp(value)

    def log_jac_det(self, value, *inputs):
        return pt.as_tensor(value)


class LogOddsTransform(Transform):
    """``y = logit(x)`` for ``x`` in (0, 1)."""

    name = "logodds"

    def forward(self, value, *inputs):
        return pt.log(value) - pt.log1p(-value)

    def backward(self, value, *inputs):
        return pt.sigmoid(value)

    def log_jac_det(self, value, *inputs):
        # d sigmoid(y) / dy = sigmoid(y) sigmoid(-y), in log space for stability
        return -pt.softplus(-value) - pt.softplus(value)


class IntervalTransform(Transform):
    """Scaled log-odds onto ``(lower, upper)``; either bound may be absent.

    Parameters
    ----------
    lower, upper : float, array or None
        Fixed bounds. ``None`` means unbounded on that side.
    bounds : callable, optional
        Instead of fixed bounds, a function of the distribution's parameters
        returning ``(lower, upper)``; this is how symbolic bounds work.
    """

    name = "interval"

    def __init__(self, lower=None, upper=None, bounds: BoundsFunction | None = None) -> None:
        self._fixed = (lower, upper)
        self._bounds = bounds

    def bounds(self, *inputs) -> tuple:
        """Return ``(lower, upper)``, each a tensor or None."""
        lower, upper = self._bounds(*inputs) if self._bounds is not None else self._fixed
        return (
            None if lower is None else pt.as_tensor(lower),
            None if upper is None else pt.as_tensor(upper),
        )

    def forward(self, value, *inputs):
        lower, upper = self.bounds(*inputs)
        if lower is not None and upper is not None:
            return pt.log(value - lower) - pt.log(upper - value)
        if lower is not None:
            return pt.log(value - lower)
        return pt.log(upper - value)

    def backward(self, value, *inputs):
        lower, upper = self.bounds(*inputs)
        if lower is not None and upper is not None:
            return lower + (upper - lower) * pt.sigmoid(value)
        if lower is not None:
            return lower + pt.exp(value)
        return upper - pt.exp(value)

    def log_jac_det(self, value, *inputs):
        lower, upper = self.bounds(*inputs)
        if lower is not None and upper is not None:
            return pt.log(upper - lower) - pt.softplus(-value) - pt.softplus(value)
        return pt.as_tensor(value) + pt.zeros_like(lower if lower is not None else upper)

    def __repr__(self) -> str:
        if self._bounds is not None:
            return "IntervalTransform(bounds from the distribution's parameters)"
        return f"IntervalTransform(lower={self._fixed[0]}, upper={self._fixed[1]})"


def _padded_with_zero(value):
    """``[value, 0]`` along the last axis; for K = 1 (an empty ``value``) the single entry 0, so ``x = [1]``."""
    column = pt.zeros([value.shape[axis] for axis in range(value.ndim - 1)] + [1], dtype=value.dtype)
    return pt.concatenate([value, column], axis=-1)


class SimplexTransform(Transform):
    """Additive log-ratio map from the simplex of length K to R^(K-1).

    ``y_k = log x_k - log x_K``; ``x = softmax([y, 0])``. The Jacobian of the
    first K-1 coordinates is ``diag(x) - x x^T`` whose determinant is
    ``prod_{k=1}^{K} x_k`` (Aitchison 1986, ch. 6), so
    ``log |J| = sum(y) - K logsumexp([y, 0])``.
    """

    name = "simplex"
    ndim_reduced = 1

    def forward(self, value, *inputs):
        log_value = pt.log(value)
        return log_value[..., :-1] - pt.expand_dims(log_value[..., -1], -1)

    def backward(self, value, *inputs):
        return pt.special.softmax(_padded_with_zero(value), axis=-1)

    def log_jac_det(self, value, *inputs):
        padded = _padded_with_zero(value)
        length = pt.cast(padded.shape[-1], "float64")
        return pt.sum(value, axis=-1) - length * logsumexp(padded, axis=-1)


class OrderedTransform(Transform):
    """Increasing vectors along the last axis.

    ``y_0 = x_0`` and ``y_k = log(x_k - x_{k-1})``; the backward map is a
    cumulative sum of ``[y_0, exp(y_1), ...]`` with ``log |J| = sum_{k>0} y_k``
    (Stan reference manual, "Ordered vector" transform).
    """

    name = "ordered"
    ndim_reduced = 1

    def forward(self, value, *inputs):
        differences = pt.log(value[..., 1:] - value[..., :-1])
        return pt.concatenate([value[..., :1], differences], axis=-1)

    def backward(self, value, *inputs):
        steps = pt.concatenate([value[..., :1], pt.exp(value[..., 1:])], axis=-1)
        return pt.cumsum(steps, axis=-1)

    def log_jac_det(self, value, *inputs):
        return pt.sum(value[..., 1:], axis=-1)

    def initial_forward(self, value, *inputs):
        """Spread a start that is not strictly increasing to unit steps around its mean.

        Support points give every entry the same value (the prior's mean or
        mode), where ``log(x_k - x_{k-1})`` is ``-inf``; the start becomes
        ``mean + (k - (K - 1) / 2)`` for ``k = 0..K-1`` instead.
        """
        size = value.shape[-1]
        offsets = pt.arange(size, dtype=value.dtype) - (size - 1) / 2.0
        increasing = pt.all(value[..., 1:] > value[..., :-1], axis=-1, keepdims=True)
        spread = pt.mean(value, axis=-1, keepdims=True) + offsets
        return self.forward(pt.switch(increasing, value, spread), *inputs)


def _sum_trailing(term: TensorVariable, axes: int) -> TensorVariable:
    return pt.sum(term, axis=tuple(range(-axes, 0))) if axes > 0 else term


class Chain(Transform):
    """Compose transforms: ``forward`` applies them in order, ``backward`` in reverse.

    Parameters
    ----------
    transforms : sequence of Transform
        E.g. ``Chain([log, ordered])`` for positive increasing vectors.
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)
        self.name = "_".join(transform.name for transform in self.transforms)
        self.ndim_reduced = max(transform.ndim_reduced for transform in self.transforms)

    def forward(self, value, *inputs):
        for transform in self.transforms:
            value = transform.forward(value, *inputs)
        return value

    def initial_forward(self, value, *inputs):
        for transform in self.transforms:
            value = transform.initial_forward(value, *inputs)
        return value

    def backward(self, value, *inputs):
        for transform in reversed(self.transforms):
            value = transform.backward(value, *inputs)
        return value

    def log_jac_det(self, value, *inputs):
        total = 0
        for transform in reversed(self.transforms):
            term = transform.log_jac_det(value, *inputs)
            total = total + _sum_trailing(term, self.ndim_reduced - transform.ndim_reduced)
            value = transform.backward(value, *inputs)
        return total

    def __repr__(self) -> str:
        return f"Chain({self.transforms!r})"


def interval(lower=None, upper=None) -> IntervalTransform:
    """Return an interval transform with fixed or symbolic bounds."""
    return IntervalTransform(lower, upper)


Interval = IntervalTransform
log = LogTransform()
logodds = LogOddsTransform()
simplex = SimplexTransform()
ordered = OrderedTransform()
