"""Finite mixtures: ``Mixture`` and ``NormalMixture``.

The components are given as unnamed ``.dist()`` variables, either as a list
(any families with the same support dimensionality, broadcast to a common
batch shape) or as one batched variable whose last batch axis indexes the
components. Only their ops and parameters are read: the mixture never
depends on the variables passed in, which stay reusable.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import graph_inputs
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.type_other import NoneTypeT

from mixgraph.distributions import mixture_rules  # noqa: F401  (registers transform and inverse CDF)
from mixgraph.distributions.base import Distribution, as_parameter
from mixgraph.distributions.mixture_op import WEIGHT_SUM_TOLERANCE, MixtureRV
from mixgraph.distributions import mixture_numba  # noqa: F401  (registers nopython draws)
from mixgraph.distributions import mixture_fused_rewrites  # noqa: F401  (fused log-density)
from mixgraph.registry import LOGP
from mixgraph.shapes import ShapeLike, as_shape_tuple, static_value

__all__ = ["Mixture", "NormalMixture", "mixture_dist"]


def _family(op: RandomVariable) -> str:
    name = type(op).__name__
    return name[:-2] if name.endswith("RV") else name


def constant_array(variable: Any) -> np.ndarray | None:
    """The value of a graph built from constants only, else None (symbolic or shared)."""
    if not isinstance(variable, Variable):
        return np.asarray(variable)
    if not all(isinstance(root, Constant) for root in graph_inputs([variable])):
        return None
    return np.asarray(variable.eval())


def _static_batch(variable: TensorVariable, ndim_supp: int) -> tuple:
    return tuple(variable.type.shape[: variable.ndim - ndim_supp])


def _broadcast_static(shapes: list[tuple]) -> tuple | None:
    """Broadcast static shapes (None = unknown length); None if they cannot broadcast."""
    ndim = max((len(shape) for shape in shapes), default=0)
    result = []
    for axis in range(ndim):
        lengths = {s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0}
        known = {length for length in lengths if length not in (None, 1)}
        if len(known) > 1:
            return None
        result.append(known.pop() if known else (None if None in lengths else 1))
    return tuple(result)


def _shown(shape: tuple) -> tuple:
    return tuple("?" if length is None else length for length in shape)


# ---------------------------------------------------------------- checks
def check_component(index: int, component: Any) -> None:
    """Raise ``TypeError`` unless ``component`` is an unnamed ``.dist()`` variable."""
    where = f"comp_dists[{index}]"
    if not isinstance(component, Variable):
        raise TypeError(
            f"{where} is a {type(component).__name__} ({str(component)[:40]}), not a distribution. "
            f"Pass an unnamed variable made with .dist(), e.g. mg.Normal.dist(mu=0, sigma=1)."
        )
    owner = component.owner
    if owner is None or not isinstance(owner.op, RandomVariable) or component is not owner.default_output():
        kind = "a constant or input" if owner is None else f"the expression {component} ({type(owner.op).__name__})"
        raise TypeError(
            f"{where} is {kind}, not a distribution. A component must be an unnamed variable made "
            f"with .dist(); to shift or scale one, change its parameters instead "
            f"(mg.Normal.dist(mu=2 * mu, sigma=2 * sigma) rather than 2 * mg.Normal.dist(mu, sigma))."
        )
    if component.name is not None:
        raise TypeError(
            f"{where} is the named model variable {component.name!r} ({_family(owner.op)}); a mixture "
            f"needs unnamed components. Use mg.{_family(owner.op)}.dist(...) instead of "
            f"mg.{_family(owner.op)}({component.name!r}, ...)."
        )
    if LOGP.lookup(owner.op) is None:
        raise TypeError(f"{where}: mixgraph has no log-density for {_family(owner.op)}; it cannot be a component.")


def check_components(components: list) -> None:
    """Same support dimensionality and the same kind (discrete or continuous) for all."""
    ops = [component.owner.op for component in components]
    described = ", ".join(f"comp_dists[{i}] {_family(op)}: {op.ndim_supp}" for i, op in enumerate(ops))
    if len({op.ndim_supp for op in ops}) > 1:
        raise ValueError(
            f"the components have different support dimensionality ({described} support "
            f"dimension(s)). Mix univariate with univariate and multivariate with multivariate "
            f"components of the same support size."
        )
    supports = {_static_batch(c, 0)[c.ndim - op.ndim_supp:] for c, op in zip(components, ops)}
    if len({tuple(s) for s in supports if None not in s}) > 1:
        raise ValueError(f"the components' support shapes differ: {sorted(supports)}; make them equal.")
    discrete = [op.dtype.startswith("int") for op in ops]
    if any(discrete) and not all(discrete):
        kinds = ", ".join(
            f"comp_dists[{i}] {_family(op)} is {'discrete' if d else 'continuous'}"
            for i, (op, d) in enumerate(zip(ops, discrete))
        )
        raise TypeError(
            f"discrete and continuous components cannot be mixed ({kinds}). Use components "
            f"of one kind: all discrete (e.g. Poisson, NegativeBinomial) or all continuous."
        )


def _as_components(comp_dists: Any) -> tuple[list, bool]:
    if isinstance(comp_dists, (list, tuple)):
        if len(comp_dists) == 0:
            raise ValueError(
                "comp_dists is an empty list. Pass a list of at least two .dist() components, "
                "or one batched .dist() variable whose last batch axis indexes the components."
            )
        for index, component in enumerate(comp_dists):
            check_component(index, component)
        if len(comp_dists) == 1:
            warnings.warn(
                "comp_dists is a list with a single component: it is treated as one batched "
                "component whose last batch axis indexes the mixture components. Pass the "
                "variable itself (not in a list) to silence this warning.",
                UserWarning, stacklevel=4,
            )
            return [comp_dists[0]], True
        check_components(list(comp_dists))
        return list(comp_dists), False
    check_component(0, comp_dists)
    return [comp_dists], True


def _component_parameters(component: TensorVariable, batched: bool) -> list:
    """The component's parameters, broadcast to its batch shape if it had a size.

    In batched form the mixture axis keeps the parameter's own length (1 when
    shared by every component), so that equal bounds stay recognisably equal.
    """
    node = component.owner
    op = node.op
    batch_ndim = op.batch_ndim(node)
    has_size = not isinstance(op.size_param(node).type, NoneTypeT)
    # Lengths come from the size input, never from `component.shape`: a Shape
    # of the component would keep its random-variable node in the mixture's
    # log-density.
    size = op.size_param(node)
    parameters = []
    for parameter, core in zip(op.dist_params(node), op.ndims_params):
        missing = batch_ndim - (parameter.ndim - core)
        parameter = pt.shape_padleft(parameter, missing) if missing > 0 else parameter
        if has_size:
            target = [
                component.type.shape[a] if component.type.shape[a] is not None else size[a]
                for a in range(batch_ndim)
            ]
            if batched:
                mixture_length = parameter.type.shape[batch_ndim - 1]
                target[-1] = mixture_length if mixture_length == 1 else target[-1]
            core_shape = [
                parameter.type.shape[a] if parameter.type.shape[a] is not None else parameter.shape[a]
                for a in range(batch_ndim, parameter.ndim)
            ]
            wanted = tuple(target) + tuple(core_shape)
            if parameter.type.shape != tuple(w if isinstance(w, int) else None for w in wanted) or None in parameter.type.shape:
                parameter = pt.broadcast_to(parameter, wanted)
        parameters.append(parameter)
    return parameters


def _weights(w: Any, logit_w: Any) -> TensorVariable:
    if (w is None) == (logit_w is None):
        raise TypeError("give the weights as w= (probabilities) or logit_w= (unnormalised log-weights), exactly one of them.")
    if logit_w is not None:
        logit_w = as_parameter(logit_w)
        if logit_w.ndim == 0:
            raise ValueError("logit_w is a scalar; its last axis must have one entry per component.")
        return pt.special.softmax(logit_w, axis=-1)
    weights = as_parameter(w)
    if weights.ndim == 0:
        raise ValueError("w is a scalar; its last axis must have one entry per component (shape (..., K)).")
    array = constant_array(weights)
    if array is not None:
        if np.any(array < 0) or not np.all(np.isfinite(array)):
            raise ValueError(f"w must be non-negative and finite, got {np.array2string(array, threshold=8)}.")
        sums = array.sum(axis=-1)
        if np.any(np.abs(sums - 1.0) > WEIGHT_SUM_TOLERANCE):
            raise ValueError(
                f"w must sum to 1 along its last axis (within {WEIGHT_SUM_TOLERANCE}); the sums are "
                f"{np.array2string(sums, threshold=8)}. Normalise them (w / w.sum(-1, keepdims=True)), "
                f"or pass unnormalised log-weights as logit_w=."
            )
    return weights


def _check_shapes(weights: TensorVariable, components: list, batched: bool) -> None:
    ndim_supp = components[0].owner.op.ndim_supp
    batches = [_static_batch(c, ndim_supp) for c in components]
    if batched:
        if len(batches[0]) == 0:
            raise ValueError(
                f"comp_dists is a single {_family(components[0].owner.op)} with batch shape (), so it "
                f"has no axis indexing the components. Give it shape=(..., K) (its last batch axis "
                f"indexes the K components), or pass a list of components."
            )
        n_components, mixture_batch = batches[0][-1], batches[0][:-1]
        where = f"the last batch axis of the batched component (batch shape {_shown(batches[0])})"
    else:
        mixture_batch = _broadcast_static(batches)
        if mixture_batch is None:
            raise ValueError(
                f"the components' batch shapes {[_shown(b) for b in batches]} do not broadcast "
                f"together. Give them equal (or broadcastable) shapes."
            )
        n_components, where = len(components), f"the {len(components)} components in comp_dists"
    length = weights.type.shape[-1]
    if length is not None and n_components is not None and length != n_components:
        raise ValueError(
            f"the weights' last axis has length {length} (w shape {_shown(weights.type.shape)}), "
            f"but there are {n_components} components ({where}). Give w one entry per component "
            f"along its last axis."
        )
    if _broadcast_static([weights.type.shape[:-1], mixture_batch]) is None:
        raise ValueError(
            f"the weights' batch shape {_shown(weights.type.shape[:-1])} (w shape "
            f"{_shown(weights.type.shape)}) cannot broadcast with the components' batch shape "
            f"{_shown(mixture_batch)} (mixture axis removed). Make the leading axes of w match "
            f"the components', or drop them."
        )


def mixture_dist(w: Any = None, comp_dists: Any = None, *, logit_w: Any = None) -> tuple[MixtureRV, list]:
    """Check the arguments of a mixture and return its op and its parameters."""
    if comp_dists is None:
        raise TypeError("comp_dists is missing: pass a list of .dist() components or one batched .dist() variable.")
    components, batched = _as_components(comp_dists)
    weights = _weights(w, logit_w)
    _check_shapes(weights, components, batched)
    op = MixtureRV(tuple(c.owner.op for c in components), batched)
    parameters = [p for c in components for p in _component_parameters(c, batched)]
    return op, [weights, *parameters]


class Mixture(Distribution):
    r"""Finite mixture of any distributions.

    .. math:: p(x \mid w, \theta) = \sum_{k=1}^{K} w_k \, p_k(x \mid \theta_k)

    Parameters
    ----------
    w : tensor_like
        Weights, shape ``(..., K)``; the leading axes broadcast against the
        components' batch shape. Constant weights must be non-negative and
        sum to 1 (within 1e-6); symbolic weights off the simplex give ``-inf``.
    comp_dists : list of TensorVariable or TensorVariable
        Unnamed ``.dist()`` variables of any families with the same support
        dimensionality, or one batched ``.dist()`` variable whose last batch
        axis (the axis before its support axes) indexes the components.
    logit_w : tensor_like, optional
        Unnormalised log-weights instead of ``w``.

    Examples
    --------
    >>> import mixgraph as mg
    >>> with mg.Model():
    ...     w = mg.Dirichlet("w", a=[1.0, 1.0])
    ...     components = [mg.Normal.dist(mu=-1, sigma=1), mg.StudentT.dist(nu=4, mu=1, sigma=1)]
    ...     like = mg.Mixture("like", w=w, comp_dists=components, observed=[0.2, 1.5])
    """

    rv_op = None

    def __new__(cls, name: str, *args: Any, **kwargs: Any) -> TensorVariable:
        components = kwargs.get("comp_dists", args[1] if len(args) > 1 else None)
        first = components[0] if isinstance(components, (list, tuple)) and components else components
        discrete = isinstance(first, Variable) and str(first.dtype).startswith("int")
        variant = _DiscreteMixture if discrete and cls is Mixture else cls
        return Distribution.__new__(variant, name, *args, **kwargs)

    @classmethod
    def dist(cls, w: Any = None, comp_dists: Any = None, *, logit_w: Any = None, **kwargs: Any) -> TensorVariable:
        op, parameters = mixture_dist(w, comp_dists, logit_w=logit_w)
        return cls.build(parameters, rv_op=op, **kwargs)

    @classmethod
    def _check_support_shape(cls, rv: TensorVariable, shape: tuple) -> None:
        wanted, actual = cls._shown(shape), rv.type.shape
        if len(actual) != len(wanted) or any(
            a is not None and w != "?" and a != w for a, w in zip(actual, wanted)
        ):
            raise ValueError(
                f"{cls.__name__}: shape {wanted} was asked for, but the weights and components give "
                f"shape {_shown(actual)}; make the last {rv.owner.op.ndim_supp} entries of shape "
                f"match the components' support shape."
            )


class _DiscreteMixture(Mixture):
    """A mixture of discrete components (observed data are checked as integers)."""

    @classmethod
    def is_discrete(cls) -> bool:
        return True


_DiscreteMixture.__name__ = "Mixture"


class NormalMixture(Mixture):
    r"""Mixture of normal distributions.

    .. math:: p(x \mid w, \mu, \sigma) = \sum_k w_k \, \mathcal{N}(x \mid \mu_k, \sigma_k^2)

    Parameters
    ----------
    w : tensor_like
        Weights, shape ``(..., K)``.
    mu : tensor_like
        Component means, last axis of length ``K``.
    sigma : tensor_like, optional
        Component standard deviations (> 0), broadcast against ``mu``.
    tau : tensor_like, optional
        Precisions ``1 / sigma**2``; give ``sigma`` or ``tau``.
    """

    def __new__(cls, name: str, *args: Any, **kwargs: Any) -> TensorVariable:
        return Distribution.__new__(cls, name, *args, **kwargs)

    @classmethod
    def dist(cls, w: Any = None, mu: Any = None, sigma: Any = None, tau: Any = None,
             *, logit_w: Any = None, comp_shape: ShapeLike = (), **kwargs: Any) -> TensorVariable:
        from mixgraph.distributions.continuous import Normal

        if mu is None:
            raise TypeError("NormalMixture needs mu, the component means (last axis of length K).")
        weights = pt.as_tensor(w if w is not None else logit_w, dtype="float64")
        mu = pt.as_tensor(mu, dtype="float64")
        scale = pt.as_tensor(sigma if sigma is not None else (tau if tau is not None else 1.0), dtype="float64")
        # the components' last batch axis is the mixture axis: give it length K
        length = weights.shape[-1] if weights.type.shape[-1] is None else weights.type.shape[-1]
        shape = _components_shape(comp_shape, weights, mu, scale, length)
        components = Normal.dist(
            mu=mu, sigma=sigma if sigma is not None or tau is not None else 1.0, tau=tau, shape=shape
        )
        return super().dist(w=w, comp_dists=components, logit_w=logit_w, **kwargs)


def _components_shape(comp_shape: ShapeLike, weights: TensorVariable, mu: TensorVariable,
                      scale: TensorVariable, length: Any) -> tuple:
    """The shape of NormalMixture's batched normal: ``comp_shape`` if given (as in PyMC), else
    the broadcast of ``mu`` and ``sigma`` with the last axis of length K."""
    comp_shape = as_shape_tuple(comp_shape)
    if not comp_shape:
        if max(mu.ndim, scale.ndim) == 0:
            return (length,)
        return tuple(pt.broadcast_shape(mu, scale)[:-1]) + (length,)
    shown = tuple(static_value(entry) if static_value(entry) is not None else "?" for entry in comp_shape)
    known_length = weights.type.shape[-1] if weights.ndim > 0 else None
    if known_length is not None and shown[-1] not in ("?", known_length):
        raise ValueError(
            f"NormalMixture: comp_shape {shown} ends in {shown[-1]}, but w has {known_length} "
            f"components along its last axis (w shape {_shown(weights.type.shape)}). The last entry "
            f"of comp_shape is the number of components: use comp_shape={shown[:-1] + (known_length,)}."
        )
    for name, parameter in (("mu", mu), ("sigma", scale)):
        if _broadcast_static([parameter.type.shape, tuple(None if s == "?" else s for s in shown)]) != tuple(
            None if s == "?" else s for s in shown
        ):
            raise ValueError(
                f"NormalMixture: {name} of shape {_shown(parameter.type.shape)} does not broadcast to "
                f"comp_shape {shown} (the shape of the components, last axis = the K components). "
                f"Give comp_shape that {name} broadcasts to, e.g. comp_shape=(N, K) for mu of shape (K,)."
            )
    return comp_shape
