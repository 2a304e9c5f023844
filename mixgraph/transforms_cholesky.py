"""Transforms for Cholesky factors and correlation matrices.

Two bijections to the unconstrained space, with their log-Jacobians:

* :class:`CholeskyCovPackedTransform` -- the packed lower-triangular Cholesky
  factor of a covariance matrix (row-major order of ``numpy.tril_indices``);
  the diagonal, which is positive, is moved to the log scale (as PyMC's
  ``CholeskyCovPacked``).
* :class:`CholeskyCorrTransform` -- a correlation matrix, stored as its packed
  strictly-upper triangle (row-major order of ``numpy.triu_indices(n, 1)``),
  through canonical partial correlations ``z = tanh(y)`` (Stan reference
  manual, "Cholesky factors of correlation matrices" and "Correlation
  matrices"; Lewandowski, Kurowicka & Joe 2009, section 2).

The matrix helpers work on any number of leading batch axes and are shared
with :mod:`mixgraph.distributions.lkj`.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from mixgraph.transforms import Transform

__all__ = [
    "CholeskyCovPackedTransform",
    "CholeskyCorrTransform",
    "packed_to_matrix",
    "cholesky_from_partial_correlations",
    "partial_correlations_from_cholesky",
    "cholesky_from_partial_correlations_numpy",
    "packed_diagonal_indices",
]


def packed_diagonal_indices(n: int) -> np.ndarray:
    """Positions of the diagonal in a packed lower triangle of an ``n x n`` matrix."""
    rows = np.arange(n)
    return (rows * (rows + 1)) // 2 + rows


def packed_to_matrix(
    packed: TensorVariable, n: int, rows: np.ndarray, columns: np.ndarray
) -> TensorVariable:
    """Place ``packed[..., k]`` at ``matrix[..., rows[k], columns[k]]`` (zeros elsewhere).

    Built as a gather from ``[0, packed]`` with a constant index matrix rather
    than ``set_subtensor`` on zeros: PyTensor 3.0.7 rewrites
    ``set_subtensor(zeros, x) + eye`` into an increment of the (unbatched)
    ``eye``, which fails for batched ``x``.
    """
    packed = pt.as_tensor(packed)
    index = np.zeros((n, n), dtype="int64")
    index[rows, columns] = np.arange(1, len(rows) + 1)
    padded = pt.concatenate([pt.zeros_like(packed[..., :1]), packed], axis=-1)
    return padded[..., index]


def _exclusive_cumsum(values: TensorVariable) -> TensorVariable:
    return pt.cumsum(values, axis=-1) - values


def _log_one_minus_square(partial_correlations: TensorVariable) -> TensorVariable:
    return pt.log1p(-(partial_correlations**2))


def cholesky_from_partial_correlations(partial_correlations: TensorVariable) -> TensorVariable:
    """Cholesky factor of a correlation matrix from canonical partial correlations.

    Parameters
    ----------
    partial_correlations : TensorVariable
        Shape ``(..., n, n)``; entry ``[i, j]`` with ``i > j`` is the partial
        correlation ``z_ij`` in (-1, 1); other entries must be zero.

    Returns
    -------
    TensorVariable
        ``L`` with ``L[i, j] = z_ij sqrt(1 - sum_{k<j} L[i, k]^2)`` and unit-norm
        rows (Stan reference manual, "Cholesky factors of correlation matrices").
        Since ``1 - sum_{k<=j} L[i, k]^2 = prod_{k<=j} (1 - z_ik^2)``, the square
        roots are exclusive cumulative sums of ``log(1 - z^2)`` along each row.
    """
    log_remaining = _exclusive_cumsum(_log_one_minus_square(partial_correlations))
    n = partial_correlations.shape[-1]
    return (partial_correlations + pt.eye(n)) * pt.exp(0.5 * log_remaining)


def partial_correlations_from_cholesky(cholesky: TensorVariable, n: int) -> TensorVariable:
    """Inverse of :func:`cholesky_from_partial_correlations` (zeros on and above the diagonal)."""
    strictly_lower = np.tril(np.ones((n, n), dtype=bool), -1)
    remaining = 1.0 - _exclusive_cumsum(cholesky**2)
    safe_remaining = pt.switch(strictly_lower, remaining, 1.0)
    return pt.switch(strictly_lower, cholesky / pt.sqrt(safe_remaining), 0.0)


def cholesky_from_partial_correlations_numpy(partial_correlations: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`cholesky_from_partial_correlations`, for random draws."""
    log_one_minus = np.log1p(-(partial_correlations**2))
    log_remaining = np.cumsum(log_one_minus, axis=-1) - log_one_minus
    n = partial_correlations.shape[-1]
    return (partial_correlations + np.eye(n)) * np.exp(0.5 * log_remaining)


class CholeskyCovPackedTransform(Transform):
    """Log of the diagonal of a packed lower-triangular Cholesky factor.

    The off-diagonal entries are unconstrained already; the diagonal
    entries (positive) become ``log`` of themselves. ``log |J|`` of the
    backward map is the sum of the unconstrained diagonal entries.

    Parameters
    ----------
    n : int
        Order of the matrix; the packed vector has ``n (n + 1) / 2`` entries.
    """

    name = "cholesky_cov_packed"
    ndim_reduced = 1

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self.diagonal = packed_diagonal_indices(self.n)

    def forward(self, value, *inputs):
        value = pt.as_tensor(value)
        return pt.set_subtensor(value[..., self.diagonal], pt.log(value[..., self.diagonal]))

    def backward(self, value, *inputs):
        value = pt.as_tensor(value)
        return pt.set_subtensor(value[..., self.diagonal], pt.exp(value[..., self.diagonal]))

    def log_jac_det(self, value, *inputs):
        return pt.sum(pt.as_tensor(value)[..., self.diagonal], axis=-1)

    def __repr__(self) -> str:
        return f"CholeskyCovPackedTransform(n={self.n})"


class CholeskyCorrTransform(Transform):
    """Packed correlation matrix <-> unconstrained vector via canonical partial correlations.

    The packed value ``r`` holds ``C[triu_indices(n, 1)]``. Entry ``k`` of the
    unconstrained vector ``y`` is ``atanh`` of the canonical partial
    correlation ``z`` that sits at the transposed (lower) position of ``r_k``.

    Backward: ``z = tanh(y)`` -> Cholesky factor ``L`` (Stan reference manual,
    "Cholesky factors of correlation matrices") -> ``C = L L^T`` -> ``r``.
    Its log-Jacobian is the sum of three triangular determinants:

    .. math::
        \\log|J| = \\sum_{i>j} \\log(1 - z_{ij}^2)
                 + \\tfrac12 \\sum_{i>j} \\log\\big(1 - \\textstyle\\sum_{k<j} L_{ik}^2\\big)
                 + \\sum_{j} (n - 1 - j) \\log L_{jj}

    (``tanh``; ``z -> L`` row by row; ``L -> C`` whose entry ``C_ij`` depends
    on ``L_ij`` through ``L_jj``), in agreement with the correlation-matrix
    Jacobian of the Stan reference manual.

    Parameters
    ----------
    n : int
        Order of the correlation matrix.
    """

    name = "cholesky_corr"
    ndim_reduced = 1

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self.upper_rows, self.upper_columns = np.triu_indices(self.n, 1)

    def _lower_matrix(self, packed: TensorVariable) -> TensorVariable:
        return packed_to_matrix(packed, self.n, self.upper_columns, self.upper_rows)

    def forward(self, value, *inputs):
        correlation = self._lower_matrix(value)
        correlation = correlation + pt.swapaxes(correlation, -1, -2) + pt.eye(self.n)
        cholesky = pt.linalg.cholesky(correlation, lower=True, on_error="nan")
        partial = partial_correlations_from_cholesky(cholesky, self.n)
        return pt.arctanh(partial[..., self.upper_columns, self.upper_rows])

    def _cholesky(self, value):
        partial = self._lower_matrix(pt.tanh(value))
        return partial, cholesky_from_partial_correlations(partial)

    def backward(self, value, *inputs):
        _, cholesky = self._cholesky(value)
        correlation = pt.matmul(cholesky, pt.swapaxes(cholesky, -1, -2))
        return correlation[..., self.upper_rows, self.upper_columns]

    def log_jac_det(self, value, *inputs):
        value = pt.as_tensor(value)
        partial, _ = self._cholesky(value)
        log_remaining = _exclusive_cumsum(_log_one_minus_square(partial))
        strictly_lower = np.tril(np.ones((self.n, self.n)), -1)
        # log(1 - tanh(y)^2) = 2 (log 2 - y - softplus(-2 y)), stable for large |y|
        log_tanh_derivative = 2.0 * (np.log(2.0) - value - pt.softplus(-2.0 * value))
        row_term = 0.5 * pt.sum(log_remaining * strictly_lower, axis=(-2, -1))
        log_diagonal = 0.5 * pt.diagonal(log_remaining, axis1=-2, axis2=-1)
        column_counts = np.arange(self.n - 1, -1, -1, dtype="float64")
        return pt.sum(log_tanh_derivative, axis=-1) + row_term + pt.sum(column_counts * log_diagonal, axis=-1)

    def __repr__(self) -> str:
        return f"CholeskyCorrTransform(n={self.n})"
