"""Continuous distributions on the positive half-line: Gamma, InverseGamma, LogNormal, Weibull.

Each distribution is a small class (PyMC's parameter names, converted to its
op's parameters in ``dist``) next to the functions registered for its op.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops
from pytensor.tensor.random.op import RandomVariable

from mixgraph.distributions.base import Distribution, as_parameter
from mixgraph.distributions.continuous import (
    scale_from_precision,
    x_log1p_y,
    x_log_y,
    LOG_SQRT_2PI,
    _positive_log_transform,
    broadcast_to_rv,
    normal_log_cdf_standard,
    positive,
)
from mixgraph.logprob import check_parameters
from mixgraph.registry import DEFAULT_TRANSFORM, LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, not_equal, outside_interval

__all__ = ["Gamma", "InverseGamma", "LogNormal", "Lognormal", "Weibull"]


def _one_parameterisation(**pairs: tuple[Any, Any]) -> str:
    """Return the name of the one complete pair among ``pairs``, else raise."""
    complete = [name for name, (first, second) in pairs.items() if first is not None and second is not None]
    given = [name for name, pair in pairs.items() if any(value is not None for value in pair)]
    if len(complete) != 1 or len(given) != 1:
        raise ValueError(f"give exactly one of the parameter pairs {', '.join(pairs)}")
    return complete[0]


gamma_op = random_ops.GammaRV()


class Gamma(Distribution):
    r"""Gamma distribution.

    .. math:: p(x \mid \alpha, \beta) = \frac{\beta^\alpha x^{\alpha - 1} e^{-\beta x}}{\Gamma(\alpha)},
              \quad x \ge 0

    Parameters
    ----------
    alpha : tensor_like, optional
        Shape (> 0).
    beta : tensor_like, optional
        Rate (> 0).
    mu : tensor_like, optional
        Mean (> 0): ``alpha = mu^2 / sigma^2``, ``beta = mu / sigma^2``.
    sigma : tensor_like, optional
        Standard deviation (> 0).
    """

    rv_op = gamma_op

    @classmethod
    def dist(
        cls, alpha: Any = None, beta: Any = None, mu: Any = None, sigma: Any = None, **kwargs: Any
    ) -> TensorVariable:
        if _one_parameterisation(**{"alpha/beta": (alpha, beta), "mu/sigma": (mu, sigma)}) == "mu/sigma":
            positive("mu", mu)
            positive("sigma", sigma)
            mu, sigma = as_parameter(mu), as_parameter(sigma)
            return cls.build([mu**2 / sigma**2, sigma**2 / mu], **kwargs)
        positive("alpha", alpha)
        positive("beta", beta)
        return cls.build([as_parameter(alpha), 1.0 / as_parameter(beta)], **kwargs)


@LOGP.register(random_ops.GammaRV)
def gamma_logp(value, alpha, scale):
    density = -pt.gammaln(alpha) - alpha * pt.log(scale) + x_log_y(alpha - 1.0, value) - value / scale
    return check_parameters(pt.switch(pt.ge(value, 0.0), density, -np.inf), alpha > 0, scale > 0)


@LOGCDF.register(random_ops.GammaRV)
def gamma_logcdf(value, alpha, scale):
    log_cdf = pt.log(pt.gammainc(alpha, pt.maximum(value, 0.0) / scale))
    return check_parameters(pt.switch(pt.gt(value, 0.0), log_cdf, -np.inf), alpha > 0, scale > 0)


@SUPPORT_POINT.register(random_ops.GammaRV)
def gamma_support_point(rv, alpha, scale):
    return broadcast_to_rv(rv, alpha * scale)


@MEAN.register(random_ops.GammaRV)
def gamma_mean(rv, alpha, scale):
    return broadcast_to_rv(rv, alpha * scale)


@VARIANCE.register(random_ops.GammaRV)
def gamma_variance(rv, alpha, scale):
    return broadcast_to_rv(rv, alpha * scale**2)


DEFAULT_TRANSFORM.register(random_ops.GammaRV)(_positive_log_transform)


class InverseGamma(Distribution):
    r"""Inverse-gamma distribution.

    .. math:: p(x \mid \alpha, \beta) = \frac{\beta^\alpha x^{-\alpha - 1} e^{-\beta / x}}{\Gamma(\alpha)},
              \quad x > 0

    Parameters
    ----------
    alpha : tensor_like, optional
        Shape (> 0).
    beta : tensor_like, optional
        Scale (> 0).
    mu : tensor_like, optional
        Mean (> 0): ``alpha = mu^2 / sigma^2 + 2``, ``beta = mu (alpha - 1)``.
    sigma : tensor_like, optional
        Standard deviation (> 0).
    """

    rv_op = random_ops.invgamma

    @classmethod
    def dist(
        cls, alpha: Any = None, beta: Any = None, mu: Any = None, sigma: Any = None, **kwargs: Any
    ) -> TensorVariable:
        if _one_parameterisation(**{"alpha/beta": (alpha, beta), "mu/sigma": (mu, sigma)}) == "mu/sigma":
            positive("mu", mu)
            positive("sigma", sigma)
            mu, sigma = as_parameter(mu), as_parameter(sigma)
            alpha = mu**2 / sigma**2 + 2.0
            return cls.build([alpha, mu * (alpha - 1.0)], **kwargs)
        positive("alpha", alpha)
        positive("beta", beta)
        return cls.build([as_parameter(alpha), as_parameter(beta)], **kwargs)


@LOGP.register(random_ops.InvGammaRV)
def inverse_gamma_logp(value, alpha, beta):
    safe_value = pt.switch(pt.gt(value, 0.0), value, 1.0)
    density = alpha * pt.log(beta) - pt.gammaln(alpha) - (alpha + 1.0) * pt.log(safe_value) - beta / safe_value
    return check_parameters(pt.switch(pt.gt(value, 0.0), density, -np.inf), alpha > 0, beta > 0)


@LOGCDF.register(random_ops.InvGammaRV)
def inverse_gamma_logcdf(value, alpha, beta):
    safe_value = pt.switch(pt.gt(value, 0.0), value, 1.0)
    log_cdf = pt.log(pt.gammaincc(alpha, beta / safe_value))
    return check_parameters(pt.switch(pt.gt(value, 0.0), log_cdf, -np.inf), alpha > 0, beta > 0)


@SUPPORT_POINT.register(random_ops.InvGammaRV)
def inverse_gamma_support_point(rv, alpha, beta):
    """The mean where it exists (``alpha > 1``), else the mode."""
    mean = beta / pt.maximum(alpha - 1.0, 1e-300)
    return broadcast_to_rv(rv, pt.switch(pt.gt(alpha, 1.0), mean, beta / (alpha + 1.0)))


@MEAN.register(random_ops.InvGammaRV)
def inverse_gamma_mean(rv, alpha, beta):
    return broadcast_to_rv(rv, pt.switch(pt.gt(alpha, 1.0), beta / (alpha - 1.0), np.inf))


@VARIANCE.register(random_ops.InvGammaRV)
def inverse_gamma_variance(rv, alpha, beta):
    finite = beta**2 / ((alpha - 1.0) ** 2 * (alpha - 2.0))
    return broadcast_to_rv(rv, pt.switch(pt.gt(alpha, 2.0), finite, np.inf))


DEFAULT_TRANSFORM.register(random_ops.InvGammaRV)(_positive_log_transform)


class LogNormal(Distribution):
    r"""Log-normal distribution: ``log(x)`` is normal.

    .. math:: p(x \mid \mu, \sigma) = \frac{1}{x \sigma \sqrt{2\pi}}
              \exp\left(-\frac{(\log x - \mu)^2}{2\sigma^2}\right), \quad x > 0

    Parameters
    ----------
    mu : tensor_like, optional
        Mean of ``log(x)``. Default 0.
    sigma : tensor_like, optional
        Standard deviation of ``log(x)`` (> 0). Default 1.
    tau : tensor_like, optional
        Precision ``1 / sigma**2``; give either ``sigma`` or ``tau``.
    """

    rv_op = random_ops.lognormal

    @classmethod
    def dist(cls, mu: Any = 0.0, sigma: Any = None, tau: Any = None, **kwargs: Any) -> TensorVariable:
        sigma = scale_from_precision(sigma, tau)
        return cls.build([as_parameter(mu), as_parameter(sigma)], **kwargs)


@LOGP.register(random_ops.LogNormalRV)
def lognormal_logp(value, mu, sigma):
    log_value = pt.log(pt.switch(pt.gt(value, 0.0), value, 1.0))
    standardized = (log_value - mu) / sigma
    density = -0.5 * standardized**2 - pt.log(sigma) - LOG_SQRT_2PI - log_value
    return check_parameters(pt.switch(pt.gt(value, 0.0), density, -np.inf), sigma > 0)


@LOGCDF.register(random_ops.LogNormalRV)
def lognormal_logcdf(value, mu, sigma):
    log_value = pt.log(pt.switch(pt.gt(value, 0.0), value, 1.0))
    log_cdf = normal_log_cdf_standard((log_value - mu) / sigma)
    return check_parameters(pt.switch(pt.gt(value, 0.0), log_cdf, -np.inf), sigma > 0)


@SUPPORT_POINT.register(random_ops.LogNormalRV)
def lognormal_support_point(rv, mu, sigma):
    """The median ``exp(mu)`` (the mean overflows sooner for large ``sigma``)."""
    return broadcast_to_rv(rv, pt.exp(mu))


@MEAN.register(random_ops.LogNormalRV)
def lognormal_mean(rv, mu, sigma):
    return broadcast_to_rv(rv, pt.exp(mu + sigma**2 / 2.0))


@VARIANCE.register(random_ops.LogNormalRV)
def lognormal_variance(rv, mu, sigma):
    return broadcast_to_rv(rv, pt.expm1(sigma**2) * pt.exp(2.0 * mu + sigma**2))


DEFAULT_TRANSFORM.register(random_ops.LogNormalRV)(_positive_log_transform)

#: PyMC's other spelling of :class:`LogNormal` (the same class).
Lognormal = LogNormal


class WeibullBetaRV(RandomVariable):
    """Weibull with shape ``alpha`` and scale ``beta`` (PyTensor's has no scale)."""

    name = "weibull_beta"
    signature = "(),()->()"
    dtype = "floatX"
    _print_name = ("Weibull", "\\operatorname{Weibull}")

    @classmethod
    def rng_fn(cls, rng, alpha, beta, size):
        return beta * rng.weibull(alpha, size=size)


weibull_beta = WeibullBetaRV()


class Weibull(Distribution):
    r"""Weibull distribution.

    .. math:: p(x \mid \alpha, \beta) = \frac{\alpha}{\beta}
              \left(\frac{x}{\beta}\right)^{\alpha - 1} e^{-(x / \beta)^\alpha}, \quad x \ge 0

    Parameters
    ----------
    alpha : tensor_like
        Shape (> 0).
    beta : tensor_like
        Scale (> 0).
    """

    rv_op = weibull_beta

    @classmethod
    def dist(cls, alpha: Any, beta: Any, **kwargs: Any) -> TensorVariable:
        positive("alpha", alpha)
        positive("beta", beta)
        return cls.build([as_parameter(alpha), as_parameter(beta)], **kwargs)


@LOGP.register(WeibullBetaRV)
def weibull_logp(value, alpha, beta):
    scaled = pt.maximum(value, 0.0) / beta
    density = pt.log(alpha) - pt.log(beta) + x_log_y(alpha - 1.0, scaled) - scaled**alpha
    return check_parameters(pt.switch(pt.ge(value, 0.0), density, -np.inf), alpha > 0, beta > 0)


@LOGCDF.register(WeibullBetaRV)
def weibull_logcdf(value, alpha, beta):
    log_cdf = pt.log1mexp(-((pt.maximum(value, 0.0) / beta) ** alpha))
    return check_parameters(pt.switch(pt.gt(value, 0.0), log_cdf, -np.inf), alpha > 0, beta > 0)


def _weibull_raw_moment(alpha, beta, order):
    return beta**order * pt.exp(pt.gammaln(1.0 + order / alpha))


@SUPPORT_POINT.register(WeibullBetaRV)
def weibull_support_point(rv, alpha, beta):
    return broadcast_to_rv(rv, _weibull_raw_moment(alpha, beta, 1.0))


@MEAN.register(WeibullBetaRV)
def weibull_mean(rv, alpha, beta):
    return broadcast_to_rv(rv, _weibull_raw_moment(alpha, beta, 1.0))


@VARIANCE.register(WeibullBetaRV)
def weibull_variance(rv, alpha, beta):
    variance = _weibull_raw_moment(alpha, beta, 2.0) - _weibull_raw_moment(alpha, beta, 1.0) ** 2
    return broadcast_to_rv(rv, variance)


DEFAULT_TRANSFORM.register(WeibullBetaRV)(_positive_log_transform)


# ---------------------------------------------------------------- supports (see support.py)
def _pole_or_zero_at_origin(value, shape_parameter):
    """At 0 the density is infinite (shape < 1) or 0 (shape > 1); finite only for shape 1."""
    if shape_parameter is None:
        return np.zeros(np.shape(value), dtype=bool)
    return np.equal(value, 0.0) & np.not_equal(shape_parameter, 1.0)


@SUPPORT_VIOLATIONS.register(random_ops.GammaRV)
def gamma_support_violations(value, alpha, scale):
    return outside_interval(value, 0.0) | _pole_or_zero_at_origin(value, alpha)


@SUPPORT_VIOLATIONS.register(WeibullBetaRV)
def weibull_support_violations(value, alpha, beta):
    return outside_interval(value, 0.0) | _pole_or_zero_at_origin(value, alpha)


@SUPPORT_VIOLATIONS.register(random_ops.InvGammaRV)
def inverse_gamma_support_violations(value, alpha, beta):
    return outside_interval(value, 0.0, lower_open=True)


@SUPPORT_VIOLATIONS.register(random_ops.LogNormalRV)
def lognormal_support_violations(value, mu, sigma):
    return outside_interval(value, 0.0, lower_open=True)
