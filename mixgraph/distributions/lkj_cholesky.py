"""``LKJCholeskyCov``: the Cholesky factor of a covariance with LKJ correlations.

Its op, :class:`LKJCholeskyCovRV` ``(n, eta, stds) -> packed lower Cholesky
factor``, takes the standard-deviation variable itself as its third input
(see :mod:`mixgraph.distributions.lkj` for the family and the references).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable

from mixgraph.distributions.base import Distribution, as_parameter
from mixgraph.distributions.lkj import (
    _batch_size,
    _check_eta,
    _draw_correlation_cholesky,
    _order_for_shape,
    _sum_support,
    expand_packed_triangular,
    lkj_log_normalizer,
    static_order,
)
from mixgraph.logprob import check_parameters
from mixgraph.model import Deterministic
from mixgraph.registry import DEFAULT_TRANSFORM, LOGP, SUPPORT_POINT, distribution_parameters
from mixgraph.transforms_cholesky import CholeskyCovPackedTransform

__all__ = ["LKJCholeskyCovRV", "LKJCholeskyCov", "lkj_cholesky_cov", "cholesky_correlation_stds"]


class LKJCholeskyCovRV(RandomVariable):
    """Packed lower Cholesky factor ``diag(stds) L`` of a covariance, ``L`` ~ LKJ Cholesky.

    Inputs: ``n`` (constant order), ``eta``, and ``stds`` -- the standard
    deviations' random variable, whose draws are passed to :meth:`rng_fn`
    and whose registered log-density is used by :func:`lkj_cholesky_cov_logp`.
    """

    name = "lkj_cholesky_cov"
    signature = "(),(),(n)->(m)"
    dtype = "floatX"
    _print_name = ("LKJCholeskyCov", "\\operatorname{LKJCholeskyCov}")

    def _supp_shape_from_params(self, dist_params, param_shapes=None):
        n = _order_for_shape(dist_params[0])
        return (n * (n + 1) // 2,)

    def rng_fn(self, rng, n, eta, stds, size):
        n = int(np.ravel(n)[0])
        size = _batch_size(size, np.shape(eta), np.shape(stds)[:-1])
        cholesky = _draw_correlation_cholesky(rng, n, np.asarray(eta), size)
        scaled = np.broadcast_to(stds, (*size, n))[..., :, None] * cholesky
        rows, columns = np.tril_indices(n)
        return scaled[..., rows, columns]


lkj_cholesky_cov = LKJCholeskyCovRV()


def _resized_sd_dist(sd_dist: Any, n: int, batch: tuple) -> TensorVariable:
    """``sd_dist`` redrawn with shape ``batch + (n,)`` (scalar ``sd_dist`` are common)."""
    node = getattr(sd_dist, "owner", None)
    if node is None or not isinstance(node.op, RandomVariable):
        raise TypeError("sd_dist must be an unnamed random variable, e.g. Exponential.dist(1.0, shape=n)")
    if sd_dist.name is not None:
        raise TypeError(f"sd_dist must come from .dist(), not the model variable {sd_dist.name!r}")
    if node.op.ndim_supp > 0:
        if sd_dist.type.shape[-1] not in (None, n):
            raise ValueError(f"sd_dist has support length {sd_dist.type.shape[-1]}, expected n = {n}")
        return sd_dist
    if tuple(sd_dist.type.shape) == (*batch, n):
        return sd_dist
    size = pt.as_tensor(np.array((*batch, n), dtype="int64"))
    return node.op.make_node(node.inputs[0], size, *node.op.dist_params(node)).default_output()


class LKJCholeskyCov(Distribution):
    r"""Cholesky factor of a covariance with LKJ correlations and given standard deviations.

    The covariance is ``Sigma = diag(sigma) C diag(sigma)`` with ``C`` ~
    LKJ(``eta``) and ``sigma`` ~ ``sd_dist``; the variable is its packed lower
    Cholesky factor ``L = diag(sigma) L_C`` (``n (n + 1) / 2`` values in the
    order of ``numpy.tril_indices(n)``). Its density, with ``L_C`` the rows of
    ``L`` divided by their norms ``sigma``:

    .. math:: \log p(L) = -\log c_n(\eta) + \sum_{i=0}^{n-1} (2\eta - 3 + n - i) \log L_{C,ii}
              + \log p_{sd}(\sigma) + \sum_{i=0}^{n-1} \left(\log L_{C,ii} - i \log \sigma_i\right)

    (LKJ density of the correlation Cholesky factor, Stan's ``lkj_corr_cholesky``;
    the last sum is the log-Jacobian of ``(sigma, L_C) -> L``: row ``i`` is
    ``sigma_i`` times a point of the unit sphere of dimension ``i``).

    Parameters
    ----------
    eta : tensor_like
        LKJ shape (> 0).
    n : int
        Order of the matrix (>= 2, constant).
    sd_dist : TensorVariable
        A ``.dist()`` variable for the standard deviations (positive support),
        scalar or of length ``n``.
    compute_corr : bool
        If True (PyMC's default) return ``(chol, corr, stds)``: the ``n x n``
        Cholesky factor, the correlation matrix and the standard deviations;
        the named version also records ``{name}_corr`` and ``{name}_stds`` as
        deterministics (``store_in_trace=True``). If False return the packed vector.
    """

    rv_op = lkj_cholesky_cov

    def __new__(cls, name: str, eta: Any, n: Any, sd_dist: Any, *, compute_corr: bool = True,
                store_in_trace: bool = True, **kwargs: Any):
        packed = super().__new__(cls, name, eta, n, sd_dist, compute_corr=False, **kwargs)
        if not compute_corr:
            return packed
        chol, corr, stds = cholesky_correlation_stds(packed, static_order(n))
        if store_in_trace:
            corr = Deterministic(f"{name}_corr", corr)
            stds = Deterministic(f"{name}_stds", stds)
        return chol, corr, stds

    @classmethod
    def dist(cls, eta: Any, n: Any, sd_dist: Any, *, compute_corr: bool = True,
             shape: Any = None, size: Any = None) -> Any:
        order = static_order(n)
        _check_eta(eta)
        if shape is not None and size is not None:
            raise ValueError("give shape= or size=, not both")
        batch = tuple(size if size is not None else ()) if shape is None else tuple(np.atleast_1d(shape))[:-1]
        sd_dist = _resized_sd_dist(sd_dist, order, batch)
        packed = cls.build(
            [pt.as_tensor(np.int64(order)), as_parameter(eta), sd_dist], shape=shape, size=size
        )
        return cholesky_correlation_stds(packed, order) if compute_corr else packed


def cholesky_correlation_stds(packed: TensorVariable, n: int) -> tuple:
    """``(chol, corr, stds)`` from a packed covariance Cholesky factor."""
    chol = expand_packed_triangular(n, packed, lower=True)
    stds = pt.sqrt(pt.sum(chol**2, axis=-1))
    correlation_cholesky = chol / pt.shape_padright(stds, 1)
    corr = pt.matmul(correlation_cholesky, pt.swapaxes(correlation_cholesky, -1, -2))
    return chol, corr, stds


@LOGP.register(LKJCholeskyCovRV)
def lkj_cholesky_cov_logp(value, n, eta, stds):
    order = static_order(n)
    chol = expand_packed_triangular(order, value, lower=True)
    diagonal = pt.diagonal(chol, axis1=-2, axis2=-1)
    positive_diagonal = pt.all(pt.gt(diagonal, 0.0), axis=-1)
    safe_chol = pt.switch(pt.shape_padright(positive_diagonal, 2), chol, pt.eye(order))
    sigma = pt.sqrt(pt.sum(safe_chol**2, axis=-1))
    log_sigma = pt.log(sigma)
    log_correlation_diagonal = pt.log(pt.diagonal(safe_chol, axis1=-2, axis2=-1)) - log_sigma
    row = np.arange(order, dtype="float64")
    lkj = pt.sum((2.0 * eta[..., None] - 3.0 + order - row) * log_correlation_diagonal, axis=-1)
    lkj = lkj - lkj_log_normalizer(eta, order)
    sd_op = stds.owner.op
    sd_term = _sum_support(sd_op, LOGP.get(sd_op)(sigma, *distribution_parameters(stds)))
    log_jacobian = pt.sum(log_correlation_diagonal - row * log_sigma, axis=-1)
    density = lkj + sd_term + log_jacobian
    return check_parameters(pt.switch(positive_diagonal, density, -np.inf), eta > 0)


@SUPPORT_POINT.register(LKJCholeskyCovRV)
def lkj_cholesky_cov_support_point(rv, n, eta, stds):
    """``diag(s)`` packed, with ``s`` the support point of ``sd_dist`` (ones if it has none)."""
    order = static_order(n)
    support_point = SUPPORT_POINT.lookup(stds.owner.op)
    scales = support_point(stds, *distribution_parameters(stds)) if support_point else pt.ones_like(stds)
    scales = pt.broadcast_to(scales, (*[rv.shape[axis] for axis in range(rv.ndim - 1)], order))
    diagonal = pt.shape_padright(scales, 1) * pt.eye(order)
    rows, columns = np.tril_indices(order)
    return diagonal[..., rows, columns]


@DEFAULT_TRANSFORM.register(LKJCholeskyCovRV)
def lkj_cholesky_cov_default_transform(n, eta, stds):
    return CholeskyCovPackedTransform(static_order(n))
