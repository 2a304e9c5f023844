"""Cholesky factor and triangular solve of small matrices from elementwise operations.

PyTensor 3.0.7's Numba versions of ``Cholesky`` and ``SolveTriangular`` look
up their LAPACK routine in Python object mode at every call, which takes
Python's global interpreter lock: chains running in parallel threads then wait
for each other at every call, and a batched solve (one per observation) pays
that cost once per observation. For the small matrices of mixture models
(``k`` up to :data:`UNROLLED_MAX_ORDER`) the same algorithms written out entry
by entry are plain elementwise arithmetic, which PyTensor fuses into a few
loops that never touch Python, and which broadcast over any batch shape.

The factorisation is the Cholesky-Banachiewicz order (row by row; Golub and
Van Loan, *Matrix Computations*, 4th ed., algorithm 4.2.1 in its row form),
and the solve is forward substitution (ibid., algorithm 3.1.1).
"""

from __future__ import annotations

from typing import Any

import pytensor.tensor as pt
from pytensor.gradient import disconnected_grad
from pytensor.tensor import TensorVariable

__all__ = [
    "UNROLLED_MAX_ORDER",
    "lapack_cholesky_or_identity",
    "log_diagonal_sum",
    "static_order_of",
    "unrolled_cholesky",
    "unrolled_forward_solve",
]

#: Largest matrix order factorised entry by entry; larger ones use LAPACK.
#: Measured on a two-component MvNormal mixture with LKJ priors: at order 6
#: the first (cold) compilation takes 62 s instead of 33 s, and a gradient
#: 0.50 ms instead of 2.03 ms; at order 3, 24 s against 27 s and 0.26 ms
#: against 1.60 ms (docs/guide/performance.md).
UNROLLED_MAX_ORDER = 6

Triangle = list[list[TensorVariable]]


def static_order_of(*tensors: Any) -> int | None:
    """The length of the last axis, if any of ``tensors`` knows it at graph-build time."""
    for tensor in tensors:
        length = tensor.type.shape[-1] if tensor.type.ndim else None
        if length is not None:
            return int(length)
    return None


def unrolled_cholesky(matrix: TensorVariable, order: int) -> tuple[Triangle, TensorVariable]:
    """Lower Cholesky factor of the ``(..., order, order)`` matrix, entry by entry.

    Returns
    -------
    factor : list of lists of TensorVariable
        ``factor[i][j]`` (``j <= i``) is entry ``(i, j)`` of the factor, with
        the matrix's batch shape.
    positive_definite : TensorVariable of bool
        Whether every pivot was positive (and finite). Where it is not, the
        non-positive pivots are replaced by 1 so that the factor, the values
        computed from it and their gradients stay finite; callers return
        ``-inf`` there.
    """
    factor: Triangle = [[None] * (row + 1) for row in range(order)]  # type: ignore[list-item]
    pivots_ok = []
    for row in range(order):
        for column in range(row + 1):
            remainder = matrix[..., row, column]
            for inner in range(column):
                remainder = remainder - factor[row][inner] * factor[column][inner]
            if row == column:
                positive = pt.gt(remainder, 0.0) & pt.isfinite(remainder)
                pivots_ok.append(positive)
                factor[row][row] = pt.sqrt(pt.switch(positive, remainder, 1.0))
            else:
                factor[row][column] = remainder / factor[column][column]
    positive_definite = pivots_ok[0]
    for positive in pivots_ok[1:]:
        positive_definite = positive_definite & positive
    return factor, positive_definite


def log_diagonal_sum(factor: Triangle) -> TensorVariable:
    """``sum_i log L_ii`` of a factor from :func:`unrolled_cholesky`: half the log-determinant."""
    return sum((pt.log(factor[index][index]) for index in range(1, len(factor))), pt.log(factor[0][0]))


def unrolled_forward_solve(factor: Triangle, vector: TensorVariable) -> list[TensorVariable]:
    """Solve ``L z = b`` for lower-triangular ``L`` (from :func:`unrolled_cholesky`).

    ``vector`` has shape ``(..., order)``; the result is the list of the
    ``order`` entries of ``z``, broadcast over the batch shapes of ``L`` and
    ``b``.
    """
    solution: list[TensorVariable] = []
    for row in range(len(factor)):
        remainder = vector[..., row]
        for inner in range(row):
            remainder = remainder - factor[row][inner] * solution[inner]
        solution.append(remainder / factor[row][row])
    return solution


def lapack_cholesky_or_identity(matrix: TensorVariable) -> tuple[TensorVariable, TensorVariable]:
    """Lower Cholesky factor of a ``(..., n, n)`` matrix of any order, through LAPACK.

    Where the matrix is not positive definite the factor of the identity is
    returned instead, and ``positive_definite`` is false. The test
    factorisation is cut from the gradient and the factor is taken of a matrix
    that is always positive definite, so that the gradient stays finite (a
    failed factorisation is NaN, and so would be its gradient).
    """
    trial = disconnected_grad(pt.linalg.cholesky(matrix, lower=True, on_error="nan"))
    positive_definite = pt.all(pt.isfinite(trial), axis=(-2, -1))
    identity = pt.eye(matrix.shape[-1])
    safe_matrix = pt.switch(pt.shape_padright(positive_definite, 2), matrix, identity)
    return pt.linalg.cholesky(safe_matrix, lower=True, on_error="nan"), positive_definite
