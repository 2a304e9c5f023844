"""The Dirichlet-multinomial distribution of counts (a multinomial whose probabilities are Dirichlet).

PyTensor has no op for it: ``DirichletMultinomialRV`` is defined here in the
style of PyTensor's ``MultinomialRV`` (signature ``(),(p)->(p)``), next to the
small class and the functions registered for the op.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable

from mixgraph.distributions.base import Distribution, as_parameter, check_constant
from mixgraph.distributions.multivariate import broadcast_covariance, broadcast_to_rv, diagonal_matrix, outer_last_axis
from mixgraph.logprob import check_parameters
from mixgraph.registry import LOGP, MEAN, SUPPORT_POINT, VARIANCE

__all__ = ["DirichletMultinomial", "DirichletMultinomialRV", "dirichlet_multinomial"]


class DirichletMultinomialRV(RandomVariable):
    """Counts of ``n`` trials over ``K`` categories with probabilities drawn from ``Dirichlet(a)``."""

    name = "dirichlet_multinomial"
    signature = "(),(p)->(p)"
    dtype = "int64"
    _print_name = ("DirichletMultinomial", "\\operatorname{DirichletMultinomial}")

    @classmethod
    def rng_fn(cls, rng, n, a, size):
        """Ancestral draw: ``p ~ Dirichlet(a)`` through normalised gammas, then ``Multinomial(n, p)``."""
        batch = np.broadcast_shapes(np.shape(n), np.shape(a)[:-1]) if size is None else tuple(size)
        concentration = np.broadcast_to(a, batch + np.shape(a)[-1:])
        trials = np.broadcast_to(n, batch)
        gammas = rng.standard_gamma(concentration)
        probabilities = gammas / gammas.sum(axis=-1, keepdims=True)
        return rng.multinomial(trials, probabilities).astype(np.int64)


dirichlet_multinomial = DirichletMultinomialRV()


class DirichletMultinomial(Distribution):
    r"""Dirichlet-multinomial distribution.

    .. math:: p(x \mid n, a) = \frac{n! \, \Gamma(A)}{\Gamma(n + A)}
              \prod_{k=1}^{K} \frac{\Gamma(x_k + a_k)}{x_k! \, \Gamma(a_k)},
              \quad A = \sum_k a_k,\ x_k \in \{0, 1, \dots\},\ \sum_k x_k = n

    Parameters
    ----------
    n : tensor_like of int
        Number of trials (>= 0), broadcast against the batch shape of ``a``.
    a : tensor_like
        Concentrations (> 0), shape ``(..., K)``.
    """

    rv_op = dirichlet_multinomial

    @classmethod
    def dist(cls, n: Any, a: Any, **kwargs: Any) -> TensorVariable:
        check_constant("n", n, lambda array: (array >= 0) & (np.mod(array, 1) == 0), "a non-negative integer")
        check_constant("a", a, lambda array: array > 0, "positive")
        a = as_parameter(a)
        if a.ndim == 0:
            raise ValueError("parameter a is a scalar; give one concentration per category (shape (..., K)).")
        return cls.build([as_parameter(n, dtype="int64"), a], **kwargs)


@LOGP.register(DirichletMultinomialRV)
def dirichlet_multinomial_logp(value, n, a):
    total = pt.sum(a, axis=-1)
    density = (
        pt.gammaln(n + 1.0)
        + pt.gammaln(total)
        - pt.gammaln(n + total)
        + pt.sum(pt.gammaln(value + a) - pt.gammaln(a) - pt.gammaln(value + 1.0), axis=-1)
    )
    valid_counts = pt.and_(pt.all(pt.ge(value, 0), axis=-1), pt.eq(pt.sum(value, axis=-1), n))
    return check_parameters(pt.switch(valid_counts, density, -np.inf), n >= 0, a > 0)


@SUPPORT_POINT.register(DirichletMultinomialRV)
def dirichlet_multinomial_support_point(rv, n, a):
    """``floor(n p)`` for the mean probabilities ``p = a / A``, the remainder on the largest ``a``."""
    probabilities = a / pt.sum(a, axis=-1, keepdims=True)
    trials = pt.shape_padright(n, 1)
    counts = pt.floor(trials * probabilities)
    remainder = trials - pt.sum(counts, axis=-1, keepdims=True)
    largest = pt.eq(pt.arange(a.shape[-1]), pt.shape_padright(pt.argmax(a, axis=-1), 1))
    return pt.cast(pt.broadcast_to(counts + remainder * largest, rv.shape), "int64")


@MEAN.register(DirichletMultinomialRV)
def dirichlet_multinomial_mean(rv, n, a):
    return broadcast_to_rv(rv, pt.shape_padright(n, 1) * a / pt.sum(a, axis=-1, keepdims=True))


@VARIANCE.register(DirichletMultinomialRV)
def dirichlet_multinomial_variance(rv, n, a):
    """Covariance ``n (n + A) / (1 + A) (diag(p) - p p^T)`` with ``p = a / A``; shape batch + (K, K)."""
    total = pt.sum(a, axis=-1, keepdims=True)
    probabilities = a / total
    trials = pt.shape_padright(n, 1)
    factor = pt.shape_padright(trials * (trials + total) / (1.0 + total), 1)
    covariance = factor * (diagonal_matrix(probabilities) - outer_last_axis(probabilities))
    return broadcast_covariance(rv, covariance)
