"""Cholesky transforms (and batched simplex/ordered): round trips and log-Jacobians."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from mixgraph import transforms
from mixgraph.transforms_cholesky import (
    CholeskyCorrTransform,
    CholeskyCovPackedTransform,
    cholesky_from_partial_correlations,
    cholesky_from_partial_correlations_numpy,
    packed_diagonal_indices,
)


def _functions(transform, ndim: int):
    value = pt.tensor("value", dtype="float64", shape=(None,) * ndim)
    forward = pytensor.function([value], transform.forward(value), mode="FAST_COMPILE")
    backward = pytensor.function([value], transform.backward(value), mode="FAST_COMPILE")
    log_jacobian = pytensor.function([value], transform.log_jac_det(value), mode="FAST_COMPILE")
    return forward, backward, log_jacobian


def numerical_log_jacobian(backward, unconstrained: np.ndarray, free: slice = slice(None)) -> float:
    """log |det| of the central-difference Jacobian of ``backward`` (free outputs only)."""
    step = 1e-6
    columns = []
    for direction in np.eye(unconstrained.size):
        plus = backward(unconstrained + step * direction)[free]
        minus = backward(unconstrained - step * direction)[free]
        columns.append((plus - minus) / (2 * step))
    sign, log_determinant = np.linalg.slogdet(np.array(columns).T)
    assert sign != 0
    return log_determinant


# name -> (transform, unconstrained point, slice of the free constrained coordinates)
CASES = {
    "corr n=2": (CholeskyCorrTransform(2), np.array([0.7]), slice(None)),
    "corr n=3": (CholeskyCorrTransform(3), np.array([0.3, -1.2, 0.8]), slice(None)),
    "corr n=4": (CholeskyCorrTransform(4), np.array([0.3, -1.2, 0.8, 2.0, -0.1, 0.5]), slice(None)),
    "cov packed n=3": (CholeskyCovPackedTransform(3), np.array([0.3, -1.2, 0.8, 2.0, -0.1, 0.5]), slice(None)),
    "simplex": (transforms.simplex, np.array([0.3, -1.2, 0.8]), slice(0, 3)),
    "ordered": (transforms.ordered, np.array([-1.0, 0.5, -0.3, 1.1]), slice(None)),
}


@pytest.mark.parametrize("name", CASES)
def test_round_trip_and_log_jacobian(name):
    transform, unconstrained, free = CASES[name]
    forward, backward, log_jacobian = _functions(transform, 1)
    np.testing.assert_allclose(forward(backward(unconstrained)), unconstrained, rtol=1e-10, atol=1e-10)
    expected = numerical_log_jacobian(backward, unconstrained, free)
    assert float(log_jacobian(unconstrained)) == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_batched_matches_one_by_one(name):
    transform, unconstrained, _ = CASES[name]
    batch = np.stack([unconstrained, 0.5 * unconstrained[::-1], -unconstrained])
    forward, backward, log_jacobian = _functions(transform, 2)
    single_forward, single_backward, single_log_jacobian = _functions(transform, 1)
    np.testing.assert_allclose(backward(batch), np.stack([single_backward(row) for row in batch]))
    np.testing.assert_allclose(log_jacobian(batch), [single_log_jacobian(row) for row in batch])
    np.testing.assert_allclose(forward(backward(batch)), batch, atol=1e-10)


def test_correlation_backward_is_a_correlation_matrix():
    transform = CholeskyCorrTransform(4)
    _, backward, _ = _functions(transform, 1)
    packed = backward(np.array([3.0, -2.5, 0.1, 4.0, -0.7, 1.9]))
    matrix = np.eye(4)
    matrix[np.triu_indices(4, 1)] = packed
    matrix = matrix + np.triu(matrix, 1).T
    assert np.all(np.linalg.eigvalsh(matrix) > 0)
    assert np.all(np.abs(packed) < 1)


def test_cholesky_from_partial_correlations_has_unit_rows_and_matches_numpy(rng):
    partial = np.tril(rng.uniform(-0.95, 0.95, size=(2, 4, 4)), -1)
    symbolic = pytensor.function([], cholesky_from_partial_correlations(pt.as_tensor(partial)), mode="FAST_COMPILE")()
    np.testing.assert_allclose(symbolic, cholesky_from_partial_correlations_numpy(partial))
    np.testing.assert_allclose(np.sum(symbolic**2, axis=-1), 1.0)
    np.testing.assert_allclose(symbolic, np.tril(symbolic))
    # the first column holds the correlations with the first coordinate
    np.testing.assert_allclose(symbolic[:, 1:, 0], partial[:, 1:, 0])


def test_packed_diagonal_indices():
    rows, columns = np.tril_indices(4)
    np.testing.assert_array_equal(packed_diagonal_indices(4), np.flatnonzero(rows == columns))


def test_cov_packed_forward_logs_only_the_diagonal():
    forward, _, _ = _functions(CholeskyCovPackedTransform(2), 1)
    np.testing.assert_allclose(forward(np.array([2.0, -3.0, 0.5])), [np.log(2.0), -3.0, np.log(0.5)])
