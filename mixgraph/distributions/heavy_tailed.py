"""Heavy-tailed continuous distributions: Student's t and Cauchy, full and half.

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
from mixgraph.distributions.continuous import _positive_log_transform, broadcast_to_rv, positive, scale_from_precision
from mixgraph.logprob import check_parameters
from mixgraph.registry import DEFAULT_TRANSFORM, LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, outside_interval

__all__ = ["StudentT", "HalfStudentT", "Cauchy", "HalfCauchy"]


def student_t_standard_logp(standardized: TensorVariable, nu: TensorVariable) -> TensorVariable:
    """Log-density of the standard Student's t with ``nu`` degrees of freedom."""
    return (
        pt.gammaln((nu + 1.0) / 2.0)
        - pt.gammaln(nu / 2.0)
        - 0.5 * pt.log(np.pi * nu)
        - (nu + 1.0) / 2.0 * pt.log1p(standardized**2 / nu)
    )


def student_t_tail(standardized: TensorVariable, nu: TensorVariable) -> TensorVariable:
    """``P(|T| > |t|) = I_{nu / (nu + t^2)}(nu/2, 1/2)`` (regularised incomplete beta)."""
    return pt.betainc(nu / 2.0, 0.5, nu / (nu + standardized**2))


class StudentT(Distribution):
    r"""Student's t distribution.

    .. math:: p(x \mid \nu, \mu, \sigma) =
              \frac{\Gamma\left(\frac{\nu + 1}{2}\right)}{\Gamma\left(\frac{\nu}{2}\right)
              \sqrt{\pi\nu}\,\sigma}
              \left(1 + \frac{1}{\nu}\left(\frac{x - \mu}{\sigma}\right)^2\right)^{-\frac{\nu + 1}{2}}

    Parameters
    ----------
    nu : tensor_like
        Degrees of freedom (> 0).
    mu : tensor_like, optional
        Location. Default 0.
    sigma : tensor_like, optional
        Scale (> 0). Default 1.
    lam : tensor_like, optional
        Precision ``1 / sigma**2``; give either ``sigma`` or ``lam``.
    """

    rv_op = random_ops.t

    @classmethod
    def dist(cls, nu: Any, mu: Any = 0.0, sigma: Any = None, lam: Any = None, **kwargs: Any) -> TensorVariable:
        positive("nu", nu)
        sigma = scale_from_precision(sigma, lam, "lam")
        return cls.build([as_parameter(nu), as_parameter(mu), as_parameter(sigma)], **kwargs)


@LOGP.register(random_ops.StudentTRV)
def student_t_logp(value, nu, mu, sigma):
    density = student_t_standard_logp((value - mu) / sigma, nu) - pt.log(sigma)
    return check_parameters(density, nu > 0, sigma > 0)


@LOGCDF.register(random_ops.StudentTRV)
def student_t_logcdf(value, nu, mu, sigma):
    standardized = (value - mu) / sigma
    tail = student_t_tail(standardized, nu)
    log_cdf = pt.switch(pt.lt(standardized, 0.0), np.log(0.5) + pt.log(tail), pt.log1p(-0.5 * tail))
    return check_parameters(log_cdf, nu > 0, sigma > 0)


@SUPPORT_POINT.register(random_ops.StudentTRV)
def student_t_support_point(rv, nu, mu, sigma):
    return broadcast_to_rv(rv, mu)


@MEAN.register(random_ops.StudentTRV)
def student_t_mean(rv, nu, mu, sigma):
    """``mu`` for ``nu > 1``; undefined (NaN) otherwise."""
    return broadcast_to_rv(rv, pt.switch(pt.gt(nu, 1.0), mu, np.nan))


@VARIANCE.register(random_ops.StudentTRV)
def student_t_variance(rv, nu, mu, sigma):
    """``sigma^2 nu / (nu - 2)`` for ``nu > 2``, infinite for ``1 < nu <= 2``, else NaN."""
    finite = sigma**2 * nu / pt.maximum(nu - 2.0, 1e-300)
    return broadcast_to_rv(rv, pt.switch(pt.gt(nu, 2.0), finite, pt.switch(pt.gt(nu, 1.0), np.inf, np.nan)))


class HalfStudentTRV(RandomVariable):
    """``|sigma T|`` with ``T`` a standard Student's t with ``nu`` degrees of freedom."""

    name = "half_student_t"
    signature = "(),()->()"
    dtype = "floatX"
    _print_name = ("HalfStudentT", "\\operatorname{HalfStudentT}")

    @classmethod
    def rng_fn(cls, rng, nu, sigma, size):
        if size is None:  # one draw per batch element, not one shared by all of them
            size = np.broadcast_shapes(np.shape(nu), np.shape(sigma))
        return np.abs(sigma * rng.standard_t(nu, size=size))


half_student_t = HalfStudentTRV()


class HalfStudentT(Distribution):
    r"""Half Student's t distribution on :math:`x \ge 0`.

    .. math:: p(x \mid \nu, \sigma) =
              \frac{2\,\Gamma\left(\frac{\nu + 1}{2}\right)}{\Gamma\left(\frac{\nu}{2}\right)
              \sqrt{\pi\nu}\,\sigma}
              \left(1 + \frac{1}{\nu}\frac{x^2}{\sigma^2}\right)^{-\frac{\nu + 1}{2}}

    Parameters
    ----------
    nu : tensor_like, optional
        Degrees of freedom (> 0). Default 1.
    sigma : tensor_like, optional
        Scale (> 0). Default 1.
    lam : tensor_like, optional
        Precision ``1 / sigma**2``; give either ``sigma`` or ``lam``.
    """

    rv_op = half_student_t

    @classmethod
    def dist(cls, nu: Any = 1.0, sigma: Any = None, lam: Any = None, **kwargs: Any) -> TensorVariable:
        positive("nu", nu)
        sigma = scale_from_precision(sigma, lam, "lam")
        return cls.build([as_parameter(nu), as_parameter(sigma)], **kwargs)


@LOGP.register(HalfStudentTRV)
def half_student_t_logp(value, nu, sigma):
    density = np.log(2.0) + student_t_standard_logp(value / sigma, nu) - pt.log(sigma)
    return check_parameters(pt.switch(pt.ge(value, 0.0), density, -np.inf), nu > 0, sigma > 0)


@LOGCDF.register(HalfStudentTRV)
def half_student_t_logcdf(value, nu, sigma):
    # CDF = 1 - I_{nu/(nu+z^2)}(nu/2, 1/2) = I_{z^2/(nu+z^2)}(1/2, nu/2); the second
    # form keeps its precision near zero, the first in the upper tail.
    squared = (pt.maximum(value, 0.0) / sigma) ** 2
    near_zero = pt.log(pt.betainc(0.5, nu / 2.0, squared / (nu + squared)))
    upper = pt.log1p(-pt.betainc(nu / 2.0, 0.5, nu / (nu + squared)))
    log_cdf = pt.switch(pt.lt(squared, nu), near_zero, upper)
    return check_parameters(pt.switch(pt.gt(value, 0.0), log_cdf, -np.inf), nu > 0, sigma > 0)


@SUPPORT_POINT.register(HalfStudentTRV)
def half_student_t_support_point(rv, nu, sigma):
    return broadcast_to_rv(rv, sigma)


def _half_student_t_mean(nu, sigma):
    log_ratio = pt.gammaln((nu + 1.0) / 2.0) - pt.gammaln(nu / 2.0)
    return 2.0 * sigma * pt.sqrt(nu / np.pi) * pt.exp(log_ratio) / (nu - 1.0)


@MEAN.register(HalfStudentTRV)
def half_student_t_mean(rv, nu, sigma):
    """Finite for ``nu > 1``, infinite otherwise."""
    return broadcast_to_rv(rv, pt.switch(pt.gt(nu, 1.0), _half_student_t_mean(nu, sigma), np.inf))


@VARIANCE.register(HalfStudentTRV)
def half_student_t_variance(rv, nu, sigma):
    """``sigma^2 nu / (nu - 2) - mean^2`` for ``nu > 2``, infinite for ``1 < nu <= 2``."""
    finite = sigma**2 * nu / (nu - 2.0) - _half_student_t_mean(nu, sigma) ** 2
    return broadcast_to_rv(rv, pt.switch(pt.gt(nu, 2.0), finite, pt.switch(pt.gt(nu, 1.0), np.inf, np.nan)))


DEFAULT_TRANSFORM.register(HalfStudentTRV)(_positive_log_transform)


class Cauchy(Distribution):
    r"""Cauchy distribution (no mean, no variance).

    .. math:: p(x \mid \alpha, \beta) =
              \frac{1}{\pi\beta\left(1 + \left(\frac{x - \alpha}{\beta}\right)^2\right)}

    Parameters
    ----------
    alpha : tensor_like
        Location.
    beta : tensor_like
        Scale (> 0).
    """

    rv_op = random_ops.cauchy

    @classmethod
    def dist(cls, alpha: Any, beta: Any, **kwargs: Any) -> TensorVariable:
        positive("beta", beta)
        return cls.build([as_parameter(alpha), as_parameter(beta)], **kwargs)


@LOGP.register(random_ops.CauchyRV)
def cauchy_logp(value, alpha, beta):
    standardized = (value - alpha) / beta
    return check_parameters(-np.log(np.pi) - pt.log(beta) - pt.log1p(standardized**2), beta > 0)


@LOGCDF.register(random_ops.CauchyRV)
def cauchy_logcdf(value, alpha, beta):
    # 1/2 + arctan(z)/pi = arctan(-1/z)/pi for z < 0: no cancellation in the lower tail.
    standardized = (value - alpha) / beta
    lower_tail = pt.log(pt.arctan(-1.0 / pt.minimum(standardized, -1e-300))) - np.log(np.pi)
    upper = pt.log1p(-pt.arctan(1.0 / pt.maximum(standardized, 1e-300)) / np.pi)
    log_cdf = pt.switch(pt.lt(standardized, 0.0), lower_tail, pt.switch(pt.eq(standardized, 0.0), np.log(0.5), upper))
    return check_parameters(log_cdf, beta > 0)


@SUPPORT_POINT.register(random_ops.CauchyRV)
def cauchy_support_point(rv, alpha, beta):
    return broadcast_to_rv(rv, alpha)


class HalfCauchy(Distribution):
    r"""Half-Cauchy distribution on :math:`x \ge 0` (no mean, no variance).

    .. math:: p(x \mid \beta) = \frac{2}{\pi\beta\left(1 + (x / \beta)^2\right)}

    Parameters
    ----------
    beta : tensor_like
        Scale (> 0).
    """

    rv_op = random_ops.halfcauchy

    @classmethod
    def dist(cls, beta: Any, **kwargs: Any) -> TensorVariable:
        positive("beta", beta)
        return cls.build([as_parameter(0.0), as_parameter(beta)], **kwargs)


@LOGP.register(random_ops.HalfCauchyRV)
def half_cauchy_logp(value, loc, beta):
    standardized = (value - loc) / beta
    density = np.log(2.0 / np.pi) - pt.log(beta) - pt.log1p(standardized**2)
    return check_parameters(pt.switch(pt.ge(value, loc), density, -np.inf), beta > 0)


@LOGCDF.register(random_ops.HalfCauchyRV)
def half_cauchy_logcdf(value, loc, beta):
    standardized = pt.maximum((value - loc) / beta, 0.0)
    log_cdf = np.log(2.0 / np.pi) + pt.log(pt.arctan(standardized))
    return check_parameters(pt.switch(pt.gt(value, loc), log_cdf, -np.inf), beta > 0)


@SUPPORT_POINT.register(random_ops.HalfCauchyRV)
def half_cauchy_support_point(rv, loc, beta):
    return broadcast_to_rv(rv, loc + beta)


DEFAULT_TRANSFORM.register(random_ops.HalfCauchyRV)(_positive_log_transform)


# ---------------------------------------------------------------- supports (see support.py)
@SUPPORT_VIOLATIONS.register(HalfStudentTRV)
def half_student_t_support_violations(value, nu, sigma):
    return outside_interval(value, 0.0)


@SUPPORT_VIOLATIONS.register(random_ops.HalfCauchyRV)
def half_cauchy_support_violations(value, loc, beta):
    return outside_interval(value, loc)
