"""Special functions in pure Numba, so that compiled log-densities can be cached on disk.

PyTensor's Numba backend implements a scalar op whose ``nfunc_spec`` names a
``scipy.special`` function by calling scipy's Cython function through a
ctypes pointer. A function that holds such a pointer cannot be cached by
Numba ("uses dynamic globals"), so every model whose log-density or gradient
reaches one recompiled in each new process: the digamma function is the
gradient of every ``gammaln`` of a parameter (Gamma, Beta, StudentT,
NegativeBinomial, Dirichlet, ...), and ``erfcx`` appears in the stabilised
log-CDF of the Normal (TruncatedNormal).

This module registers pure-Numba implementations of those ops with
PyTensor's Numba dispatch. Importing it is enough; :mod:`mixgraph.compile`
does so.
"""

from __future__ import annotations

import math

from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key
from pytensor.link.numba.dispatch.scalar import scalar_op_cache_key
from pytensor.scalar.math import Erfcx, Psi

__all__ = ["digamma", "erfcx", "CACHE_VERSION"]

CACHE_VERSION = "mixgraph-special-1"
"""Part of the cache key of the generated functions; change it when an implementation changes."""

_ASYMPTOTIC_FROM = 10.0
_CONTINUED_FRACTION_FROM = 6.0
_CONTINUED_FRACTION_TERMS = 60
_INVERSE_SQRT_PI = 0.5641895835477563


def digamma(x: float) -> float:
    """The digamma function (derivative of ``log Gamma``), as ``scipy.special.psi``.

    Recurrence ``psi(x) = psi(x + 1) - 1/x`` up to ``x >= 10``, then the
    asymptotic series ``log x - 1/(2x) - sum_k B_2k / (2k x^2k)`` (Abramowitz
    and Stegun 6.3.5 and 6.3.18); below zero the reflection formula
    ``psi(x) = psi(1 - x) - pi / tan(pi x)`` (A&S 6.3.7). The negative integers give
    NaN, ``psi(+0) = -inf`` and ``psi(-0) = inf``, and ``psi(+inf) = inf``.
    """
    if math.isnan(x) or x == -math.inf:
        return math.nan
    if x == math.inf:
        return math.inf
    result = 0.0
    if x == 0.0:
        return -math.copysign(math.inf, x)
    if x < 0.0:
        if x == math.floor(x):
            return math.nan
        # tan has period pi, so reduce the argument to keep its precision.
        result = -math.pi / math.tan(math.pi * (x - math.floor(x)))
        x = 1.0 - x
    while x < _ASYMPTOTIC_FROM:
        result -= 1.0 / x
        x += 1.0
    inverse_square = 1.0 / (x * x)
    series = inverse_square * (
        1.0 / 12 - inverse_square * (
            1.0 / 120 - inverse_square * (
                1.0 / 252 - inverse_square * (
                    1.0 / 240 - inverse_square * (
                        1.0 / 132 - inverse_square * (691.0 / 32760 - inverse_square / 12)
                    )
                )
            )
        )
    )
    return result + math.log(x) - 0.5 / x - series


def erfcx(x: float) -> float:
    """The scaled complementary error function ``exp(x**2) * erfc(x)``, as ``scipy.special.erfcx``.

    Below ``x = 6`` the product is computed directly (``erfc`` keeps full
    relative precision there and ``exp(x**2)`` does not overflow); for
    negative ``x`` through ``erfcx(x) = 2 exp(x**2) - erfcx(-x)``. From
    ``x = 6`` on, the continued fraction of ``erfc`` (A&S 7.1.14),
    ``erfcx(x) = 1/sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...))))``,
    evaluated from its tail.
    """
    if math.isnan(x):
        return math.nan
    if x < _CONTINUED_FRACTION_FROM:
        if x < -26.7:
            return math.inf
        return math.exp(x * x) * math.erfc(x)
    if x == math.inf:
        return 0.0
    tail = x
    for term in range(_CONTINUED_FRACTION_TERMS, 0, -1):
        tail = x + (0.5 * term) / tail
    return _INVERSE_SQRT_PI / tail


@register_funcify_and_cache_key(Psi)
def _numba_funcify_psi(op, node, **kwargs):
    return numba_basic.numba_njit(digamma), scalar_op_cache_key(op, cache_version=CACHE_VERSION)


@register_funcify_and_cache_key(Erfcx)
def _numba_funcify_erfcx(op, node, **kwargs):
    return numba_basic.numba_njit(erfcx), scalar_op_cache_key(op, cache_version=CACHE_VERSION)
