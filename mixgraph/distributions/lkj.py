"""The LKJ family: correlation matrices and Cholesky factors of covariances.

PyTensor has no ops for these, so two are defined here, in the style of
``pytensor.tensor.random.basic``:

* :class:`LKJCorrRV` ``(n, eta) -> packed strictly-upper triangle`` of a
  correlation matrix (PyMC's ``LKJCorr`` value; ``return_matrix=True`` gives
  the full matrix as an expression of it).
* :class:`~mixgraph.distributions.lkj_cholesky.LKJCholeskyCovRV`
  ``(n, eta, stds) -> packed lower Cholesky factor`` of a covariance
  (in ``lkj_cholesky.py``, which uses the helpers here). Its third input is the standard-deviation variable itself
  (a ``.dist()`` variable such as ``Exponential.dist(1.0, shape=n)``): a draw
  of the op multiplies the rows of an LKJ correlation Cholesky factor by a
  draw of ``stds``, and the log-density evaluates ``stds``'s own registered
  log-density (looked up by its op type) at the rows' norms. The log-density
  graph uses only ``stds``'s parameters, never the random ``stds`` node.

References: Lewandowski, Kurowicka & Joe (2009), "Generating random
correlation matrices based on vines and extended onion method", J.
Multivariate Analysis 100(9); Stan reference manual and functions reference
(``lkj_corr``, ``lkj_corr_cholesky``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable

from mixgraph.distributions.base import Distribution, ParameterError, as_parameter, check_constant
from mixgraph.distributions.support import SUPPORT_VIOLATIONS
from mixgraph.distributions.small_linalg import (
    UNROLLED_MAX_ORDER,
    lapack_cholesky_or_identity,
    log_diagonal_sum,
    unrolled_cholesky,
)
from mixgraph.logprob import check_parameters
from mixgraph.registry import DEFAULT_TRANSFORM, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.transforms_cholesky import (
    CholeskyCorrTransform,
    cholesky_from_partial_correlations_numpy,
    packed_to_matrix,
)

__all__ = [
    "LKJCorrRV",
    "LKJCorr",
    "lkj_corr",
    "expand_packed_triangular",
    "lkj_log_normalizer",
    "static_order",
]


# ------------------------------------------------------------------ helpers
def static_order(n: Any) -> int:
    """The matrix order ``n`` as a Python int (it must be a constant)."""
    try:
        value = pt.get_underlying_scalar_constant_value(pt.as_tensor(n))
    except Exception:
        raise ParameterError("parameter n must be a constant integer (the matrix order)") from None
    if int(value) != value or value < 2:
        raise ParameterError(f"parameter n must be an integer >= 2, got {value}")
    return int(value)


def expand_packed_triangular(n: int, packed: Any, lower: bool = True) -> TensorVariable:
    """Unpack a triangle stored row by row into an ``n x n`` matrix (zeros elsewhere).

    Parameters
    ----------
    n : int
        Order of the matrix.
    packed : tensor_like
        ``n (n + 1) / 2`` values along the last axis, in the order of
        ``numpy.tril_indices(n)`` (``lower=True``) or ``numpy.triu_indices(n)``.
    lower : bool
        Which triangle to fill.
    """
    rows, columns = np.tril_indices(n) if lower else np.triu_indices(n)
    return packed_to_matrix(pt.as_tensor(packed), n, rows, columns)


def lkj_log_normalizer(eta: Any, n: int) -> TensorVariable:
    r"""``log c_n(eta)``, with ``c_n = \int det(C)^{eta - 1} dC`` (LKJ 2009, eq. 16).

    .. math:: c_n(\eta) = 2^{\sum_{k=1}^{n-1} (2\eta - 2 + n - k)(n - k)}
              \prod_{k=1}^{n-1} B\left(\eta + \tfrac{n-k-1}{2}, \eta + \tfrac{n-k-1}{2}\right)^{n-k}
    """
    k = np.arange(1, n, dtype="float64")
    eta = pt.shape_padright(pt.as_tensor(eta, dtype="float64"), 1)
    beta_argument = eta + (n - k - 1.0) / 2.0
    log_beta = 2.0 * pt.gammaln(beta_argument) - pt.gammaln(2.0 * beta_argument)
    return pt.sum((2.0 * eta - 2.0 + n - k) * (n - k) * np.log(2.0) + (n - k) * log_beta, axis=-1)


def _draw_correlation_cholesky(rng: np.random.Generator, n: int, eta: np.ndarray, size: tuple) -> np.ndarray:
    """Draw LKJ(eta) correlation Cholesky factors of shape ``size + (n, n)``.

    C-vine method (LKJ 2009, section 2.4; Stan's ``lkj_corr_cholesky_rng``):
    the partial correlations of column ``j`` are ``2 Beta(b_j, b_j) - 1`` with
    ``b_j = eta + (n - 2 - j) / 2``.
    """
    eta = np.broadcast_to(eta, size)[..., None, None]
    column = np.arange(n)[None, :]
    shape_parameter = np.broadcast_to(eta + (n - 2.0 - column) / 2.0, (*size, n, n))
    partial = 2.0 * rng.beta(shape_parameter, shape_parameter) - 1.0
    partial = partial * np.tril(np.ones((n, n)), -1)
    return cholesky_from_partial_correlations_numpy(partial)


def _batch_size(size: Any, *batch_shapes: tuple) -> tuple:
    if size is not None:
        return tuple(size)
    return np.broadcast_shapes(*batch_shapes)


def _order_for_shape(n: Any) -> Any:
    """``n`` as an int if it is constant, else a symbolic scalar (for shape inference)."""
    try:
        return static_order(n)
    except ParameterError:
        return pt.cast(pt.as_tensor(n).ravel()[0], "int64")


def _sum_support(sd_op: Any, term: TensorVariable) -> TensorVariable:
    return pt.sum(term, axis=-1) if sd_op.ndim_supp == 0 else term


# --------------------------------------------------------------------- LKJCorr
class LKJCorrRV(RandomVariable):
    """LKJ correlation matrix, as its packed strictly-upper triangle ``C[triu_indices(n, 1)]``."""

    name = "lkj_corr"
    signature = "(),()->(m)"
    dtype = "floatX"
    _print_name = ("LKJCorr", "\\operatorname{LKJCorr}")

    def _supp_shape_from_params(self, dist_params, param_shapes=None):
        n = _order_for_shape(dist_params[0])
        return (n * (n - 1) // 2,)

    def rng_fn(self, rng, n, eta, size):
        n = int(np.ravel(n)[0])
        size = _batch_size(size, np.shape(eta))
        cholesky = _draw_correlation_cholesky(rng, n, np.asarray(eta), size)
        correlation = cholesky @ np.swapaxes(cholesky, -1, -2)
        rows, columns = np.triu_indices(n, 1)
        return correlation[..., rows, columns]


lkj_corr = LKJCorrRV()


def _check_eta(eta: Any) -> None:
    check_constant("eta", eta, lambda array: array > 0, "positive")


def packed_upper_to_correlation(packed: Any, n: int) -> TensorVariable:
    """Full correlation matrix from the packed strictly-upper triangle."""
    rows, columns = np.triu_indices(n, 1)
    upper = packed_to_matrix(pt.as_tensor(packed), n, rows, columns)
    return upper + pt.swapaxes(upper, -1, -2) + pt.eye(n)


class LKJCorr(Distribution):
    r"""LKJ distribution of an ``n x n`` correlation matrix ``C``.

    .. math:: p(C \mid \eta) = \frac{\det(C)^{\eta - 1}}{c_n(\eta)}

    with ``c_n`` of Lewandowski, Kurowicka & Joe (2009, eq. 16). As in PyMC,
    the variable is the packed strictly-upper triangle ``C[triu_indices(n, 1)]``
    (``n (n - 1) / 2`` values); ``return_matrix=True`` returns the full matrix
    built from it instead.

    Parameters
    ----------
    n : int
        Order of the matrix (>= 2, constant).
    eta : tensor_like
        Shape (> 0); 1 is uniform over correlation matrices, larger values
        favour the identity.
    return_matrix : bool
        Return the ``n x n`` matrix rather than the packed vector.
    """

    rv_op = lkj_corr

    def __new__(cls, name: str, n: Any, eta: Any, *, return_matrix: bool = False, **kwargs: Any):
        packed = super().__new__(cls, name, n, eta, **kwargs)
        return packed_upper_to_correlation(packed, static_order(n)) if return_matrix else packed

    @classmethod
    def dist(cls, n: Any, eta: Any, *, return_matrix: bool = False, **kwargs: Any) -> TensorVariable:
        order = static_order(n)
        _check_eta(eta)
        packed = cls.build([pt.as_tensor(np.int64(order)), as_parameter(eta)], **kwargs)
        return packed_upper_to_correlation(packed, order) if return_matrix else packed


def correlation_log_density(correlation: TensorVariable, eta: TensorVariable, n: int) -> TensorVariable:
    """``(eta - 1) log det C - log c_n(eta)``, ``-inf`` if ``C`` is not positive definite."""
    if n <= UNROLLED_MAX_ORDER:
        factor, positive_definite = unrolled_cholesky(correlation, n)
        log_determinant = 2.0 * log_diagonal_sum(factor)
    else:
        safe_cholesky, positive_definite = lapack_cholesky_or_identity(correlation)
        log_determinant = 2.0 * pt.sum(pt.log(pt.diagonal(safe_cholesky, axis1=-2, axis2=-1)), axis=-1)
    density = (eta - 1.0) * log_determinant - lkj_log_normalizer(eta, n)
    return pt.switch(positive_definite, density, -np.inf)


@LOGP.register(LKJCorrRV)
def lkj_corr_logp(value, n, eta):
    order = static_order(n)
    within_bounds = pt.all(pt.le(pt.abs(value), 1.0), axis=-1)
    density = correlation_log_density(packed_upper_to_correlation(value, order), eta, order)
    return check_parameters(pt.switch(within_bounds, density, -np.inf), eta > 0)


@SUPPORT_POINT.register(LKJCorrRV)
def lkj_corr_support_point(rv, n, eta):
    return pt.zeros_like(rv, dtype="float64")


@MEAN.register(LKJCorrRV)
def lkj_corr_mean(rv, n, eta):
    return pt.zeros_like(rv, dtype="float64")


@VARIANCE.register(LKJCorrRV)
def lkj_corr_variance(rv, n, eta):
    """Covariance of the packed entries, shape batch + (m, m).

    Each off-diagonal ``r`` is ``2 Beta(b, b) - 1`` with ``b = eta - 1 + n / 2``
    (LKJ 2009, section 3.2), so ``Var r = 1 / (2 b + 1)``; distinct entries are
    uncorrelated (flipping the sign of one coordinate flips one entry only).
    """
    order = static_order(n)
    size = order * (order - 1) // 2
    marginal = pt.as_tensor(eta, dtype="float64") - 1.0 + order / 2.0
    variance = 1.0 / (2.0 * marginal + 1.0)
    batch = tuple(rv.shape[axis] for axis in range(rv.ndim - 1))
    return pt.broadcast_to(pt.shape_padright(variance, 2) * np.eye(size), (*batch, size, size))


@DEFAULT_TRANSFORM.register(LKJCorrRV)
def lkj_corr_default_transform(n, eta):
    return CholeskyCorrTransform(static_order(n))


# ---------------------------------------------------------------- supports (see support.py)
@SUPPORT_VIOLATIONS.register(LKJCorrRV)
def lkj_corr_support_violations(value, n, eta):
    """Rows with a correlation outside [-1, 1], or whose matrix is not positive definite."""
    out_of_range = np.any(np.abs(value) > 1.0, axis=-1)
    if n is None:
        return out_of_range
    order = int(np.ravel(n)[0])
    rows, columns = np.triu_indices(order, 1)
    matrix = np.array(np.broadcast_to(np.eye(order), np.shape(value)[:-1] + (order, order)))
    matrix[..., rows, columns] = value
    matrix[..., columns, rows] = value
    smallest = np.linalg.eigvalsh(np.where(np.isfinite(matrix), matrix, 0.0))[..., 0]
    return out_of_range | (smallest <= 0.0)
