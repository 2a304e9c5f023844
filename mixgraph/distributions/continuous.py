"""Continuous univariate distributions.

Each distribution is a small class (PyMC's parameter names, converted to its
op's parameters in ``dist``) next to the functions registered for its op:
log-density, log-CDF, support point and default transform.

This module holds the shared helpers and the families on the real line or
the half-line with elementary densities; the others live next door:
``heavy_tailed.py`` (StudentT, HalfStudentT, Cauchy, HalfCauchy),
``positive.py`` (Gamma, InverseGamma, LogNormal, Weibull) and
``continuous_bounded.py`` (Beta, Uniform, TruncatedNormal) and ``flat.py``
(the improper Flat and HalfFlat).
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
from mixgraph.logprob import check_parameters
from mixgraph.registry import DEFAULT_TRANSFORM, LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, outside_interval

__all__ = ["scale_from_precision", "Normal", "HalfNormal", "Exponential", "Laplace", "Logistic"]

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def broadcast_to_rv(rv: TensorVariable, value: Any) -> TensorVariable:
    """Broadcast ``value`` to the shape of ``rv`` (for support points and moments)."""
    return pt.broadcast_to(pt.as_tensor(value, dtype="float64"), rv.shape)


def positive(name: str, value: Any) -> None:
    """Check at construction that a constant parameter is positive."""
    check_constant(name, value, lambda array: array > 0, "positive")


def check_constant_order(lower_name: str, lower: Any, upper_name: str, upper: Any) -> None:
    """Check at construction that constant bounds satisfy ``lower < upper``."""
    if lower is None or upper is None or isinstance(lower, Variable) or isinstance(upper, Variable):
        return
    gap = np.asarray(upper, dtype="float64") - np.asarray(lower, dtype="float64")
    check_constant(upper_name, gap, lambda array: array > 0, f"greater than {lower_name}")


def scale_from_precision(sigma: Any, precision: Any, precision_name: str = "tau") -> Any:
    """PyMC's ``sigma`` / precision pair (``tau`` or ``lam``) as one checked scale (default 1)."""
    if sigma is not None and precision is not None:
        raise ValueError(f"give sigma or {precision_name}, not both")
    if precision is not None:
        positive(precision_name, precision)
        return as_parameter(precision) ** -0.5
    sigma = 1.0 if sigma is None else sigma
    positive("sigma", sigma)
    return sigma


def _positive_log_transform(*parameters: Any) -> transforms.Transform:
    return transforms.log


def x_log_y(x: Any, y: Any) -> TensorVariable:
    """``x * log(y)``, zero where ``x == 0`` (also at ``y == 0``), with finite gradients there.

    Written out because ``pytensor.tensor.special.xlogy`` has no gradient for
    broadcast inputs in PyTensor 3.0.7.
    """
    both_zero = pt.and_(pt.eq(x, 0), pt.eq(y, 0))
    return pt.switch(both_zero, 0.0, x * pt.log(pt.switch(both_zero, 1.0, y)))


def x_log1p_y(x: Any, y: Any) -> TensorVariable:
    """``x * log1p(y)``, zero where ``x == 0`` (also at ``y == -1``)."""
    zero_times_infinity = pt.and_(pt.eq(x, 0), pt.eq(y, -1))
    return pt.switch(zero_times_infinity, 0.0, x * pt.log1p(pt.switch(zero_times_infinity, 0.0, y)))


def log_diff_exp(log_a: TensorVariable, log_b: TensorVariable) -> TensorVariable:
    """``log(exp(log_a) - exp(log_b))`` for ``log_a >= log_b``, without overflow."""
    return log_a + pt.log1mexp(log_b - log_a)


def normal_log_cdf_standard(standardized: TensorVariable) -> TensorVariable:
    """``log Phi(z)``, accurate in both tails (via ``log_ndtr``-style erfcx)."""
    return pt.switch(
        pt.lt(standardized, -1.0),
        # log(erfcx(.)) - log(2), not log(erfcx(.) / 2): PyTensor 3.0.7 rewrites
        # log(x / 2.0) into log(x) - log(2) with log(2) folded in float32 (error 2e-9).
        pt.log(pt.erfcx(-standardized / np.sqrt(2.0))) - np.log(2.0) - standardized**2 / 2.0,
        pt.log1p(-pt.erfc(standardized / np.sqrt(2.0)) / 2.0),
    )


class Normal(Distribution):
    r"""Normal distribution.

    .. math:: p(x \mid \mu, \sigma) = \frac{1}{\sigma \sqrt{2\pi}}
              \exp\left(-\frac{(x - \mu)^2}{2\sigma^2}\right)

    Parameters
    ----------
    mu : tensor_like
        Mean.
    sigma : tensor_like, optional
        Standard deviation (> 0). Default 1.
    tau : tensor_like, optional
        Precision ``1 / sigma**2``; give either ``sigma`` or ``tau``.
    """

    rv_op = random_ops.normal

    @classmethod
    def dist(cls, mu: Any = 0.0, sigma: Any = None, tau: Any = None, **kwargs: Any) -> TensorVariable:
        sigma = scale_from_precision(sigma, tau)
        return cls.build([as_parameter(mu), as_parameter(sigma)], **kwargs)


@LOGP.register(random_ops.NormalRV)
def normal_logp(value, mu, sigma):
    standardized = (value - mu) / sigma
    return check_parameters(-0.5 * standardized**2 - pt.log(sigma) - LOG_SQRT_2PI, sigma > 0)


@LOGCDF.register(random_ops.NormalRV)
def normal_logcdf(value, mu, sigma):
    return check_parameters(normal_log_cdf_standard((value - mu) / sigma), sigma > 0)


@SUPPORT_POINT.register(random_ops.NormalRV)
def normal_support_point(rv, mu, sigma):
    return broadcast_to_rv(rv, mu)


@MEAN.register(random_ops.NormalRV)
def normal_mean(rv, mu, sigma):
    return broadcast_to_rv(rv, mu)


@VARIANCE.register(random_ops.NormalRV)
def normal_variance(rv, mu, sigma):
    return broadcast_to_rv(rv, sigma**2)


class HalfNormal(Distribution):
    r"""Half-normal distribution on :math:`x \ge 0`.

    .. math:: p(x \mid \sigma) = \frac{\sqrt{2}}{\sigma\sqrt{\pi}}
              \exp\left(-\frac{x^2}{2\sigma^2}\right)

    Parameters
    ----------
    sigma : tensor_like, optional
        Scale (> 0). Default 1.
    tau : tensor_like, optional
        Precision ``1 / sigma**2``.
    """

    rv_op = random_ops.halfnormal

    @classmethod
    def dist(cls, sigma: Any = None, tau: Any = None, **kwargs: Any) -> TensorVariable:
        sigma = scale_from_precision(sigma, tau)
        return cls.build([as_parameter(0.0), as_parameter(sigma)], **kwargs)


@LOGP.register(random_ops.HalfNormalRV)
def halfnormal_logp(value, loc, sigma):
    standardized = (value - loc) / sigma
    density = -0.5 * standardized**2 - pt.log(sigma) + 0.5 * np.log(2.0 / np.pi)
    return check_parameters(pt.switch(pt.ge(value, loc), density, -np.inf), sigma > 0)


@LOGCDF.register(random_ops.HalfNormalRV)
def halfnormal_logcdf(value, loc, sigma):
    standardized = pt.maximum((value - loc) / sigma, 0.0)
    log_cdf = pt.log(pt.erf(standardized / np.sqrt(2.0)))
    return check_parameters(pt.switch(pt.gt(value, loc), log_cdf, -np.inf), sigma > 0)


@SUPPORT_POINT.register(random_ops.HalfNormalRV)
def halfnormal_support_point(rv, loc, sigma):
    return broadcast_to_rv(rv, loc + sigma)


@MEAN.register(random_ops.HalfNormalRV)
def halfnormal_mean(rv, loc, sigma):
    return broadcast_to_rv(rv, loc + sigma * np.sqrt(2.0 / np.pi))


@VARIANCE.register(random_ops.HalfNormalRV)
def halfnormal_variance(rv, loc, sigma):
    return broadcast_to_rv(rv, sigma**2 * (1.0 - 2.0 / np.pi))


DEFAULT_TRANSFORM.register(random_ops.HalfNormalRV)(_positive_log_transform)


class Exponential(Distribution):
    r"""Exponential distribution.

    .. math:: p(x \mid \lambda) = \lambda e^{-\lambda x}, \quad x \ge 0

    Parameters
    ----------
    lam : tensor_like, optional
        Rate (> 0).
    scale : tensor_like, optional
        ``1 / lam``; give either ``lam`` or ``scale``.
    """

    rv_op = random_ops.exponential

    @classmethod
    def dist(cls, lam: Any = None, scale: Any = None, **kwargs: Any) -> TensorVariable:
        if lam is not None and scale is not None:
            raise ValueError("give lam or scale, not both")
        if lam is not None:
            positive("lam", lam)
            scale = 1.0 / as_parameter(lam)
        scale = 1.0 if scale is None else scale
        positive("scale", scale)
        return cls.build([as_parameter(scale)], **kwargs)


@LOGP.register(random_ops.ExponentialRV)
def exponential_logp(value, scale):
    density = -pt.log(scale) - value / scale
    return check_parameters(pt.switch(pt.ge(value, 0.0), density, -np.inf), scale > 0)


@LOGCDF.register(random_ops.ExponentialRV)
def exponential_logcdf(value, scale):
    log_cdf = pt.log1mexp(-pt.maximum(value, 0.0) / scale)
    return check_parameters(pt.switch(pt.gt(value, 0.0), log_cdf, -np.inf), scale > 0)


@SUPPORT_POINT.register(random_ops.ExponentialRV)
def exponential_support_point(rv, scale):
    return broadcast_to_rv(rv, scale)


@MEAN.register(random_ops.ExponentialRV)
def exponential_mean(rv, scale):
    return broadcast_to_rv(rv, scale)


@VARIANCE.register(random_ops.ExponentialRV)
def exponential_variance(rv, scale):
    return broadcast_to_rv(rv, scale**2)


DEFAULT_TRANSFORM.register(random_ops.ExponentialRV)(_positive_log_transform)


class Laplace(Distribution):
    r"""Laplace (double exponential) distribution.

    .. math:: p(x \mid \mu, b) = \frac{1}{2b} \exp\left(-\frac{|x - \mu|}{b}\right)

    Parameters
    ----------
    mu : tensor_like
        Location.
    b : tensor_like
        Scale (> 0).
    """

    rv_op = random_ops.laplace

    @classmethod
    def dist(cls, mu: Any, b: Any, **kwargs: Any) -> TensorVariable:
        positive("b", b)
        return cls.build([as_parameter(mu), as_parameter(b)], **kwargs)


@LOGP.register(random_ops.LaplaceRV)
def laplace_logp(value, mu, b):
    return check_parameters(-pt.log(2.0 * b) - pt.abs(value - mu) / b, b > 0)


@LOGCDF.register(random_ops.LaplaceRV)
def laplace_logcdf(value, mu, b):
    standardized = (value - mu) / b
    lower_tail = np.log(0.5) + pt.minimum(standardized, 0.0)
    upper_tail = pt.log1p(-0.5 * pt.exp(-pt.maximum(standardized, 0.0)))
    return check_parameters(pt.switch(pt.le(standardized, 0.0), lower_tail, upper_tail), b > 0)


@SUPPORT_POINT.register(random_ops.LaplaceRV)
def laplace_support_point(rv, mu, b):
    return broadcast_to_rv(rv, mu)


@MEAN.register(random_ops.LaplaceRV)
def laplace_mean(rv, mu, b):
    return broadcast_to_rv(rv, mu)


@VARIANCE.register(random_ops.LaplaceRV)
def laplace_variance(rv, mu, b):
    return broadcast_to_rv(rv, 2.0 * b**2)


class Logistic(Distribution):
    r"""Logistic distribution.

    .. math:: p(x \mid \mu, s) = \frac{\exp(-(x - \mu)/s)}{s \left(1 + \exp(-(x - \mu)/s)\right)^2}

    Parameters
    ----------
    mu : tensor_like, optional
        Location. Default 0.
    s : tensor_like, optional
        Scale (> 0). Default 1.
    """

    rv_op = random_ops.logistic

    @classmethod
    def dist(cls, mu: Any = 0.0, s: Any = 1.0, **kwargs: Any) -> TensorVariable:
        positive("s", s)
        return cls.build([as_parameter(mu), as_parameter(s)], **kwargs)


@LOGP.register(random_ops.LogisticRV)
def logistic_logp(value, mu, s):
    standardized = (value - mu) / s
    # log p = -z - log s - 2 log(1 + e^{-z}), symmetric form: -|z| - 2 softplus(-|z|)
    density = -pt.abs(standardized) - pt.log(s) - 2.0 * pt.softplus(-pt.abs(standardized))
    return check_parameters(density, s > 0)


@LOGCDF.register(random_ops.LogisticRV)
def logistic_logcdf(value, mu, s):
    return check_parameters(-pt.softplus(-(value - mu) / s), s > 0)


@SUPPORT_POINT.register(random_ops.LogisticRV)
def logistic_support_point(rv, mu, s):
    return broadcast_to_rv(rv, mu)


@MEAN.register(random_ops.LogisticRV)
def logistic_mean(rv, mu, s):
    return broadcast_to_rv(rv, mu)


@VARIANCE.register(random_ops.LogisticRV)
def logistic_variance(rv, mu, s):
    return broadcast_to_rv(rv, s**2 * np.pi**2 / 3.0)


# ---------------------------------------------------------------- supports (see support.py)
@SUPPORT_VIOLATIONS.register(random_ops.HalfNormalRV)
def halfnormal_support_violations(value, loc, sigma):
    return outside_interval(value, loc)


@SUPPORT_VIOLATIONS.register(random_ops.ExponentialRV)
def exponential_support_violations(value, scale):
    return outside_interval(value, 0.0)
