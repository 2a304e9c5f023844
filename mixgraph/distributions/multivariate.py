"""Multivariate distributions: Dirichlet, MvNormal, Multinomial.

Each distribution is a small class (PyMC's parameter names, converted to its
op's parameters in ``dist``) next to the functions registered for its op.
Log-densities sum out the support axis and return one value per batch
element. For these distributions ``MEAN`` has the variable's shape and
``VARIANCE`` returns the covariance matrix, of shape ``batch + (k, k)``.
The LKJ family lives in :mod:`mixgraph.distributions.lkj`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops

from mixgraph import transforms
from mixgraph.distributions.base import Distribution, as_parameter, check_constant
from mixgraph.distributions.continuous import x_log_y
from mixgraph.distributions.small_linalg import (
    UNROLLED_MAX_ORDER,
    lapack_cholesky_or_identity,
    log_diagonal_sum,
    static_order_of,
    unrolled_cholesky,
    unrolled_forward_solve,
)
from mixgraph.logprob import check_parameters
from mixgraph.registry import DEFAULT_TRANSFORM, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS, not_equal, outside_interval

__all__ = ["Dirichlet", "MvNormal", "Multinomial"]

LOG_2PI = np.log(2.0 * np.pi)
# How far from 1 (or n) the sum of a simplex (or count) vector may be
SIMPLEX_TOLERANCE = 1e-6


def broadcast_to_rv(rv: TensorVariable, value: Any) -> TensorVariable:
    """Broadcast ``value`` to the shape of ``rv``."""
    return pt.broadcast_to(pt.as_tensor(value, dtype="float64"), rv.shape)


def broadcast_covariance(rv: TensorVariable, covariance: TensorVariable) -> TensorVariable:
    """Broadcast a ``(..., k, k)`` covariance to ``batch + (k, k)`` of ``rv``."""
    length = rv.shape[-1]
    batch = tuple(rv.shape[axis] for axis in range(rv.ndim - 1))
    return pt.broadcast_to(covariance, (*batch, length, length))


def outer_last_axis(vector: TensorVariable) -> TensorVariable:
    """``vector[..., :, None] * vector[..., None, :]``."""
    return pt.shape_padright(vector, 1) * pt.shape_padaxis(vector, -2)


def diagonal_matrix(vector: TensorVariable) -> TensorVariable:
    """Batched ``diag``: ``(..., k) -> (..., k, k)``."""
    return pt.shape_padright(vector, 1) * pt.eye(vector.shape[-1])


def _is_positive_definite(array: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(array)
    except np.linalg.LinAlgError:
        return False
    return True


# ------------------------------------------------------------------ Dirichlet
class Dirichlet(Distribution):
    r"""Dirichlet distribution on the simplex.

    .. math:: p(x \mid a) = \frac{\Gamma(\sum_k a_k)}{\prod_k \Gamma(a_k)}
              \prod_{k=1}^{K} x_k^{a_k - 1}, \quad x_k \ge 0,\ \sum_k x_k = 1

    Parameters
    ----------
    a : tensor_like
        Concentrations (> 0), shape ``(..., K)``.
    """

    rv_op = random_ops.dirichlet

    @classmethod
    def dist(cls, a: Any, **kwargs: Any) -> TensorVariable:
        check_constant("a", a, lambda array: array > 0, "positive")
        return cls.build([as_parameter(a)], **kwargs)


@LOGP.register(random_ops.DirichletRV)
def dirichlet_logp(value, a):
    normalizer = pt.gammaln(pt.sum(a, axis=-1)) - pt.sum(pt.gammaln(a), axis=-1)
    density = normalizer + pt.sum(x_log_y(a - 1.0, value), axis=-1)
    on_simplex = pt.and_(
        pt.all(pt.and_(pt.ge(value, 0.0), pt.le(value, 1.0)), axis=-1),
        pt.le(pt.abs(pt.sum(value, axis=-1) - 1.0), SIMPLEX_TOLERANCE),
    )
    return check_parameters(pt.switch(on_simplex, density, -np.inf), a > 0)


@SUPPORT_POINT.register(random_ops.DirichletRV)
def dirichlet_support_point(rv, a):
    return broadcast_to_rv(rv, a / pt.sum(a, axis=-1, keepdims=True))


@MEAN.register(random_ops.DirichletRV)
def dirichlet_mean(rv, a):
    return broadcast_to_rv(rv, a / pt.sum(a, axis=-1, keepdims=True))


@VARIANCE.register(random_ops.DirichletRV)
def dirichlet_variance(rv, a):
    """Covariance ``(diag(m) - m m^T) / (a_0 + 1)`` with ``m = a / a_0``; shape batch + (K, K)."""
    total = pt.sum(a, axis=-1, keepdims=True)
    mean = a / total
    covariance = (diagonal_matrix(mean) - outer_last_axis(mean)) / pt.shape_padright(total + 1.0, 1)
    return broadcast_covariance(rv, covariance)


@DEFAULT_TRANSFORM.register(random_ops.DirichletRV)
def dirichlet_default_transform(a):
    return transforms.simplex


# ------------------------------------------------------------------- MvNormal
def _check_covariance_constants(cov: Any, chol: Any, tau: Any) -> None:
    if cov is not None:
        check_constant("cov", cov, _is_positive_definite, "symmetric positive definite")
    if tau is not None:
        check_constant("tau", tau, _is_positive_definite, "symmetric positive definite")
    if chol is not None:
        check_constant(
            "chol", chol,
            lambda array: np.all(np.diagonal(array, axis1=-2, axis2=-1) > 0)
            and np.allclose(array, np.tril(array)),
            "lower triangular with a positive diagonal",
        )


def covariance_from(cov: Any = None, chol: Any = None, tau: Any = None) -> TensorVariable:
    """The covariance matrix from exactly one of ``cov``, ``chol`` or ``tau``."""
    given = [name for name, value in (("cov", cov), ("chol", chol), ("tau", tau)) if value is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of cov, chol or tau, got {given or 'none'}")
    _check_covariance_constants(cov, chol, tau)
    if cov is not None:
        return as_parameter(cov)
    if chol is not None:
        chol = as_parameter(chol)
        return pt.matmul(chol, pt.swapaxes(chol, -1, -2))
    return pt.linalg.inv(as_parameter(tau))


class MvNormal(Distribution):
    r"""Multivariate normal distribution.

    .. math:: p(x \mid \mu, \Sigma) = (2\pi)^{-k/2} |\Sigma|^{-1/2}
              \exp\left(-\tfrac12 (x - \mu)^T \Sigma^{-1} (x - \mu)\right)

    Parameters
    ----------
    mu : tensor_like
        Mean, shape ``(..., k)``.
    cov : tensor_like, optional
        Covariance matrix ``Sigma``, shape ``(..., k, k)``.
    chol : tensor_like, optional
        Lower Cholesky factor of ``Sigma``.
    tau : tensor_like, optional
        Precision matrix ``Sigma^{-1}``. Give exactly one of ``cov``, ``chol``, ``tau``.
    """

    rv_op = random_ops.multivariate_normal

    @classmethod
    def dist(cls, mu: Any, cov: Any = None, chol: Any = None, tau: Any = None, **kwargs: Any) -> TensorVariable:
        covariance = covariance_from(cov=cov, chol=chol, tau=tau)
        return cls.build([as_parameter(mu), covariance], **kwargs)


@LOGP.register(random_ops.MvNormalRV)
def mvnormal_logp(value, mu, cov):
    order = static_order_of(cov, value, mu)
    if order is not None and order <= UNROLLED_MAX_ORDER:
        return _mvnormal_logp_unrolled(value, mu, cov, order)
    return _mvnormal_logp_lapack(value, mu, cov)


def _mvnormal_logp_unrolled(value, mu, cov, order):
    factor, positive_definite = unrolled_cholesky(cov, order)
    standardized = unrolled_forward_solve(factor, value - mu)
    squared_norm = sum((entry**2 for entry in standardized[1:]), standardized[0] ** 2)
    density = -0.5 * squared_norm - log_diagonal_sum(factor) - 0.5 * order * LOG_2PI
    return pt.switch(positive_definite, density, -np.inf)


def _mvnormal_logp_lapack(value, mu, cov):
    safe_cholesky, positive_definite = lapack_cholesky_or_identity(cov)
    deviation = value - mu
    if cov.type.ndim == 2:
        # One covariance for every observation: one triangular solve with
        # all deviations as columns, instead of one solve per observation.
        columns = pt.reshape(deviation, (-1, deviation.shape[-1])).T
        standardized = pt.linalg.solve_triangular(safe_cholesky, columns, lower=True)
        squared_norm = pt.reshape(pt.sum(standardized**2, axis=0), deviation.shape[:-1])
    else:
        standardized = pt.linalg.solve_triangular(safe_cholesky, pt.shape_padright(deviation, 1), lower=True)
        squared_norm = pt.sum(standardized[..., 0] ** 2, axis=-1)
    log_determinant = pt.sum(pt.log(pt.diagonal(safe_cholesky, axis1=-2, axis2=-1)), axis=-1)
    length = pt.cast(value.shape[-1], "float64")
    density = -0.5 * squared_norm - log_determinant - 0.5 * length * LOG_2PI
    return pt.switch(positive_definite, density, -np.inf)


@SUPPORT_POINT.register(random_ops.MvNormalRV)
def mvnormal_support_point(rv, mu, cov):
    return broadcast_to_rv(rv, mu)


@MEAN.register(random_ops.MvNormalRV)
def mvnormal_mean(rv, mu, cov):
    return broadcast_to_rv(rv, mu)


@VARIANCE.register(random_ops.MvNormalRV)
def mvnormal_variance(rv, mu, cov):
    """The covariance matrix, shape batch + (k, k)."""
    return broadcast_covariance(rv, cov)


# ---------------------------------------------------------------- Multinomial
class Multinomial(Distribution):
    r"""Multinomial distribution of counts.

    .. math:: p(x \mid n, p) = \frac{n!}{\prod_k x_k!} \prod_{k=1}^{K} p_k^{x_k},
              \quad x_k \in \{0, 1, \dots\},\ \sum_k x_k = n

    Parameters
    ----------
    n : tensor_like of int
        Number of trials (>= 0).
    p : tensor_like
        Probabilities, shape ``(..., K)``, non-negative and summing to 1.
    """

    rv_op = random_ops.multinomial

    @classmethod
    def dist(cls, n: Any, p: Any, **kwargs: Any) -> TensorVariable:
        check_constant("n", n, lambda array: (array >= 0) & (np.mod(array, 1) == 0), "a non-negative integer")
        check_constant(
            "p", p,
            lambda array: np.all((array >= 0) & (array <= 1))
            and np.allclose(np.sum(array, axis=-1), 1.0, atol=SIMPLEX_TOLERANCE),
            "non-negative and sum to 1 along the last axis",
        )
        return cls.build([as_parameter(n, dtype="int64"), as_parameter(p)], **kwargs)


@LOGP.register(random_ops.MultinomialRV)
def multinomial_logp(value, n, p):
    density = (
        pt.gammaln(n + 1.0)
        - pt.sum(pt.gammaln(value + 1.0), axis=-1)
        + pt.sum(x_log_y(value, p), axis=-1)
    )
    valid_counts = pt.and_(pt.all(pt.ge(value, 0), axis=-1), pt.eq(pt.sum(value, axis=-1), n))
    return check_parameters(
        pt.switch(valid_counts, density, -np.inf),
        n >= 0,
        pt.ge(p, 0.0),
        pt.le(p, 1.0),
        pt.le(pt.abs(pt.sum(p, axis=-1) - 1.0), SIMPLEX_TOLERANCE),
    )


@SUPPORT_POINT.register(random_ops.MultinomialRV)
def multinomial_support_point(rv, n, p):
    """``floor(n p)``, with the remainder added to the most probable category."""
    trials = pt.shape_padright(n, 1)
    counts = pt.floor(trials * p)
    remainder = trials - pt.sum(counts, axis=-1, keepdims=True)
    most_probable = pt.eq(pt.arange(p.shape[-1]), pt.shape_padright(pt.argmax(p, axis=-1), 1))
    counts = counts + remainder * most_probable
    return pt.cast(pt.broadcast_to(counts, rv.shape), "int64")


@MEAN.register(random_ops.MultinomialRV)
def multinomial_mean(rv, n, p):
    return broadcast_to_rv(rv, pt.shape_padright(n, 1) * p)


@VARIANCE.register(random_ops.MultinomialRV)
def multinomial_variance(rv, n, p):
    """Covariance ``n (diag(p) - p p^T)``, shape batch + (K, K)."""
    covariance = pt.shape_padright(n, 2) * (diagonal_matrix(p) - outer_last_axis(p))
    return broadcast_covariance(rv, covariance)


# ---------------------------------------------------------------- supports (see support.py)
@SUPPORT_VIOLATIONS.register(random_ops.DirichletRV)
def dirichlet_support_violations(value, a):
    """Rows with an entry outside [0, 1] or a sum off 1 (beyond the log-density's tolerance)."""
    off_simplex = np.abs(np.sum(value, axis=-1) - 1.0) > SIMPLEX_TOLERANCE
    return np.any(outside_interval(value, 0.0, 1.0), axis=-1) | off_simplex


@SUPPORT_VIOLATIONS.register(random_ops.MultinomialRV)
def multinomial_support_violations(value, n, p):
    """Rows with a negative count, or whose total is not ``n`` (when ``n`` is a constant)."""
    negative = np.any(outside_interval(value, 0), axis=-1)
    return negative if n is None else negative | np.not_equal(np.sum(value, axis=-1), n)
