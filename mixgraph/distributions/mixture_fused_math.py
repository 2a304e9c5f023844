"""Exponential and logarithm written out in arithmetic, so that the fused mixture loop vectorises.

LLVM vectorises a loop only if every call in it has a vector form. Without
Intel's SVML (which Numba uses when ``icc_rt`` is installed, and which is
not a dependency here), ``math.exp`` and ``math.log`` are scalar calls into
libm, so the fused mixture kernel (:mod:`mixture_fused_source`) ran one
observation at a time. These two functions are plain floating-point and
integer arithmetic, inlined into the kernel: its element-wise loop then runs
four or eight observations per instruction (AVX2, AVX-512).

Both are accurate to about one unit in the last place on the arguments the
kernel gives them (tested against NumPy in ``tests/distributions/
test_mixture_fused_math.py``):

* :func:`exp_nonpositive` takes ``t_k - max_k t_k <= 0`` (the shifted terms
  of a log-sum-exp). Cody and Waite's range reduction (W. J. Cody and
  W. Waite, *Software Manual for the Elementary Functions*, Prentice-Hall
  1980, ch. 6): ``x = n log 2 + r`` with ``|r| <= log(2) / 2``, ``log 2``
  split in two parts so that ``n log 2`` is exact; then ``exp(r)`` by its
  Taylor polynomial of degree 13 (remainder below ``4e-18``), and ``2^n``
  made from its IEEE-754 bits. Below ``-708`` it returns 0, an absolute
  error under ``4e-308``: the terms are added to 1.
* :func:`log_positive_normal` takes the sum of those exponentials (at least
  1). ``s = 2^e f`` with ``f`` in ``[sqrt(1/2), sqrt(2))`` read from the
  bits, then ``log f = 2 atanh(u)``, ``u = (f - 1) / (f + 1)``, by the odd
  series of degree 19 (``|u| <= 0.172``, remainder below ``1e-17``; J.-M.
  Muller, *Elementary Functions*, 3rd ed., Birkhäuser 2016, sec. 11.4).
  It is accurate for every positive normal number; for 0, subnormals,
  infinities and NaN it returns a finite value of no meaning, which the
  kernel never uses (it selects ``-inf`` or NaN instead).
  :func:`log_nonnegative` is the same with ``math.log``'s values at 0,
  subnormals, ``inf``, negative numbers and NaN, for a per-observation
  weight or parameter.

Neither branches, so LLVM turns the kernel's element-wise loop into vector
instructions. ``fastmath`` stays off: a vector lane and the scalar loop that
finishes a block compute the same operations in the same order, so results
do not depend on where an observation falls in a block.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = [
    "exp_nonpositive", "log_positive_normal", "log_nonnegative", "float_from_bits", "bits_from_float", "EXP_UNDERFLOW",
]

EXP_UNDERFLOW = -708.0
"""Below this argument :func:`exp_nonpositive` returns 0 (``exp(-708) = 3.3e-308``, still a normal number)."""

_LOG2_E = 1.4426950408889634
_LN2_HIGH = 0.6931471803691238  # log 2 to 32 bits: n * _LN2_HIGH is exact for |n| < 2^21
_LN2_LOW = 1.9082149292705877e-10  # log 2 - _LN2_HIGH
_SQRT_2 = 1.4142135623730951
_MANTISSA_BITS = 0x000FFFFFFFFFFFFF
_ONE_EXPONENT_BITS = 0x3FF0000000000000
_SMALLEST_NORMAL = 2.2250738585072014e-308
_TWO_TO_54 = 18014398509481984.0
# Polynomial coefficients, highest degree first (Horner's scheme)
_EXP_TAYLOR = tuple(1.0 / math.factorial(degree) for degree in range(13, -1, -1))
_ATANH_SERIES = tuple(1.0 / (2 * term + 1) for term in range(9, 0, -1))  # 1/19, 1/17, ..., 1/3


@intrinsic
def float_from_bits(typing_context, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits`` (a bit cast, which vectorises)."""
    signature = types.float64(types.int64)

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], ir.DoubleType())

    return signature, codegen


@intrinsic
def bits_from_float(typing_context, value):
    """The IEEE-754 bits of the float64 ``value``, as an int64."""
    signature = types.int64(types.float64)

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], ir.IntType(64))

    return signature, codegen


@numba.njit(inline="always", error_model="numpy")
def _horner(coefficients: tuple, x: float) -> float:
    """The polynomial with these coefficients (highest degree first) at ``x``."""
    value = 0.0
    for coefficient in coefficients:
        value = value * x + coefficient
    return value


@numba.njit(inline="always", error_model="numpy")
def exp_nonpositive(x: float) -> float:
    """``exp(x)`` for ``x <= 0``: exactly 1 at 0, 0 below :data:`EXP_UNDERFLOW` and at ``-inf``, NaN at NaN."""
    clamped = EXP_UNDERFLOW if x < EXP_UNDERFLOW else x  # NaN stays NaN
    n = np.floor(clamped * _LOG2_E + 0.5)
    r = (clamped - n * _LN2_HIGH) - n * _LN2_LOW
    p = _horner(_EXP_TAYLOR, r)  # the Taylor polynomial of exp(r)
    exponent = np.int64(n if n == n else 0.0)  # NaN would make the conversion undefined
    scale = float_from_bits((exponent + 1023) << 52)
    return 0.0 if x < EXP_UNDERFLOW else p * scale


@numba.njit(inline="always", error_model="numpy")
def _log_from_bits(s: float, exponent_offset: float) -> float:
    """``log(s) + exponent_offset * log(2)`` for a positive normal ``s``."""
    bits = bits_from_float(s)
    exponent = np.float64((bits >> 52) - 1023) + exponent_offset
    fraction = float_from_bits((bits & _MANTISSA_BITS) | _ONE_EXPONENT_BITS)  # in [1, 2)
    above = fraction > _SQRT_2
    fraction = fraction * 0.5 if above else fraction
    exponent = exponent + 1.0 if above else exponent
    u = (fraction - 1.0) / (fraction + 1.0)
    u2 = u * u
    q = _horner(_ATANH_SERIES, u2)  # atanh(u) / u - 1 = u^2 q
    return exponent * _LN2_HIGH + (2.0 * u + (2.0 * u * u2 * q + exponent * _LN2_LOW))


@numba.njit(inline="always", error_model="numpy")
def log_positive_normal(s: float) -> float:
    """``log(s)`` for a positive normal float64 ``s`` (other inputs: a finite value of no meaning)."""
    return _log_from_bits(s, 0.0)


@numba.njit(inline="always", error_model="numpy")
def log_nonnegative(v: float) -> float:
    """``log(v)`` as ``math.log`` gives it for any float64: ``-inf`` at 0, ``inf`` at ``inf``, NaN below 0 and at NaN.

    A subnormal ``v`` is scaled by ``2^54`` first. Used where a per-observation
    weight or parameter is logged inside the kernel's loop.
    """
    small = v < _SMALLEST_NORMAL
    result = _log_from_bits(v * _TWO_TO_54 if small else v, -54.0 if small else 0.0)
    result = -math.inf if v == 0.0 else result
    result = math.inf if v == math.inf else result
    return result if v >= 0.0 else math.nan
