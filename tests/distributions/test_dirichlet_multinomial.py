"""DirichletMultinomial against scipy.stats.dirichlet_multinomial: density, draws, shapes, checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import stats

import mixgraph as mg
from checks import compile_function, seeded_draws
from mixgraph.distributions.dirichlet_multinomial import DirichletMultinomial
from mixgraph.logprob import logp
from mixgraph.registry import DEFAULT_TRANSFORM, MEAN, SUPPORT_POINT, VARIANCE, distribution_parameters

# (n, a, rows of counts): one row per parameter set, each row summing to n
GRID = [
    (5, np.array([1.0, 2.0, 3.0]), np.array([[1, 1, 3], [5, 0, 0], [0, 2, 3]])),
    (7, np.array([0.3, 0.3, 4.0, 1.5]), np.array([[0, 0, 7, 0], [1, 2, 3, 1], [7, 0, 0, 0]])),
    (0, np.array([2.0, 0.5]), np.array([[0, 0]])),
    (30, np.array([25.0, 0.1]), np.array([[29, 1], [30, 0], [3, 27]])),
]


def reference_logpmf(n, a, rows):
    return np.array([stats.dirichlet_multinomial(a, n).logpmf(row) for row in rows])


@pytest.mark.parametrize("n, a, rows", GRID, ids=[f"n={n},K={len(a)}" for n, a, _ in GRID])
def test_logp_against_scipy(n, a, rows):
    result = compile_function([], logp(DirichletMultinomial.dist(n, a), rows))()
    np.testing.assert_allclose(result, reference_logpmf(n, a, rows), rtol=1e-10)


def test_batched_a_observed_rows_in_a_model():
    """a of shape (N, K) with observed (N, K) rows: one term per row, each against scipy."""
    a = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5], [4.0, 1.0, 0.2], [2.0, 2.0, 2.0]])
    n = np.array([4, 6, 3, 5])
    rows = np.array([[1, 1, 2], [6, 0, 0], [2, 1, 0], [1, 2, 2]])
    with mg.Model() as model:
        mg.DirichletMultinomial("counts", n=n, a=a, observed=rows)
    rv = model["counts"]
    assert rv.type.shape[-1] == 3
    result = compile_function([], logp(rv, rows))()
    expected = [stats.dirichlet_multinomial(a_row, n_row).logpmf(row) for a_row, n_row, row in zip(a, n, rows)]
    np.testing.assert_allclose(result, expected, rtol=1e-10)
    # a shared (K,) concentration observed on N rows through shape=
    shared = DirichletMultinomial.dist(5, a[0], shape=(4, 3))
    shared_rows = np.array([[1, 1, 3], [0, 0, 5], [2, 2, 1], [5, 0, 0]])
    np.testing.assert_allclose(compile_function([], logp(shared, shared_rows))(), reference_logpmf(5, a[0], shared_rows),
                               rtol=1e-10)


@pytest.mark.parametrize(
    "rows", [np.array([[1, 1, 2]]), np.array([[-1, 3, 3]]), np.array([[2, 2, 2]])], ids=["sum-below-n", "negative", "sum-above-n"]
)
def test_outside_support_is_minus_infinity(rows):
    assert np.isneginf(compile_function([], logp(DirichletMultinomial.dist(5, np.ones(3)), rows))()).all()


def test_draws_chi_square_against_scipy():
    n, a, draws = 4, np.array([0.7, 2.0, 1.2]), 4000
    counts = seeded_draws(DirichletMultinomial.dist(n, a, size=(draws,)), 20261202)
    assert counts.shape == (draws, 3) and counts.dtype == np.int64 and np.all(counts.sum(axis=1) == n)
    outcomes = [row for row in itertools.product(range(n + 1), repeat=3) if sum(row) == n]
    observed = np.array([np.all(counts == row, axis=1).sum() for row in outcomes])
    expected = draws * np.exp(reference_logpmf(n, a, np.array(outcomes)))
    assert np.isclose(expected.sum(), draws)
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_batched_draws_follow_their_own_parameters():
    a = np.array([[20.0, 1.0], [1.0, 20.0]])
    counts = seeded_draws(DirichletMultinomial.dist(np.array([10, 50]), a, size=(3000, 2)), 7)
    assert counts.shape == (3000, 2, 2)
    np.testing.assert_array_equal(counts.sum(axis=-1), np.broadcast_to([10, 50], (3000, 2)))
    mean = counts.mean(axis=0)
    expected_mean = np.array([[10 * 20 / 21, 10 / 21], [50 / 21, 50 * 20 / 21]])
    standard_error = np.sqrt(np.array([stats.dirichlet_multinomial(a_row, n).var() for a_row, n in zip(a, [10, 50])]) / 3000)
    assert np.all(np.abs(mean - expected_mean) < 5 * standard_error)


def test_shapes():
    a = np.array([1.0, 2.0, 3.0])
    sized = DirichletMultinomial.dist(5, a, size=(2, 4))
    shaped = DirichletMultinomial.dist(np.array([3, 4, 5]), np.ones((3, 3)), shape=(2, 3, 3))
    scalar = DirichletMultinomial.dist(5, a)
    shapes = compile_function([], [sized.shape, shaped.shape, scalar.shape])()
    assert [tuple(shape) for shape in shapes] == [(2, 4, 3), (2, 3, 3), (3,)]
    assert compile_function([], logp(shaped, seeded_draws(shaped, 1)).shape)().tolist() == [2, 3]
    with pytest.raises(ValueError, match="do not fit size"):
        DirichletMultinomial.dist(5, np.ones((3, 3)), shape=(4, 3))


def test_support_point_mean_and_covariance():
    n, a = np.array([7, 2]), np.array([[1.0, 2.0, 3.5], [0.2, 0.2, 5.0]])
    rv = DirichletMultinomial.dist(n, a)
    inputs = distribution_parameters(rv)
    point = SUPPORT_POINT.get(rv.owner.op)(rv, *inputs)
    point_value, density, mean, covariance = compile_function(
        [], [point, logp(rv, point), MEAN.get(rv.owner.op)(rv, *inputs), VARIANCE.get(rv.owner.op)(rv, *inputs)]
    )()
    assert point_value.dtype == np.int64 and point_value.shape == (2, 3)
    np.testing.assert_array_equal(point_value.sum(axis=-1), n)
    assert np.all(np.isfinite(density))
    for index in range(2):
        frozen = stats.dirichlet_multinomial(a[index], n[index])
        np.testing.assert_allclose(mean[index], frozen.mean(), rtol=1e-12)
        np.testing.assert_allclose(covariance[index], frozen.cov(), rtol=1e-12, atol=1e-14)
    assert DEFAULT_TRANSFORM.lookup(rv.owner.op) is None


@pytest.mark.parametrize(
    "keywords, name",
    [(dict(n=-1, a=[1.0, 1.0]), "n"), (dict(n=2.5, a=[1.0, 1.0]), "n"), (dict(n=3, a=[1.0, 0.0]), "a"),
     (dict(n=3, a=2.0), "a")],
)
def test_invalid_constants_raise(keywords, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        DirichletMultinomial.dist(**keywords)
    with mg.Model(), pytest.raises(ValueError, match=rf"'the_variable'.*\b{name}\b"):
        DirichletMultinomial("the_variable", **keywords)


def test_invalid_symbolic_parameters_give_minus_infinity():
    n, a = pt.lscalar("n"), pt.dvector("a")
    function = compile_function([n, a], logp(DirichletMultinomial.dist(n, a), np.array([1, 2])))
    assert np.isfinite(function(3, np.array([1.0, 1.0])))
    for bad_n, bad_a in [(3, np.array([-1.0, 2.0])), (3, np.array([0.0, 2.0])), (-3, np.array([1.0, 1.0]))]:
        assert np.isneginf(function(bad_n, bad_a)), (bad_n, bad_a)
