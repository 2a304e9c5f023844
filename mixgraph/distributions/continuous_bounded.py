"""Continuous distributions on bounded intervals: Beta, Uniform, TruncatedNormal.

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
from scipy import stats

from mixgraph import transforms
from mixgraph.distributions.base import Distribution, as_parameter, check_constant
from mixgraph.distributions.continuous import (
    scale_from_precision,
    x_log1p_y,
    x_log_y,
    LOG_SQRT_2PI,
    broadcast_to_rv,
    check_constant_order,
    log_diff_exp,
    normal_log_cdf_standard,
    positive,
)
from mixgraph.logprob import check_parameters
from mixgraph.registry import DEFAULT_TRANSFORM, LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, not_equal, outside_interval

__all__ = ["Beta", "Uniform", "TruncatedNormal"]


def _unit_interval_open(name: str, value: Any) -> None:
    check_constant(name, value, lambda array: (array > 0) & (array < 1), "in (0, 1)")


class Beta(Distribution):
    r"""Beta distribution on :math:`[0, 1]`.

    .. math:: p(x \mid \alpha, \beta) = \frac{x^{\alpha - 1} (1 - x)^{\beta - 1}}{B(\alpha, \beta)}

    Parameters
    ----------
    alpha, beta : tensor_like, optional
        Shapes (> 0).
    mu : tensor_like, optional
        Mean, in (0, 1), with ``sigma`` or ``nu``.
    sigma : tensor_like, optional
        Standard deviation, ``0 < sigma^2 < mu (1 - mu)``:
        ``alpha = mu kappa``, ``beta = (1 - mu) kappa``, ``kappa = mu (1 - mu) / sigma^2 - 1``.
    nu : tensor_like, optional
        Concentration ``alpha + beta`` (> 0): ``alpha = mu nu``, ``beta = (1 - mu) nu``.
    """

    rv_op = random_ops.beta

    @classmethod
    def dist(
        cls, alpha: Any = None, beta: Any = None, mu: Any = None, sigma: Any = None, nu: Any = None,
        **kwargs: Any,
    ) -> TensorVariable:
        alpha, beta = cls._alpha_beta(alpha, beta, mu, sigma, nu)
        return cls.build([alpha, beta], **kwargs)

    @staticmethod
    def _alpha_beta(alpha: Any, beta: Any, mu: Any, sigma: Any, nu: Any) -> tuple:
        if alpha is not None and beta is not None and mu is None and sigma is None and nu is None:
            positive("alpha", alpha)
            positive("beta", beta)
            return as_parameter(alpha), as_parameter(beta)
        if alpha is not None or beta is not None or mu is None or (sigma is None) == (nu is None):
            raise ValueError("give alpha and beta, mu and sigma, or mu and nu")
        _unit_interval_open("mu", mu)
        if nu is not None:
            positive("nu", nu)
            concentration = as_parameter(nu)
        else:
            positive("sigma", sigma)
            if not any(isinstance(value, Variable) for value in (mu, sigma)):
                bound = np.asarray(mu) * (1 - np.asarray(mu))
                check_constant("sigma", np.asarray(sigma) ** 2 - bound, lambda gap: gap < 0, "below sqrt(mu (1 - mu))")
            mu_tensor = as_parameter(mu)
            concentration = mu_tensor * (1.0 - mu_tensor) / as_parameter(sigma) ** 2 - 1.0
        mu = as_parameter(mu)
        return mu * concentration, (1.0 - mu) * concentration


@LOGP.register(random_ops.BetaRV)
def beta_logp(value, alpha, beta):
    inside = pt.and_(pt.ge(value, 0.0), pt.le(value, 1.0))
    safe_value = pt.switch(inside, value, 0.5)
    log_normaliser = pt.gammaln(alpha) + pt.gammaln(beta) - pt.gammaln(alpha + beta)
    density = x_log_y(alpha - 1.0, safe_value) + x_log1p_y(beta - 1.0, -safe_value) - log_normaliser
    return check_parameters(pt.switch(inside, density, -np.inf), alpha > 0, beta > 0)


@LOGCDF.register(random_ops.BetaRV)
def beta_logcdf(value, alpha, beta):
    log_cdf = pt.log(pt.betainc(alpha, beta, pt.clip(value, 0.0, 1.0)))
    log_cdf = pt.switch(pt.le(value, 0.0), -np.inf, pt.switch(pt.ge(value, 1.0), 0.0, log_cdf))
    return check_parameters(log_cdf, alpha > 0, beta > 0)


@SUPPORT_POINT.register(random_ops.BetaRV)
def beta_support_point(rv, alpha, beta):
    return broadcast_to_rv(rv, alpha / (alpha + beta))


@MEAN.register(random_ops.BetaRV)
def beta_mean(rv, alpha, beta):
    return broadcast_to_rv(rv, alpha / (alpha + beta))


@VARIANCE.register(random_ops.BetaRV)
def beta_variance(rv, alpha, beta):
    total = alpha + beta
    return broadcast_to_rv(rv, alpha * beta / (total**2 * (total + 1.0)))


@DEFAULT_TRANSFORM.register(random_ops.BetaRV)
def beta_default_transform(alpha, beta):
    return transforms.logodds


class Uniform(Distribution):
    r"""Continuous uniform distribution.

    .. math:: p(x \mid l, u) = \frac{1}{u - l}, \quad l \le x \le u

    Parameters
    ----------
    lower : tensor_like, optional
        Lower bound. Default 0.
    upper : tensor_like, optional
        Upper bound (> lower). Default 1.
    """

    rv_op = random_ops.uniform

    @classmethod
    def dist(cls, lower: Any = 0.0, upper: Any = 1.0, **kwargs: Any) -> TensorVariable:
        check_constant_order("lower", lower, "upper", upper)
        return cls.build([as_parameter(lower), as_parameter(upper)], **kwargs)


@LOGP.register(random_ops.UniformRV)
def uniform_logp(value, lower, upper):
    inside = pt.and_(pt.ge(value, lower), pt.le(value, upper))
    density = pt.switch(inside, -pt.log(upper - lower), -np.inf)
    return check_parameters(density, upper > lower)


@LOGCDF.register(random_ops.UniformRV)
def uniform_logcdf(value, lower, upper):
    log_cdf = pt.log(pt.clip((value - lower) / (upper - lower), 0.0, 1.0))
    return check_parameters(log_cdf, upper > lower)


@SUPPORT_POINT.register(random_ops.UniformRV)
def uniform_support_point(rv, lower, upper):
    return broadcast_to_rv(rv, (lower + upper) / 2.0)


@MEAN.register(random_ops.UniformRV)
def uniform_mean(rv, lower, upper):
    return broadcast_to_rv(rv, (lower + upper) / 2.0)


@VARIANCE.register(random_ops.UniformRV)
def uniform_variance(rv, lower, upper):
    return broadcast_to_rv(rv, (upper - lower) ** 2 / 12.0)


@DEFAULT_TRANSFORM.register(random_ops.UniformRV)
def uniform_default_transform(lower, upper):
    return transforms.IntervalTransform(bounds=lambda lower, upper: (lower, upper))


class TruncatedNormalRV(RandomVariable):
    """Normal ``(mu, sigma)`` restricted to ``[lower, upper]`` (infinite bounds allowed)."""

    name = "truncated_normal"
    signature = "(),(),(),()->()"
    dtype = "floatX"
    _print_name = ("TruncatedNormal", "\\operatorname{TruncatedNormal}")

    @classmethod
    def rng_fn(cls, rng, mu, sigma, lower, upper, size):
        return stats.truncnorm.rvs(
            (lower - mu) / sigma, (upper - mu) / sigma, loc=mu, scale=sigma, size=size, random_state=rng
        )


truncated_normal = TruncatedNormalRV()


def is_infinite_constant(bound: TensorVariable) -> bool:
    """Whether a bound is the constant ``-inf`` or ``inf`` (how ``None`` is stored)."""
    try:
        return bool(np.all(np.isinf(pt.get_underlying_scalar_constant_value(bound))))
    except Exception:  # symbolic or not a scalar: a real bound
        return False


class TruncatedNormal(Distribution):
    r"""Normal distribution truncated to :math:`[l, u]`.

    .. math:: p(x \mid \mu, \sigma, l, u) = \frac{\phi\left(\frac{x - \mu}{\sigma}\right)}
              {\sigma \left(\Phi\left(\frac{u - \mu}{\sigma}\right) - \Phi\left(\frac{l - \mu}{\sigma}\right)\right)}

    Parameters
    ----------
    mu : tensor_like, optional
        Location of the untruncated normal. Default 0.
    sigma : tensor_like, optional
        Scale (> 0). Default 1.
    tau : tensor_like, optional
        Precision ``1 / sigma**2``; give either ``sigma`` or ``tau``.
    lower, upper : tensor_like, optional
        Bounds; None means unbounded on that side.
    """

    rv_op = truncated_normal

    @classmethod
    def dist(
        cls, mu: Any = 0.0, sigma: Any = None, tau: Any = None, lower: Any = None, upper: Any = None,
        **kwargs: Any,
    ) -> TensorVariable:
        sigma = scale_from_precision(sigma, tau)
        check_constant_order("lower", lower, "upper", upper)
        lower = -np.inf if lower is None else lower
        upper = np.inf if upper is None else upper
        parameters = [as_parameter(mu), as_parameter(sigma), as_parameter(lower), as_parameter(upper)]
        return cls.build(parameters, **kwargs)


def log_normal_mass(start, stop, start_infinite: bool = False, stop_infinite: bool = False):
    """``log(Phi(stop) - Phi(start))`` for standardised ``start <= stop``.

    Both tails are kept accurate: above zero the mass is taken from the upper
    tail, ``Phi(-start) - Phi(-stop)``. Bounds known to be infinite are left
    out of the graph so that no ``inf - inf`` reaches a gradient.
    """
    if start_infinite and stop_infinite:
        return pt.zeros_like(start)
    if start_infinite:
        return normal_log_cdf_standard(stop)
    if stop_infinite:
        return normal_log_cdf_standard(-start)
    upper_tail = log_diff_exp(normal_log_cdf_standard(-start), normal_log_cdf_standard(-stop))
    lower_tail = log_diff_exp(normal_log_cdf_standard(stop), normal_log_cdf_standard(start))
    return pt.switch(pt.gt(start, 0.0), upper_tail, lower_tail)


@LOGP.register(TruncatedNormalRV)
def truncated_normal_logp(value, mu, sigma, lower, upper):
    lower_free, upper_free = is_infinite_constant(lower), is_infinite_constant(upper)
    standardized = (value - mu) / sigma
    log_mass = log_normal_mass((lower - mu) / sigma, (upper - mu) / sigma, lower_free, upper_free)
    density = -0.5 * standardized**2 - pt.log(sigma) - LOG_SQRT_2PI - log_mass
    inside = pt.and_(pt.ge(value, lower), pt.le(value, upper))
    return check_parameters(pt.switch(inside, density, -np.inf), sigma > 0, upper > lower)


@LOGCDF.register(TruncatedNormalRV)
def truncated_normal_logcdf(value, mu, sigma, lower, upper):
    lower_free, upper_free = is_infinite_constant(lower), is_infinite_constant(upper)
    start, stop = (lower - mu) / sigma, (upper - mu) / sigma
    inside_value = (pt.clip(value, lower, upper) - mu) / sigma
    log_cdf = log_normal_mass(start, inside_value, lower_free) - log_normal_mass(start, stop, lower_free, upper_free)
    log_cdf = pt.switch(pt.le(value, lower), -np.inf, pt.switch(pt.ge(value, upper), 0.0, log_cdf))
    return check_parameters(log_cdf, sigma > 0, upper > lower)


@SUPPORT_POINT.register(TruncatedNormalRV)
def truncated_normal_support_point(rv, mu, sigma, lower, upper):
    """``mu`` moved at least one ``sigma`` inside a one-sided bound; the midpoint if two-sided."""
    lower_free, upper_free = pt.isinf(lower), pt.isinf(upper)
    point = pt.switch(
        pt.and_(lower_free, upper_free),
        mu,
        pt.switch(
            upper_free,
            pt.maximum(mu, lower + sigma),
            pt.switch(lower_free, pt.minimum(mu, upper - sigma), (lower + upper) / 2.0),
        ),
    )
    return broadcast_to_rv(rv, point)


def _standard_normal_logpdf(standardized):
    return -0.5 * standardized**2 - LOG_SQRT_2PI


def _truncated_moment_terms(mu, sigma, lower, upper):
    """``(phi(a) - phi(b)) / Z`` and ``(a phi(a) - b phi(b)) / Z`` of the standardised bounds."""
    start, stop = (lower - mu) / sigma, (upper - mu) / sigma
    log_mass = log_normal_mass(start, stop, is_infinite_constant(lower), is_infinite_constant(upper))
    density_start = pt.exp(_standard_normal_logpdf(start) - log_mass)
    density_stop = pt.exp(_standard_normal_logpdf(stop) - log_mass)
    weighted_start = pt.switch(pt.isinf(start), 0.0, start * density_start)
    weighted_stop = pt.switch(pt.isinf(stop), 0.0, stop * density_stop)
    return density_start - density_stop, weighted_start - weighted_stop


@MEAN.register(TruncatedNormalRV)
def truncated_normal_mean(rv, mu, sigma, lower, upper):
    shift, _ = _truncated_moment_terms(mu, sigma, lower, upper)
    return broadcast_to_rv(rv, mu + sigma * shift)


@VARIANCE.register(TruncatedNormalRV)
def truncated_normal_variance(rv, mu, sigma, lower, upper):
    shift, weighted = _truncated_moment_terms(mu, sigma, lower, upper)
    return broadcast_to_rv(rv, sigma**2 * (1.0 + weighted - shift**2))


@DEFAULT_TRANSFORM.register(TruncatedNormalRV)
def truncated_normal_default_transform(mu, sigma, lower, upper):
    lower_free, upper_free = is_infinite_constant(lower), is_infinite_constant(upper)
    if lower_free and upper_free:
        return None
    return transforms.IntervalTransform(
        bounds=lambda mu, sigma, lower, upper: (None if lower_free else lower, None if upper_free else upper)
    )


# ---------------------------------------------------------------- supports (see support.py)
def _edge_with_zero_or_infinite_density(value, edge, exponent):
    """At an edge of (0, 1) the Beta density is finite only where its exponent is 1."""
    if exponent is None:
        return np.zeros(np.shape(value), dtype=bool)
    return np.equal(value, edge) & np.not_equal(exponent, 1.0)


@SUPPORT_VIOLATIONS.register(random_ops.BetaRV)
def beta_support_violations(value, alpha, beta):
    return (
        outside_interval(value, 0.0, 1.0)
        | _edge_with_zero_or_infinite_density(value, 0.0, alpha)
        | _edge_with_zero_or_infinite_density(value, 1.0, beta)
    )


@SUPPORT_VIOLATIONS.register(random_ops.UniformRV)
def uniform_support_violations(value, lower, upper):
    return outside_interval(value, lower, upper)


@SUPPORT_VIOLATIONS.register(TruncatedNormalRV)
def truncated_normal_support_violations(value, mu, sigma, lower, upper):
    return outside_interval(value, lower, upper)
