"""The fused kernel's own exponential and logarithm: accuracy against NumPy, edge values, and vectorisation."""

from __future__ import annotations

import math
import re

import numba
import numpy as np
import pytest
from scipy import special

from mixgraph.distributions.mixture_fused import serial_kernel
from mixgraph.distributions.mixture_fused_math import (
    _LN2_HIGH,
    _LN2_LOW,
    EXP_UNDERFLOW,
    exp_nonpositive,
    log_nonnegative,
    log_positive_normal,
)
from mixgraph.distributions.mixture_fused_source import BLOCK_SIZE, kernel_source

ULP = np.finfo(np.float64).eps


@numba.njit
def _each(function, values):
    out = np.empty_like(values)
    for i in range(values.size):
        out[i] = function(values[i])
    return out


def _exp_all(values):
    return _each(exp_nonpositive, values)


def _log_all(values):
    return _each(log_positive_normal, values)


def _log_any(values):
    return _each(log_nonnegative, values)


def test_the_two_parts_of_log_2_add_up_to_it():
    assert _LN2_HIGH + _LN2_LOW == math.log(2.0)
    # the high part has few significant bits, so that n * _LN2_HIGH is exact for every exponent n
    assert (int(_LN2_HIGH * 2**32) / 2**32) == _LN2_HIGH


def test_exp_matches_numpy_to_two_units_in_the_last_place():
    rng = np.random.default_rng(0)
    values = np.concatenate([
        -rng.exponential(1.0, 200_000), -rng.uniform(0.0, -EXP_UNDERFLOW, 200_000),
        -np.linspace(0.0, 1.0, 10_001), np.arange(0.0, EXP_UNDERFLOW, -0.5 * math.log(2.0)),
    ])
    relative = np.abs(_exp_all(values) / np.exp(values) - 1.0)
    assert relative.max() <= 2 * ULP, f"worst at x = {values[np.argmax(relative)]}: {relative.max() / ULP:.2f} ulp"


def test_exp_edge_values():
    values = np.array([0.0, -0.0, -np.inf, EXP_UNDERFLOW, np.nextafter(EXP_UNDERFLOW, -np.inf), -1000.0, np.nan])
    result = _exp_all(values)
    assert result[0] == 1.0 and result[1] == 1.0, "exp(0) must be 1 exactly: the largest term of a log-sum-exp"
    assert result[2] == 0.0 and result[4] == 0.0 and result[5] == 0.0
    assert result[3] == pytest.approx(math.exp(EXP_UNDERFLOW), rel=2 * ULP)
    assert np.isnan(result[6])


def test_log_matches_numpy_over_every_binade_and_where_the_kernel_uses_it():
    rng = np.random.default_rng(1)
    values = np.concatenate([
        1.0 + rng.uniform(0.0, 9.0, 200_000),  # a sum of K exponentials, the largest being 1
        np.exp(rng.uniform(-700.0, 700.0, 100_000)),
        np.nextafter(1.0, [0.0, 2.0]), np.array([1.0, 2.0, math.sqrt(2.0), 0.5, np.finfo(np.float64).tiny]),
    ])
    error = np.abs(_log_all(values) - np.log(values))
    scale = np.maximum(np.abs(np.log(values)), ULP)
    assert (error / scale).max() <= 2 * ULP, f"worst at s = {values[np.argmax(error / scale)]}"
    assert _log_all(np.array([1.0]))[0] == 0.0


def test_log_of_any_value_matches_math_log_including_zero_subnormals_and_infinity():
    rng = np.random.default_rng(4)
    tiny = np.finfo(np.float64).tiny
    values = np.concatenate([
        np.exp(rng.uniform(-740.0, 700.0, 100_000)),  # normal and subnormal numbers
        tiny * rng.uniform(0.0, 1.0, 1_000), np.array([5e-324, tiny, np.nextafter(tiny, 0.0), 1.0, 0.3, 0.7]),
    ])
    expected = np.log(values)
    error = np.abs(_log_any(values) - expected) / np.maximum(np.abs(expected), ULP)
    assert error.max() <= 2 * ULP, f"worst at v = {values[np.argmax(error)]}"
    with np.errstate(divide="ignore", invalid="ignore"):
        edges = np.array([0.0, -0.0, np.inf, -1.0, -np.inf, np.nan])
        np.testing.assert_array_equal(_log_any(edges), np.log(edges))


def _normal_inputs(size):
    values = np.random.default_rng(2).normal(0.0, 2.0, size)
    return (values, np.array([[0.4, 0.6]]), np.array([-1.0]), np.array([1.0]), np.array([2.0]), np.array([0.7]))


def _zero_inflated_inputs(size):
    counts = (np.random.default_rng(3).poisson(3.0, size) * (np.arange(size) % 3 > 0)).astype(np.float64)
    return (counts, np.array([[0.3, 0.7]]), np.array([0.0]), np.array([2.5]), special.gammaln(counts + 1.0))


def _zero_inflated_regression_inputs(size):
    counts, weights, point, _, log_factorial = _zero_inflated_inputs(size)
    means = np.exp(np.random.default_rng(5).normal(1.0, 0.3, size))
    return (counts, weights, point, means, log_factorial)


def _per_observation_weights_inputs(size):
    values, _, *parameters = _normal_inputs(size)
    first = special.expit(np.linspace(-2.0, 2.0, size))
    return (values, np.stack([first, 1.0 - first], axis=-1), *parameters)


def _student_t_inputs(size):
    values, weights, mu0, sigma0, mu1, sigma1 = _normal_inputs(size)
    return (values, weights, np.array([3.5]), mu0, sigma0, mu1, sigma1)


@pytest.mark.parametrize("families, shared, wanted, inputs", [
    (("normal", "normal"), (True,) * 5, (1, 2, 3, 4, 5), _normal_inputs),
    (("dirac_delta", "poisson"), (True,) * 3, (1, 3), _zero_inflated_inputs),
    (("dirac_delta", "poisson"), (True, True, False), (1, 3), _zero_inflated_regression_inputs),
    (("normal", "normal"), (False, True, True, True, True), (1, 2, 3, 4, 5), _per_observation_weights_inputs),
    (("student_t", "normal"), (True,) * 6, (1, 2, 3, 4, 5, 6), _student_t_inputs),
], ids=["normal pair", "zero-inflated poisson", "zero-inflated poisson regression", "per-observation weights",
        "student t and normal"])
def test_the_kernel_runs_on_vectors_without_libm_exp_or_a_per_observation_log(families, shared, wanted, inputs):
    kernel = serial_kernel(families, shared, wanted, True)  # one dispatcher per layout and process
    arguments = inputs(100)
    kernel(*arguments)
    code = kernel.inspect_llvm(tuple(numba.typeof(argument) for argument in arguments))
    # the exponential's rounding step, on a vector: only there if its loop was vectorised
    assert re.search(r"@llvm\.floor\.v\d+f64", code), "the element-wise loop was not vectorised"
    assert not re.search(r"@(llvm\.)?exp(\.f64)?\b", code), "a scalar exp is called"
    # libm's log only where the source calls it before the loops (a shared parameter's log), never per observation
    source = kernel_source(families, shared, wanted, True)
    setup = source[:source.index("for j in range(stop - start)")]
    before_the_loops = setup.count("math.log(") + setup.count("digamma(")  # digamma's asymptotic series logs once
    calls = len(re.findall(r"call [^\n]*@llvm\.log\.f64", code))
    assert calls <= before_the_loops, "a scalar log is called per observation"


def test_the_kernel_matches_the_log_sum_exp_of_numpy_and_its_gradient():
    inputs = _normal_inputs(3 * BLOCK_SIZE + 17)
    values, weights, mu0, sigma0, mu1, sigma1 = inputs
    total, *gradients = serial_kernel(("normal", "normal"), (True,) * 5, (1, 2, 3, 4, 5), True)(*inputs)
    terms = np.stack([np.log(weights[0, 0]) + _normal_logpdf(values, mu0, sigma0),
                      np.log(weights[0, 1]) + _normal_logpdf(values, mu1, sigma1)], axis=-1)
    expected = special.logsumexp(terms, axis=-1)
    assert float(total) == pytest.approx(expected.sum(), rel=1e-13)
    responsibilities = np.exp(terms - expected[:, None])
    z0 = (values - mu0) / sigma0
    assert gradients[1][0] == pytest.approx(np.sum(responsibilities[:, 0] * z0 / sigma0), rel=1e-11)
    assert gradients[0][0, 1] == pytest.approx(np.sum(responsibilities[:, 1]) / weights[0, 1], rel=1e-12)


def _normal_logpdf(values, mu, sigma):
    return -0.5 * ((values - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * math.log(2.0 * math.pi)
