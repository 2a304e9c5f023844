"""Symbolic moments of random variables: ``mean(rv)`` and ``variance(rv)``.

Each is dispatched by op type through the ``MEAN`` and ``VARIANCE``
registries, so that a distribution with closed-form moments registers them
next to its log-density, and a mixture combines its components' moments
(law of total expectation and of total variance).
"""

from __future__ import annotations

from pytensor.tensor import TensorVariable

from mixgraph.registry import MEAN, VARIANCE, distribution_parameters

__all__ = ["mean", "variance"]


def mean(rv: TensorVariable) -> TensorVariable:
    """The expectation of ``rv``, with the shape of ``rv``.

    Parameters
    ----------
    rv : TensorVariable
        A random variable (from ``.dist()`` or a model).

    Returns
    -------
    TensorVariable
        A graph in the distribution's parameters.

    Raises
    ------
    TypeError
        If the distribution has no registered mean.
    """
    return MEAN.get(rv.owner.op)(rv, *distribution_parameters(rv))


def variance(rv: TensorVariable) -> TensorVariable:
    """The variance of ``rv``; for a vector-valued variable, its covariance matrix.

    Returns
    -------
    TensorVariable
        Shape of ``rv`` for univariate distributions; ``batch + (k, k)`` for
        multivariate ones.
    """
    return VARIANCE.get(rv.owner.op)(rv, *distribution_parameters(rv))
