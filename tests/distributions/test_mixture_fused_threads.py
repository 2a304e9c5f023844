"""The fused mixture kernel over threads: the same numbers bit for bit, and when threads are used.

The data are a few blocks long (``BLOCK_SIZE`` observations each, the last
one partial); the parallel threshold is lowered through the kernel's
parameter instead of making the data large.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import pytest
from scipy import special

from mixgraph.distributions.mixture_fused import _compiled_blocks, python_kernel, serial_kernel
from mixgraph.distributions.mixture_fused_source import BLOCK_SIZE
from mixgraph.distributions.mixture_fused_threads import (
    PARALLEL_THRESHOLD,
    parallel_threshold,
    start_threading_layer,
    thread_count,
    threshold_in_effect,
)

N = 3 * BLOCK_SIZE + 123
THRESHOLD = 1000
RNG = np.random.default_rng(7)
REAL = np.where(RNG.uniform(size=N) < 0.3, RNG.normal(-2.0, 1.0, N), RNG.normal(2.0, 0.5, N))
COUNTS = (RNG.poisson(3.0, N) * (RNG.uniform(size=N) < 0.7)).astype(np.float64)
LOG_FACTORIAL = special.gammaln(COUNTS + 1.0)


def _vector(*values):
    return np.array(values, dtype=np.float64)


@dataclass(frozen=True)
class KernelCase:
    """One fused kernel: its layout and its inputs (value, weights, parameters, log-factorials)."""

    name: str
    families: tuple
    shared: tuple
    wanted: tuple
    inputs: tuple


def _normal_weights_per_observation():
    first = special.expit(np.linspace(-2.0, 2.0, N))
    return np.stack([first, 1.0 - first], axis=-1)


CASES = [
    KernelCase("normal pair", ("normal", "normal"), (True,) * 5, (0, 1, 2, 3, 4, 5),
               (REAL, np.array([[0.3, 0.7]]), _vector(-2.0), _vector(1.0), _vector(2.0), _vector(0.5))),
    KernelCase("normal, per-observation weights and mean", ("normal", "normal"), (False, False, True, True, True),
               (1, 2, 3, 4, 5),
               (REAL, _normal_weights_per_observation(), np.linspace(-3.0, -1.0, N), _vector(1.2),
                _vector(2.0), _vector(0.5))),
    KernelCase("poisson pair", ("poisson", "poisson"), (True, True, True), (1, 2, 3),
               (COUNTS, np.array([[0.4, 0.6]]), _vector(0.8), _vector(4.0), LOG_FACTORIAL)),
    KernelCase("zero-inflated poisson", ("dirac_delta", "poisson"), (True, True, True), (1, 3),
               (COUNTS, np.array([[0.3, 0.7]]), _vector(0.0), _vector(3.0), LOG_FACTORIAL)),
    KernelCase("zero-inflated poisson regression", ("dirac_delta", "poisson"), (True, True, False), (1, 3),
               (COUNTS, np.array([[0.3, 0.7]]), _vector(0.0), np.linspace(0.5, 6.0, N), LOG_FACTORIAL)),
]


def _run(kernel, inputs, threads: int):
    numba.set_num_threads(threads)
    try:
        return kernel(*inputs)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def _assert_bitwise_equal(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.shape == b.shape
        assert np.array_equal(a.view(np.uint64), b.view(np.uint64))  # bits, so -0.0 and 0.0 differ too


@pytest.fixture(scope="module", params=CASES, ids=lambda case: case.name)
def case_and_kernels(request):
    case = request.param
    start_threading_layer()
    parallel = python_kernel(case.families, case.shared, case.wanted, True, THRESHOLD)
    return case, serial_kernel(case.families, case.shared, case.wanted, True), parallel


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
def test_parallel_blocks_equal_the_serial_kernel_bit_for_bit(case_and_kernels):
    case, serial, dispatched = case_and_kernels
    reference = serial(*case.inputs)
    prange_copy = _compiled_blocks(case.families, case.shared, case.wanted, True, True)  # what dispatch picks
    for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
        _assert_bitwise_equal(_run(prange_copy, case.inputs, threads), reference)
        _assert_bitwise_equal(_run(dispatched, case.inputs, threads), reference)


def test_blocked_sum_equals_the_per_observation_log_densities(case_and_kernels):
    case, serial, dispatched = case_and_kernels
    pointwise = serial_kernel(case.families, case.shared, (), False)(*case.inputs)
    total = _run(dispatched, case.inputs, 2)[0]
    # every block, the last partial one too, is in the sum (a lost block would be ~1e3 off)
    assert math.isclose(float(total), math.fsum(pointwise), rel_tol=1e-12)


def _shifted(inputs, position: int, entry: tuple, step: float):
    shifted = [np.array(array, copy=True) for array in inputs]
    shifted[position][entry] += step
    return shifted


def _central_difference(function, inputs, position, entry, step):
    upper = function(_shifted(inputs, position, entry, step))
    lower = function(_shifted(inputs, position, entry, -step))
    return (upper - lower) / (2 * step)


def test_parallel_gradient_matches_finite_differences(case_and_kernels):
    """Shared inputs: the difference of the total; per-observation inputs: of that observation's log-density."""
    case, _, dispatched = case_and_kernels
    results = _run(dispatched, case.inputs, 2)
    pointwise = serial_kernel(case.families, case.shared, (), False)
    for position, gradient in zip(case.wanted, results[1:]):
        step = 2e-7 if position == 1 else 1e-6  # weights stay on the simplex within its tolerance of 1e-6
        per_observation = gradient.shape[0] == N
        rows = [0, N // 2, N - 1] if per_observation else [0]
        columns = [0, 1] if position == 1 else [None]
        for row in rows:
            for column in columns:
                entry = (row,) if column is None else (row, column)
                if per_observation:
                    numeric = _central_difference(lambda inputs: pointwise(*inputs)[row], case.inputs, position,
                                                  entry, step)
                else:
                    numeric = _central_difference(lambda inputs: float(_run(dispatched, inputs, 2)[0]),
                                                  case.inputs, position, entry, step)
                np.testing.assert_allclose(gradient[entry], numeric, rtol=1e-5, atol=1e-6,
                                           err_msg=f"{case.name}: input {position}, entry {entry}")


def test_threshold_is_set_for_new_ops_inside_the_block_only():
    assert threshold_in_effect() == PARALLEL_THRESHOLD
    with parallel_threshold(500):
        assert threshold_in_effect() == 500
    assert threshold_in_effect() == PARALLEL_THRESHOLD
    with pytest.raises(ValueError, match="positive"):
        with parallel_threshold(0):
            pass


@numba.njit
def _thread_count_in_jitted_code():
    return thread_count()


def test_thread_count_is_the_calling_threads_setting():
    start_threading_layer()
    numba.set_num_threads(1)
    try:
        assert _thread_count_in_jitted_code() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert _thread_count_in_jitted_code() == numba.config.NUMBA_NUM_THREADS
