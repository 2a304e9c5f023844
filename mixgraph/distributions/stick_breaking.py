"""Truncated stick-breaking (GEM) weights, the prior of Dirichlet-process mixtures.

With ``K`` breaks ``beta_k ~ Beta(1, alpha)`` the weights are
``w_k = beta_k prod_{j<k} (1 - beta_j)`` for ``k = 1..K`` and the rest of the
stick, ``w_{K+1} = prod_{j<=K} (1 - beta_j)``: a point of the simplex of
length ``K + 1`` (Sethuraman 1994; the truncation of Ishwaran and James
2001, section 2). PyTensor has no op for it; ``StickBreakingWeightsRV`` is
defined here in the style of PyTensor's ``DirichletRV``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable

from mixgraph import transforms
from mixgraph.distributions.base import Distribution, ParameterError, as_parameter, check_constant
from mixgraph.distributions.continuous import x_log_y
from mixgraph.distributions.multivariate import SIMPLEX_TOLERANCE, broadcast_to_rv
from mixgraph.logprob import check_parameters
from mixgraph.registry import DEFAULT_TRANSFORM, LOGP, MEAN, SUPPORT_POINT

__all__ = ["StickBreakingWeights", "StickBreakingWeightsRV", "stick_breaking_weights", "weights_from_breaks"]


def weights_from_breaks(breaks: np.ndarray) -> np.ndarray:
    """The ``K + 1`` weights of the breaks ``(..., K)`` (each in ``[0, 1]``), as numpy arrays."""
    remaining = np.cumprod(1.0 - breaks, axis=-1)
    before = np.concatenate([np.ones_like(breaks[..., :1]), remaining[..., :-1]], axis=-1)
    return np.concatenate([breaks * before, remaining[..., -1:]], axis=-1)


class StickBreakingWeightsRV(RandomVariable):
    """Weights of ``K`` stick breaks with ``Beta(1, alpha)`` proportions; support length ``K + 1``."""

    name = "stick_breaking_weights"
    signature = "(),()->(k)"
    dtype = "floatX"
    _print_name = ("StickBreakingWeights", "\\operatorname{StickBreakingWeights}")

    def _supp_shape_from_params(self, dist_params, param_shapes=None):
        return (dist_params[1] + 1,)

    @classmethod
    def rng_fn(cls, rng, alpha, breaks, size):
        batch = np.shape(alpha) if size is None else tuple(size)
        concentration = np.broadcast_to(alpha, batch)[..., None]
        proportions = rng.beta(1.0, concentration, size=(*batch, int(np.asarray(breaks).flat[0])))
        return weights_from_breaks(proportions)


stick_breaking_weights = StickBreakingWeightsRV()


def _constant_breaks(K: Any) -> int:
    """``K`` must be a constant positive integer: it fixes the support length ``K + 1``."""
    if isinstance(K, pt.TensorVariable):
        try:
            K = pt.get_underlying_scalar_constant_value(K)
        except Exception:
            raise ParameterError(
                "parameter K must be a constant integer (the number of breaks; the weights have "
                "K + 1 entries), got a symbolic value"
            ) from None
    array = np.asarray(K)
    if array.ndim != 0 or array.dtype.kind not in "iuf" or array < 1 or np.mod(array, 1) != 0:
        raise ParameterError(f"parameter K must be a positive integer scalar (the number of breaks), got {K!r}")
    return int(array)


class StickBreakingWeights(Distribution):
    r"""Truncated stick-breaking weights (the GEM distribution cut after ``K`` breaks).

    .. math:: p(w \mid \alpha, K) = \alpha^{K} \, w_{K+1}^{\alpha - 1}
              \prod_{k=1}^{K-1} \Big(\sum_{j=k+1}^{K+1} w_j\Big)^{-1}

    a density of the first ``K`` weights on the simplex of length ``K + 1``,
    from ``beta_k = w_k / \sum_{j \ge k} w_j \sim \mathrm{Beta}(1, \alpha)``
    by a change of variables (the Jacobian of the breaks is the product of
    the remaining stick lengths).

    Parameters
    ----------
    alpha : tensor_like
        Concentration (> 0); small values put most weight on the first components.
    K : int
        Number of breaks (a constant >= 1); the weights have ``K + 1`` entries.
    """

    rv_op = stick_breaking_weights

    @classmethod
    def dist(cls, alpha: Any, K: Any, **kwargs: Any) -> TensorVariable:
        check_constant("alpha", alpha, lambda array: array > 0, "positive")
        breaks = _constant_breaks(K)
        return cls.build([as_parameter(alpha), pt.constant(breaks, dtype="int64")], **kwargs)


def _tail_sums(value):
    """``tails[..., k] = sum_{j >= k} value[..., j]`` (the stick left before break ``k``)."""
    return pt.cumsum(value[..., ::-1], axis=-1)[..., ::-1]


@LOGP.register(StickBreakingWeightsRV)
def stick_breaking_weights_logp(value, alpha, K):
    breaks = pt.cast(K, "float64")
    tails = _tail_sums(value)
    # sum_{k=1}^{K-1} log S_k with S_k = sum_{j>k} w_j: entries 1..K-1 of the tail sums
    inner_tails = tails[..., 1:-1]
    # the last weight is the last tail: every stick left after a break must be positive
    positive_tails = pt.all(pt.gt(tails[..., 1:], 0.0), axis=-1)
    safe_tails = pt.switch(pt.gt(inner_tails, 0.0), inner_tails, 1.0)
    density = (
        breaks * pt.log(alpha)
        + x_log_y(alpha - 1.0, value[..., -1])
        - pt.sum(pt.log(safe_tails), axis=-1)
    )
    on_simplex = pt.and_(
        pt.all(pt.and_(pt.ge(value, 0.0), pt.le(value, 1.0)), axis=-1),
        pt.le(pt.abs(pt.sum(value, axis=-1) - 1.0), SIMPLEX_TOLERANCE),
    )
    inside = pt.and_(on_simplex, positive_tails)
    return check_parameters(pt.switch(inside, density, -np.inf), alpha > 0)


def _expected_weights(alpha, length):
    """``E[w_k] = (1 / (1 + alpha)) (alpha / (1 + alpha))^(k-1)``, ``E[w_{K+1}] = (alpha / (1 + alpha))^K``.

    The breaks are independent, so the mean of each product is the product of the means;
    ``length`` is ``K + 1``, read off the variable (``K`` may arrive broadcast to its batch shape).
    """
    alpha = pt.shape_padright(alpha, 1)
    kept = alpha / (1.0 + alpha)
    powers = pt.arange(length, dtype="float64")
    geometric = kept**powers
    return pt.concatenate([geometric[..., :-1] / (1.0 + alpha), geometric[..., -1:]], axis=-1)


@SUPPORT_POINT.register(StickBreakingWeightsRV)
def stick_breaking_weights_support_point(rv, alpha, K):
    return broadcast_to_rv(rv, _expected_weights(alpha, rv.shape[-1]))


@MEAN.register(StickBreakingWeightsRV)
def stick_breaking_weights_mean(rv, alpha, K):
    return broadcast_to_rv(rv, _expected_weights(alpha, rv.shape[-1]))


@DEFAULT_TRANSFORM.register(StickBreakingWeightsRV)
def stick_breaking_weights_default_transform(alpha, K):
    return transforms.simplex
