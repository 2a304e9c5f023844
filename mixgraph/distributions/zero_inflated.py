"""Zero-inflated and hurdle families.

Zero-inflated families are mixtures (the generic mixture op) of a point mass
at 0, weight ``1 - psi``, and a count distribution, weight ``psi``: a zero
comes from either. Hurdle families are their own small op: a zero comes only
from the hurdle, with probability ``1 - psi``; positive values come from the
base distribution truncated to ``y > 0``.

``psi`` is the probability of the non-zero process, as in PyMC. NumPyro's and
TensorFlow Probability's ``gate`` is ``1 - psi``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.utils import safe_signature
from scipy import stats

from mixgraph.distributions.base import Distribution, as_parameter, check_constant
from mixgraph.distributions.mixture import Mixture, mixture_dist
from mixgraph.distributions.mixture_op import safe_log
from mixgraph.logprob import check_parameters, parameter_conditions
from mixgraph.registry import LOGCDF, LOGP, MEAN, SUPPORT_POINT, VARIANCE
from mixgraph.distributions.support import SUPPORT_VIOLATIONS

__all__ = [
    "ZeroInflatedPoisson", "ZeroInflatedNegativeBinomial", "ZeroInflatedBinomial",
    "HurdlePoisson", "HurdleNegativeBinomial", "HurdleGamma", "HurdleLogNormal", "HurdleRV",
]


def _psi(psi: Any) -> TensorVariable:
    check_constant("psi", psi, lambda a: (a >= 0) & (a <= 1), "in [0, 1] (the probability of the non-zero process)")
    return as_parameter(psi)


def safe_log1m(probability: TensorVariable) -> TensorVariable:
    """``log(1 - p)``: ``-inf`` with gradient 0 at ``p = 1``."""
    below = pt.lt(probability, 1)
    return pt.switch(below, pt.log1p(-pt.switch(below, probability, 0.0)), -np.inf)


# ---------------------------------------------------------------- zero-inflated
class _ZeroInflated(Mixture):
    """Mixture of a point mass at 0 (weight ``1 - psi``) and a count distribution (``psi``)."""

    def __new__(cls, name: str, *args: Any, **kwargs: Any) -> TensorVariable:
        return Distribution.__new__(cls, name, *args, **kwargs)

    @classmethod
    def is_discrete(cls) -> bool:
        return True

    @classmethod
    def _build(cls, psi: Any, base: TensorVariable, kwargs: dict) -> TensorVariable:
        from mixgraph.distributions.discrete_bounded import DiracDelta

        psi = _psi(psi)
        weights = pt.stack([1.0 - psi, psi], axis=-1)
        op, parameters = mixture_dist(weights, [DiracDelta.dist(np.int64(0)), base])
        return cls.build(parameters, rv_op=op, **kwargs)


class ZeroInflatedPoisson(_ZeroInflated):
    r"""Zero-inflated Poisson.

    .. math:: P(0) = (1 - \psi) + \psi e^{-\mu}, \quad
              P(y) = \psi \frac{\mu^y e^{-\mu}}{y!} \ (y > 0)

    Parameters
    ----------
    psi : tensor_like
        Probability of the Poisson process, in [0, 1] (NumPyro's/TFP's ``gate`` is ``1 - psi``).
    mu : tensor_like
        Poisson mean (>= 0).
    """

    @classmethod
    def dist(cls, psi: Any, mu: Any, **kwargs: Any) -> TensorVariable:
        from mixgraph.distributions.discrete import Poisson

        return cls._build(psi, Poisson.dist(mu=mu), kwargs)


class ZeroInflatedNegativeBinomial(_ZeroInflated):
    r"""Zero-inflated negative binomial.

    .. math:: P(0) = (1 - \psi) + \psi \, NB(0), \quad P(y) = \psi \, NB(y) \ (y > 0)

    Parameters
    ----------
    psi : tensor_like
        Probability of the negative-binomial process (NumPyro's/TFP's ``gate`` is ``1 - psi``).
    mu, alpha : tensor_like, optional
        Mean and dispersion; or ``p`` and ``n`` as in ``NegativeBinomial``.
    """

    @classmethod
    def dist(cls, psi: Any, mu: Any = None, alpha: Any = None, p: Any = None, n: Any = None,
             **kwargs: Any) -> TensorVariable:
        from mixgraph.distributions.discrete import NegativeBinomial

        return cls._build(psi, NegativeBinomial.dist(mu=mu, alpha=alpha, p=p, n=n), kwargs)


class ZeroInflatedBinomial(_ZeroInflated):
    r"""Zero-inflated binomial.

    .. math:: P(0) = (1 - \psi) + \psi (1 - p)^n, \quad P(y) = \psi \binom{n}{y} p^y (1-p)^{n-y}

    Parameters
    ----------
    psi : tensor_like
        Probability of the binomial process (NumPyro's/TFP's ``gate`` is ``1 - psi``).
    n : tensor_like
        Number of trials.
    p : tensor_like
        Success probability.
    """

    @classmethod
    def dist(cls, psi: Any, n: Any, p: Any, **kwargs: Any) -> TensorVariable:
        from mixgraph.distributions.discrete import Binomial

        return cls._build(psi, Binomial.dist(n=n, p=p), kwargs)


# ---------------------------------------------------------------- hurdle op
def _scipy_distribution(op: RandomVariable, parameters: list):
    """A frozen scipy distribution for the discrete bases with exact truncated draws."""
    if isinstance(op, random_ops.PoissonRV):
        return stats.poisson(*parameters)
    if isinstance(op, random_ops.NegBinomialRV):
        return stats.nbinom(*parameters)
    return None


class HurdleRV(RandomVariable):
    """Zero with probability ``1 - psi``, else a draw of ``base_op`` truncated to ``y > 0``.

    Inputs are ``rng, size, psi, *base_parameters``.
    """

    __props__ = ("name", "signature", "dtype", "inplace", "base_op")

    def __init__(self, base_op: RandomVariable, name: str = "hurdle", signature: str | None = None,
                 dtype: str | None = None, inplace: bool = False) -> None:
        self.base_op = base_op
        signature = signature or safe_signature([0, *base_op.ndims_params], [0])
        super().__init__(name=name, signature=signature, dtype=dtype or base_op.dtype, inplace=inplace)

    @property
    def discrete(self) -> bool:
        return self.dtype.startswith("int")

    def rng_fn(self, rng, psi, *args):
        *parameters, size = args
        batch = tuple(size) if size is not None else np.broadcast_shapes(np.shape(psi), *map(np.shape, parameters))
        parameters = [np.broadcast_to(p, batch) for p in parameters]
        nonzero = rng.uniform(size=batch) < psi
        return np.where(nonzero, self._positive_draws(rng, parameters, batch), 0)

    def _positive_draws(self, rng, parameters: list, batch: tuple) -> np.ndarray:
        if not self.discrete:
            return np.asarray(self.base_op.rng_fn(rng, *parameters, batch))
        distribution = _scipy_distribution(self.base_op, parameters)
        if distribution is not None:  # inverse survival function on (0, P(Y > 0)]: exact
            tail = (1.0 - rng.uniform(size=batch)) * distribution.sf(0)
            return np.maximum(distribution.isf(tail), 1).astype(np.int64)
        draws = np.asarray(self.base_op.rng_fn(rng, *parameters, batch))
        for _ in range(10_000):  # rejection: redraw the zeros
            zeros = draws == 0
            if not zeros.any():
                return draws
            draws = np.where(zeros, self.base_op.rng_fn(rng, *parameters, batch), draws)
        raise RuntimeError(f"hurdle draws: {type(self.base_op).__name__} gave only zeros in 10000 rounds")


def _base_logp(op: HurdleRV, value, parameters):
    return LOGP.get(op.base_op)(value, *parameters)


def _log_positive_mass(op: HurdleRV, value, parameters):
    """``log P(Y > 0)`` of the base (0 for a continuous base)."""
    if not op.discrete:
        return pt.zeros_like(value, dtype="float64")
    return pt.log1mexp(_base_logp(op, pt.zeros_like(value), parameters))


@LOGP.register(HurdleRV, takes_op=True)
def hurdle_logp(op: HurdleRV, value, psi, *parameters):
    """``log(1 - psi)`` at 0; ``log psi + log p(y) - log P(Y > 0)`` for ``y > 0``.

    The base density is evaluated at 1 where ``y = 0``, so that the unused
    branch is finite and the gradient stays finite with zeros in the data.
    """
    is_zero = pt.eq(value, 0)
    safe_value = pt.switch(is_zero, pt.ones_like(value), value)
    positive = safe_log(psi) + _base_logp(op, safe_value, parameters) - _log_positive_mass(op, safe_value, parameters)
    logp = pt.switch(is_zero, safe_log1m(psi), positive)
    # an invalid base parameter gives -inf at every value, zeros included
    return check_parameters(logp, pt.ge(psi, 0), pt.le(psi, 1), *parameter_conditions(positive, value))


@LOGCDF.register(HurdleRV, takes_op=True)
def hurdle_logcdf(op: HurdleRV, value, psi, *parameters):
    base_logcdf = LOGCDF.get(op.base_op)(value, *parameters)
    conditions = parameter_conditions(base_logcdf, value)
    base_cdf = pt.exp(base_logcdf)
    if op.discrete:
        zero_logp = _base_logp(op, pt.zeros_like(value), parameters)
        conditions += parameter_conditions(zero_logp, value)
        zero_mass = pt.exp(zero_logp)
        base_cdf = (base_cdf - zero_mass) / (1.0 - zero_mass)
    cdf = (1.0 - psi) + psi * pt.clip(base_cdf, 0.0, 1.0)
    logcdf = pt.switch(pt.lt(value, 0), -np.inf, pt.log(cdf))
    return check_parameters(logcdf, pt.ge(psi, 0), pt.le(psi, 1), *conditions)


def _base_variable(op: HurdleRV, rv, parameters):
    shape = pt.as_tensor([rv.shape[a] for a in range(rv.ndim)]) if rv.ndim else pt.as_tensor(np.zeros(0, "int64"))
    rng = pytensor.shared(np.random.default_rng(0))
    return op.base_op.make_node(rng, shape, *parameters).default_output()


@SUPPORT_POINT.register(HurdleRV, takes_op=True)
def hurdle_support_point(op: HurdleRV, rv, psi, *parameters):
    base = _base_variable(op, rv, parameters)
    point = SUPPORT_POINT.get(op.base_op)(base, *parameters)
    if op.discrete:
        point = pt.maximum(point, 1)
    return pt.switch(pt.ge(psi, 0.5), point, pt.zeros_like(point))


@MEAN.register(HurdleRV, takes_op=True)
def hurdle_mean(op: HurdleRV, rv, psi, *parameters):
    """``psi E[Y] / P(Y > 0)``."""
    base = _base_variable(op, rv, parameters)
    positive_mass = pt.exp(_log_positive_mass(op, pt.zeros_like(rv), parameters))
    return psi * MEAN.get(op.base_op)(base, *parameters) / positive_mass


@VARIANCE.register(HurdleRV, takes_op=True)
def hurdle_variance(op: HurdleRV, rv, psi, *parameters):
    """``psi E[Y^2] / P(Y > 0) - mean^2``."""
    base = _base_variable(op, rv, parameters)
    positive_mass = pt.exp(_log_positive_mass(op, pt.zeros_like(rv), parameters))
    base_mean = MEAN.get(op.base_op)(base, *parameters)
    second = VARIANCE.get(op.base_op)(base, *parameters) + base_mean**2
    mean = psi * base_mean / positive_mass
    return psi * second / positive_mass - mean**2


# ---------------------------------------------------------------- hurdle classes
class _Hurdle(Distribution):
    discrete = True

    @classmethod
    def is_discrete(cls) -> bool:
        return cls.discrete

    @classmethod
    def _build(cls, psi: Any, base: TensorVariable, kwargs: dict) -> TensorVariable:
        psi = _psi(psi)
        node = base.owner
        return cls.build([psi, *node.op.dist_params(node)], rv_op=HurdleRV(node.op), **kwargs)

    @classmethod
    def _check_support_shape(cls, rv: TensorVariable, shape: tuple) -> None:
        return None  # univariate: the size is the shape


class HurdlePoisson(_Hurdle):
    r"""Hurdle Poisson: 0 with probability ``1 - psi``, else a zero-truncated Poisson.

    .. math:: P(0) = 1 - \psi, \quad P(y) = \psi \frac{\mathrm{Pois}(y \mid \mu)}{1 - e^{-\mu}} \ (y > 0)

    Parameters
    ----------
    psi : tensor_like
        Probability of a non-zero value (NumPyro's/TFP's ``gate`` is ``1 - psi``).
    mu : tensor_like
        Mean of the untruncated Poisson.
    """

    @classmethod
    def dist(cls, psi: Any, mu: Any, **kwargs: Any) -> TensorVariable:
        from mixgraph.distributions.discrete import Poisson

        return cls._build(psi, Poisson.dist(mu=mu), kwargs)


class HurdleNegativeBinomial(_Hurdle):
    r"""Hurdle negative binomial: 0 with probability ``1 - psi``, else a zero-truncated NB.

    .. math:: P(0) = 1 - \psi, \quad P(y) = \psi \frac{NB(y)}{1 - NB(0)} \ (y > 0)

    Parameters
    ----------
    psi : tensor_like
        Probability of a non-zero value (NumPyro's/TFP's ``gate`` is ``1 - psi``).
    mu, alpha : tensor_like, optional
        Mean and dispersion; or ``p`` and ``n``.
    """

    @classmethod
    def dist(cls, psi: Any, mu: Any = None, alpha: Any = None, p: Any = None, n: Any = None,
             **kwargs: Any) -> TensorVariable:
        from mixgraph.distributions.discrete import NegativeBinomial

        return cls._build(psi, NegativeBinomial.dist(mu=mu, alpha=alpha, p=p, n=n), kwargs)


class HurdleGamma(_Hurdle):
    r"""Hurdle gamma: 0 with probability ``1 - psi``, else a gamma draw.

    .. math:: p(0) = 1 - \psi, \quad p(y) = \psi \, \mathrm{Gamma}(y \mid \alpha, \beta) \ (y > 0)

    Parameters
    ----------
    psi : tensor_like
        Probability of a positive value (NumPyro's/TFP's ``gate`` is ``1 - psi``).
    alpha, beta, mu, sigma : tensor_like, optional
        As in ``Gamma``.
    """

    discrete = False

    @classmethod
    def dist(cls, psi: Any, alpha: Any = None, beta: Any = None, mu: Any = None, sigma: Any = None,
             **kwargs: Any) -> TensorVariable:
        from mixgraph.distributions.positive import Gamma

        return cls._build(psi, Gamma.dist(alpha=alpha, beta=beta, mu=mu, sigma=sigma), kwargs)


class HurdleLogNormal(_Hurdle):
    r"""Hurdle log-normal: 0 with probability ``1 - psi``, else a log-normal draw.

    .. math:: p(0) = 1 - \psi, \quad p(y) = \psi \, \mathrm{LogNormal}(y \mid \mu, \sigma) \ (y > 0)

    Parameters
    ----------
    psi : tensor_like
        Probability of a positive value (NumPyro's/TFP's ``gate`` is ``1 - psi``).
    mu, sigma, tau : tensor_like, optional
        As in ``LogNormal``.
    """

    discrete = False

    @classmethod
    def dist(cls, psi: Any, mu: Any = 0.0, sigma: Any = None, tau: Any = None, **kwargs: Any) -> TensorVariable:
        from mixgraph.distributions.positive import LogNormal

        return cls._build(psi, LogNormal.dist(mu=mu, sigma=sigma, tau=tau), kwargs)


# ---------------------------------------------------------------- support (see support.py)
@SUPPORT_VIOLATIONS.register(HurdleRV, takes_op=True)
def hurdle_support_violations(op: HurdleRV, value, psi, *parameters):
    """Zero, or a point of the base distribution's support."""
    check = SUPPORT_VIOLATIONS.lookup(op.base_op)
    if check is None:
        return np.zeros(np.shape(value), dtype=bool)
    return np.not_equal(value, 0) & np.asarray(check(np.where(np.equal(value, 0), 1, value), *parameters), dtype=bool)
