"""Discrete univariate distributions.

Each distribution is a small class (PyMC's parameter names, converted to its
op's parameters in ``dist``) next to the functions registered for its op:
log-mass, log-CDF, support point, mean and variance. Discrete variables get no
default transform.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops

from mixgraph.distributions.base import Distribution, as_parameter, check_constant
from mixgraph.distributions.continuous import positive, x_log1p_y, x_log_y
from mixgraph.logprob import check_parameters
from mixgraph.registry import LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, outside_interval

__all__ = [
    "Bernoulli",
    "Binomial",
    "Poisson",
    "NegativeBinomial",
    "Geometric",
    "Categorical",
    "DiscreteUniform",
    "DiracDelta",
]


def broadcast_to_rv(rv: TensorVariable, value: Any) -> TensorVariable:
    """Broadcast ``value`` to the shape and dtype of ``rv``."""
    return pt.broadcast_to(pt.cast(value, rv.dtype), rv.shape)


def probability(name: str, value: Any) -> None:
    """Check at construction that a constant parameter lies in [0, 1]."""
    check_constant(name, value, lambda array: (array >= 0) & (array <= 1), "in [0, 1]")


def count(name: str, value: Any) -> None:
    """Check at construction that a constant parameter is a non-negative integer."""
    check_constant(name, value, lambda array: (array >= 0) & (np.mod(array, 1) == 0), "a non-negative integer")


def _probability_from(p: Any, logit_p: Any) -> TensorVariable:
    """PyMC's ``p`` / ``logit_p`` pair as one probability."""
    if (p is None) == (logit_p is None):
        raise ValueError("give p or logit_p (one of them)")
    if logit_p is not None:
        return pt.sigmoid(as_parameter(logit_p))
    probability("p", p)
    return as_parameter(p)


def _valid_probability(p: TensorVariable) -> tuple:
    return pt.ge(p, 0.0), pt.le(p, 1.0)


class Bernoulli(Distribution):
    r"""Bernoulli distribution on :math:`\{0, 1\}`.

    .. math:: P(x \mid p) = p^x (1 - p)^{1 - x}

    Parameters
    ----------
    p : tensor_like, optional
        Probability of a one, in [0, 1].
    logit_p : tensor_like, optional
        ``logit(p)``; give either ``p`` or ``logit_p``.
    """

    rv_op = random_ops.bernoulli

    @classmethod
    def dist(cls, p: Any = None, logit_p: Any = None, **kwargs: Any) -> TensorVariable:
        return cls.build([_probability_from(p, logit_p)], **kwargs)


@LOGP.register(random_ops.BernoulliRV)
def bernoulli_logp(value, p):
    log_mass = pt.switch(pt.eq(value, 1), pt.log(p), pt.switch(pt.eq(value, 0), pt.log1p(-p), -np.inf))
    return check_parameters(log_mass, *_valid_probability(p))


@LOGCDF.register(random_ops.BernoulliRV)
def bernoulli_logcdf(value, p):
    log_cdf = pt.switch(pt.lt(value, 0), -np.inf, pt.switch(pt.lt(value, 1), pt.log1p(-p), 0.0))
    return check_parameters(log_cdf, *_valid_probability(p))


@SUPPORT_POINT.register(random_ops.BernoulliRV)
def bernoulli_support_point(rv, p):
    return broadcast_to_rv(rv, pt.ge(p, 0.5))


@MEAN.register(random_ops.BernoulliRV)
def bernoulli_mean(rv, p):
    return pt.broadcast_to(p, rv.shape)


@VARIANCE.register(random_ops.BernoulliRV)
def bernoulli_variance(rv, p):
    return pt.broadcast_to(p * (1.0 - p), rv.shape)


class Binomial(Distribution):
    r"""Binomial distribution: successes in ``n`` independent trials.

    .. math:: P(x \mid n, p) = \binom{n}{x} p^x (1 - p)^{n - x}, \quad x = 0, \dots, n

    Parameters
    ----------
    n : tensor_like of int
        Number of trials (>= 0).
    p : tensor_like, optional
        Success probability, in [0, 1].
    logit_p : tensor_like, optional
        ``logit(p)``; give either ``p`` or ``logit_p``.
    """

    rv_op = random_ops.binomial

    @classmethod
    def dist(cls, n: Any, p: Any = None, logit_p: Any = None, **kwargs: Any) -> TensorVariable:
        count("n", n)
        return cls.build([as_parameter(n, dtype="int64"), _probability_from(p, logit_p)], **kwargs)


def log_binomial_coefficient(n: TensorVariable, k: TensorVariable) -> TensorVariable:
    """``log(n choose k)`` through log-gamma functions."""
    return pt.gammaln(n + 1.0) - pt.gammaln(k + 1.0) - pt.gammaln(n - k + 1.0)


@LOGP.register(random_ops.BinomialRV)
def binomial_logp(value, n, p):
    inside = pt.and_(pt.ge(value, 0), pt.le(value, n))
    safe_value = pt.switch(inside, value, 0)
    log_mass = log_binomial_coefficient(n, safe_value) + x_log_y(safe_value, p) + x_log1p_y(n - safe_value, -p)
    return check_parameters(pt.switch(inside, log_mass, -np.inf), pt.ge(n, 0), *_valid_probability(p))


@LOGCDF.register(random_ops.BinomialRV)
def binomial_logcdf(value, n, p):
    # P(X <= k) = I_{1-p}(n - k, k + 1) for 0 <= k < n (DLMF 8.17.5)
    safe_value = pt.clip(pt.floor(value), 0, pt.maximum(n - 1, 0))
    log_cdf = pt.log(pt.betainc(n - safe_value, safe_value + 1.0, 1.0 - p))
    log_cdf = pt.switch(pt.lt(value, 0), -np.inf, pt.switch(pt.ge(value, n), 0.0, log_cdf))
    return check_parameters(log_cdf, pt.ge(n, 0), *_valid_probability(p))


@SUPPORT_POINT.register(random_ops.BinomialRV)
def binomial_support_point(rv, n, p):
    return broadcast_to_rv(rv, pt.round(n * p))


@MEAN.register(random_ops.BinomialRV)
def binomial_mean(rv, n, p):
    return pt.broadcast_to(n * p, rv.shape)


@VARIANCE.register(random_ops.BinomialRV)
def binomial_variance(rv, n, p):
    return pt.broadcast_to(n * p * (1.0 - p), rv.shape)


class Poisson(Distribution):
    r"""Poisson distribution.

    .. math:: P(x \mid \mu) = \frac{\mu^x e^{-\mu}}{x!}, \quad x = 0, 1, \dots

    Parameters
    ----------
    mu : tensor_like
        Expected count (>= 0).
    """

    rv_op = random_ops.poisson

    @classmethod
    def dist(cls, mu: Any, **kwargs: Any) -> TensorVariable:
        check_constant("mu", mu, lambda array: array >= 0, "non-negative")
        return cls.build([as_parameter(mu)], **kwargs)


@LOGP.register(random_ops.PoissonRV)
def poisson_logp(value, mu):
    safe_value = pt.maximum(value, 0)
    log_mass = x_log_y(safe_value, mu) - mu - pt.gammaln(safe_value + 1.0)
    return check_parameters(pt.switch(pt.ge(value, 0), log_mass, -np.inf), pt.ge(mu, 0.0))


@LOGCDF.register(random_ops.PoissonRV)
def poisson_logcdf(value, mu):
    # P(X <= k) = Q(k + 1, mu), the regularised upper incomplete gamma function
    log_cdf = pt.log(pt.gammaincc(pt.floor(pt.maximum(value, 0)) + 1.0, mu))
    return check_parameters(pt.switch(pt.ge(value, 0), log_cdf, -np.inf), pt.ge(mu, 0.0))


@SUPPORT_POINT.register(random_ops.PoissonRV)
def poisson_support_point(rv, mu):
    return broadcast_to_rv(rv, pt.floor(mu))


@MEAN.register(random_ops.PoissonRV)
def poisson_mean(rv, mu):
    return pt.broadcast_to(mu, rv.shape)


@VARIANCE.register(random_ops.PoissonRV)
def poisson_variance(rv, mu):
    return pt.broadcast_to(mu, rv.shape)


class NegativeBinomial(Distribution):
    r"""Negative binomial distribution: failures before the ``n``-th success.

    .. math:: P(x \mid n, p) = \frac{\Gamma(x + n)}{x!\,\Gamma(n)} p^n (1 - p)^x

    With ``mu`` and ``alpha``: ``n = alpha``, ``p = alpha / (mu + alpha)``, so
    that the mean is ``mu`` and the variance ``mu + mu^2 / alpha``.

    Parameters
    ----------
    mu : tensor_like, optional
        Mean (> 0), with ``alpha``.
    alpha : tensor_like, optional
        Dispersion (> 0).
    p : tensor_like, optional
        Success probability in (0, 1], with ``n``.
    n : tensor_like, optional
        Number of successes (> 0, need not be an integer).
    """

    rv_op = random_ops.negative_binomial

    @classmethod
    def dist(
        cls, mu: Any = None, alpha: Any = None, p: Any = None, n: Any = None, **kwargs: Any
    ) -> TensorVariable:
        if mu is not None and alpha is not None and p is None and n is None:
            positive("mu", mu)
            positive("alpha", alpha)
            alpha = as_parameter(alpha)
            return cls.build([alpha, alpha / (as_parameter(mu) + alpha)], **kwargs)
        if p is None or n is None or mu is not None or alpha is not None:
            raise ValueError("give mu and alpha, or p and n")
        check_constant("p", p, lambda array: (array > 0) & (array <= 1), "in (0, 1]")
        positive("n", n)
        return cls.build([as_parameter(n), as_parameter(p)], **kwargs)


@LOGP.register(random_ops.NegBinomialRV)
def negative_binomial_logp(value, n, p):
    safe_value = pt.maximum(value, 0)
    log_mass = (
        pt.gammaln(safe_value + n) - pt.gammaln(n) - pt.gammaln(safe_value + 1.0)
        + n * pt.log(p) + x_log1p_y(safe_value, -p)
    )
    valid = (pt.gt(n, 0.0), pt.gt(p, 0.0), pt.le(p, 1.0))
    return check_parameters(pt.switch(pt.ge(value, 0), log_mass, -np.inf), *valid)


@LOGCDF.register(random_ops.NegBinomialRV)
def negative_binomial_logcdf(value, n, p):
    # P(X <= k) = I_p(n, k + 1)
    log_cdf = pt.log(pt.betainc(n, pt.floor(pt.maximum(value, 0)) + 1.0, p))
    valid = (pt.gt(n, 0.0), pt.gt(p, 0.0), pt.le(p, 1.0))
    return check_parameters(pt.switch(pt.ge(value, 0), log_cdf, -np.inf), *valid)


@SUPPORT_POINT.register(random_ops.NegBinomialRV)
def negative_binomial_support_point(rv, n, p):
    return broadcast_to_rv(rv, pt.floor(n * (1.0 - p) / p))


@MEAN.register(random_ops.NegBinomialRV)
def negative_binomial_mean(rv, n, p):
    return pt.broadcast_to(n * (1.0 - p) / p, rv.shape)


@VARIANCE.register(random_ops.NegBinomialRV)
def negative_binomial_variance(rv, n, p):
    return pt.broadcast_to(n * (1.0 - p) / p**2, rv.shape)


class Geometric(Distribution):
    r"""Geometric distribution: the trial of the first success.

    .. math:: P(x \mid p) = p (1 - p)^{x - 1}, \quad x = 1, 2, \dots

    Parameters
    ----------
    p : tensor_like
        Success probability in (0, 1].
    """

    rv_op = random_ops.geometric

    @classmethod
    def dist(cls, p: Any, **kwargs: Any) -> TensorVariable:
        check_constant("p", p, lambda array: (array > 0) & (array <= 1), "in (0, 1]")
        return cls.build([as_parameter(p)], **kwargs)


@LOGP.register(random_ops.GeometricRV)
def geometric_logp(value, p):
    safe_value = pt.maximum(value, 1)
    log_mass = pt.log(p) + x_log1p_y(safe_value - 1.0, -p)
    return check_parameters(pt.switch(pt.ge(value, 1), log_mass, -np.inf), pt.gt(p, 0.0), pt.le(p, 1.0))


@LOGCDF.register(random_ops.GeometricRV)
def geometric_logcdf(value, p):
    log_cdf = pt.log1mexp(pt.floor(pt.maximum(value, 1)) * pt.log1p(-p))
    return check_parameters(pt.switch(pt.ge(value, 1), log_cdf, -np.inf), pt.gt(p, 0.0), pt.le(p, 1.0))


@SUPPORT_POINT.register(random_ops.GeometricRV)
def geometric_support_point(rv, p):
    return broadcast_to_rv(rv, pt.round(1.0 / p))


@MEAN.register(random_ops.GeometricRV)
def geometric_mean(rv, p):
    return pt.broadcast_to(1.0 / p, rv.shape)


@VARIANCE.register(random_ops.GeometricRV)
def geometric_variance(rv, p):
    return pt.broadcast_to((1.0 - p) / p**2, rv.shape)


# ---------------------------------------------------------------- supports (see support.py)
@SUPPORT_VIOLATIONS.register(random_ops.BernoulliRV)
def bernoulli_support_violations(value, p):
    return outside_interval(value, 0, 1)


@SUPPORT_VIOLATIONS.register(random_ops.BinomialRV)
def binomial_support_violations(value, n, p):
    return outside_interval(value, 0, n)


@SUPPORT_VIOLATIONS.register(random_ops.PoissonRV)
@SUPPORT_VIOLATIONS.register(random_ops.NegBinomialRV)
def count_support_violations(value, *parameters):
    return outside_interval(value, 0)


@SUPPORT_VIOLATIONS.register(random_ops.GeometricRV)
def geometric_support_violations(value, p):
    return outside_interval(value, 1)
