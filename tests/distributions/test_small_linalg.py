"""The entry-by-entry Cholesky factor and forward substitution against NumPy and SciPy."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import linalg

from mixgraph.distributions.small_linalg import (
    UNROLLED_MAX_ORDER,
    static_order_of,
    unrolled_cholesky,
    unrolled_forward_solve,
)


def _random_covariances(rng, batch, order):
    factors = rng.normal(size=batch + (order, order))
    return factors @ np.swapaxes(factors, -1, -2) + order * np.eye(order)


@pytest.mark.parametrize("order", range(1, UNROLLED_MAX_ORDER + 1))
@pytest.mark.parametrize("batch", [(), (3,), (2, 4)])
def test_factor_and_solve_match_lapack(order, batch):
    rng = np.random.default_rng(order * 10 + len(batch))
    covariances = _random_covariances(rng, batch, order)
    vectors = rng.normal(size=batch + (order,))
    matrix = pt.tensor("matrix", shape=(None,) * len(batch) + (order, order), dtype="float64")
    vector = pt.tensor("vector", shape=(None,) * len(batch) + (order,), dtype="float64")
    factor, positive_definite = unrolled_cholesky(matrix, order)
    solution = unrolled_forward_solve(factor, vector)
    entries = [factor[row][column] for row in range(order) for column in range(row + 1)]
    function = pytensor.function([matrix, vector], [positive_definite, *entries, *solution], mode="FAST_COMPILE")
    outputs = function(covariances, vectors)
    assert np.all(outputs[0])
    expected_factor = np.linalg.cholesky(covariances)
    rows, columns = np.tril_indices(order)
    for entry, row, column in zip(outputs[1:1 + len(entries)], rows, columns):
        np.testing.assert_allclose(entry, expected_factor[..., row, column], rtol=1e-12, atol=1e-12)
    expected_solution = np.linalg.solve(expected_factor, vectors[..., None])[..., 0]
    for index, entry in enumerate(outputs[1 + len(entries):]):
        np.testing.assert_allclose(entry, expected_solution[..., index], rtol=1e-10, atol=1e-12)
    # the same solve through SciPy's triangular solver, unbatched case
    if not batch:
        np.testing.assert_allclose(
            np.array(outputs[1 + len(entries):]), linalg.solve_triangular(expected_factor, vectors, lower=True),
            rtol=1e-10,
        )


def test_not_positive_definite_is_reported_with_finite_entries():
    matrix = pt.dmatrix("matrix")
    factor, positive_definite = unrolled_cholesky(matrix, 3)
    function = pytensor.function([matrix], [positive_definite, *[entry for row in factor for entry in row]],
                                 mode="FAST_COMPILE")
    indefinite = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    flag, *entries = function(indefinite)
    assert not flag and all(np.isfinite(entries))
    flag, *entries = function(np.eye(3))
    assert flag


def test_static_order_is_read_from_the_first_tensor_that_knows_it():
    unknown = pt.dmatrix("unknown")
    known = pt.tensor("known", shape=(None, 4), dtype="float64")
    assert static_order_of(unknown, known) == 4
    assert static_order_of(unknown) is None
