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
from pytensor.graph.basic import Variable
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import ancestors
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable

from mixgraph.registry import ICDF, LOGCDF, LOGP, distribution_parameters

__all__ = [
    "logp",
    "logcdf",
    "icdf",
    "check_parameters",
    "SurvivingRandomVariableError",
    "check_no_random_variables",
    "parameter_conditions",
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
    never NaN, whatever the parameters. The combined condition is kept on the
    result (``result.tag.parameter_condition``) for
    :func:`parameter_conditions`.
    """
    if not conditions:
        return logp_value
    valid = pt.all([pt.all(condition) for condition in conditions]) if len(conditions) > 1 else pt.all(conditions[0])
    result = pt.switch(valid, logp_value, -np.inf)
    # Kept for compound densities (mixtures, hurdles): an invalid component
    # parameter must make the whole density -inf, which a component's own
    # -inf alone cannot tell apart from a value outside its support.
    result.tag.parameter_condition = valid
    return result


def parameter_conditions(graph: TensorVariable, value: TensorVariable) -> list[TensorVariable]:
    """The parameter conditions of every :func:`check_parameters` inside ``graph``.

    Conditions that depend on ``value`` (support checks) are left out: a
    compound density (mixture, hurdle) adds the rest to its own
    :func:`check_parameters`, so that an invalid component parameter gives
    ``-inf`` for the whole density.
    """
    found: dict[int, TensorVariable] = {}
    for variable in ancestors([graph]):
        condition = getattr(variable.tag, "parameter_condition", None)
        if condition is not None and id(condition) not in found and value not in ancestors([condition]):
            found[id(condition)] = condition
    return list(found.values())


class SurvivingRandomVariableError(RuntimeError):
    """A random-variable node is left in a graph that should hold only values."""


def _describe_random_variable(node: Any) -> str:
    output = node.default_output()
    family = type(node.op).__name__
    if output.name is not None:
        return f"the model variable {output.name!r} ({family})"
    return f"an unnamed {family} variable ({output})"


def check_no_random_variables(outputs: dict[str, TensorVariable]) -> None:
    """Raise :class:`SurvivingRandomVariableError` if a random-variable node is left in ``outputs``.

    A log-density must be a function of values alone: a random-variable node
    left in it would draw a fresh random number at every call (and the Numba
    backend cannot compile it inside a log-density).

    Parameters
    ----------
    outputs : dict
        What each graph is, for the message (``"the log-density of 'y'"``) -> the graph.
    """
    for name, output in outputs.items():
        for variable in ancestors([output] if isinstance(output, Variable) else list(output)):
            node = variable.owner
            if node is not None and isinstance(node.op, RandomVariable):
                raise SurvivingRandomVariableError(
                    f"{name} still contains {_describe_random_variable(node)}: a "
                    f"random-variable node survived the replacement of variables by their values. "
                    f"Build parameters from model variables, Data and constants, not from unnamed "
                    f".dist() variables; if they are, this is a mixgraph bug, please report it."
                )


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
    replaced = dict(zip(names, graph_replace([terms[name] for name in names], replacements, strict=False)))
    check_no_random_variables({f"the log-density of {name!r}": term for name, term in replaced.items()})
    return replaced


def model_logp(model: Any, *, jacobian: bool = True, sum: bool = True) -> TensorVariable | list:
    """The joint log-density of ``model`` (or its per-variable terms if ``sum=False``)."""
    terms = model_logp_terms(model, jacobian=jacobian)
    if not sum:
        return list(terms.values())
    return pt.add(*[pt.sum(term) for term in terms.values()]) if terms else pt.constant(0.0)
