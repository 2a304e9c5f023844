"""Log-densities: dispatch by op type, and the joint log-density of a model.

``logp(rv, value)`` looks up the function registered for ``type(rv.owner.op)``
and calls it with the value and the distribution's parameters. The joint
log-density replaces every random variable of a model by its value (through
its transform) and adds up the terms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from pytensor.tensor import TensorVariable

from mixgraph.registry import ICDF, LOGCDF, LOGP, distribution_parameters

__all__ = [
    "logp",
    "logcdf",
    "icdf",
    "check_parameters",
    "constrained_values",
    "model_logp_terms",
    "model_logp",
]


def _as_value(rv: TensorVariable, value: Any) -> TensorVariable:
    return pt.as_tensor(value, dtype=rv.dtype) if not isinstance(value, TensorVariable) else value


def logp(rv: TensorVariable, value: Any) -> TensorVariable:
    """Element-wise log-density of ``rv`` at ``value`` (support axes summed out).

    Parameters
    ----------
    rv : TensorVariable
        A random variable, usually from ``.dist()``.
    value : array_like or TensorVariable

    Returns
    -------
    TensorVariable
        One value per batch element of ``rv``.
    """
    function = LOGP.get(rv.owner.op)
    return function(_as_value(rv, value), *distribution_parameters(rv))


def logcdf(rv: TensorVariable, value: Any) -> TensorVariable:
    """Element-wise log of the cumulative distribution function."""
    function = LOGCDF.get(rv.owner.op)
    return function(_as_value(rv, value), *distribution_parameters(rv))


def icdf(rv: TensorVariable, quantile: Any) -> TensorVariable:
    """Element-wise inverse of the cumulative distribution function."""
    function = ICDF.get(rv.owner.op)
    return function(pt.as_tensor(quantile, dtype="float64"), *distribution_parameters(rv))


def check_parameters(logp_value: TensorVariable, *conditions: Any) -> TensorVariable:
    """Return ``logp_value`` where every condition holds and ``-inf`` elsewhere.

    The conditions are parameter constraints (``sigma > 0``); the result is
    never NaN, whatever the parameters.
    """
    if not conditions:
        return logp_value
    valid = pt.all([pt.all(condition) for condition in conditions]) if len(conditions) > 1 else pt.all(conditions[0])
    return pt.switch(valid, logp_value, -np.inf)


def constrained_values(model: Any) -> dict[TensorVariable, TensorVariable]:
    """Map every random variable of ``model`` to what replaces it in the joint density.

    A free variable becomes ``transform.backward(value)``; an observed one
    becomes its data. The replacements are built in registration order, which
    is topological, so that symbolic transform bounds that depend on earlier
    variables are themselves expressed in values.
    """
    replacements: dict[TensorVariable, TensorVariable] = {}
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        transform = model.rvs_to_transforms[rv]
        if transform is None:
            replacements[rv] = value
            continue
        backward = transform.backward(value, *distribution_parameters(rv))
        replacements[rv] = graph_replace(backward, replacements, strict=False) if replacements else backward
    for rv in model.observed_RVs:
        replacements[rv] = model.rvs_to_values[rv]
    return replacements


def _match_jacobian(term: TensorVariable, jacobian: TensorVariable) -> TensorVariable:
    extra_axes = term.ndim - jacobian.ndim
    return pt.sum(term, axis=tuple(range(-extra_axes, 0))) if extra_axes > 0 else term


def model_logp_terms(model: Any, *, jacobian: bool = True) -> dict[str, TensorVariable]:
    """Per-variable log-density terms of ``model``, in terms of value variables.

    Returns
    -------
    dict
        Variable name -> element-wise term (free and observed variables, and
        potentials). Transformed free variables include their log-Jacobian.
        A marginal model (:func:`mixgraph.marginalize`) supplies its own terms,
        with its discrete latents summed out.
    """
    marginal_terms = getattr(model, "marginal_logp_terms", None)
    if marginal_terms is not None:
        return marginal_terms(jacobian=jacobian)
    terms: dict[str, TensorVariable] = {}
    for rv in model.free_RVs + model.observed_RVs:
        transform = model.rvs_to_transforms.get(rv)
        value = model.rvs_to_values[rv]
        parameters = distribution_parameters(rv)
        if transform is None:
            terms[rv.name] = LOGP.get(rv.owner.op)(value, *parameters)
            continue
        constrained = transform.backward(value, *parameters)
        term = LOGP.get(rv.owner.op)(constrained, *parameters)
        if jacobian:
            log_jacobian = transform.log_jac_det(value, *parameters)
            term = _match_jacobian(term, log_jacobian) + log_jacobian
        terms[rv.name] = term
    for potential in model.potentials:
        terms[potential.name] = potential
    replacements = constrained_values(model)
    names = list(terms)
    replaced = graph_replace([terms[name] for name in names], replacements, strict=False)
    return dict(zip(names, replaced))


def model_logp(model: Any, *, jacobian: bool = True, sum: bool = True) -> TensorVariable | list:
    """The joint log-density of ``model`` (or its per-variable terms if ``sum=False``)."""
    terms = model_logp_terms(model, jacobian=jacobian)
    if not sum:
        return list(terms.values())
    return pt.add(*[pt.sum(term) for term in terms.values()]) if terms else pt.constant(0.0)
