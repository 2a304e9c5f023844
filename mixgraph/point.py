"""Functions of point dicts: initial point, log-density, gradient.

A *point* maps the names of value variables (``"sigma_log__"``) to arrays of
unconstrained values. These functions are for users and for setup; the
sampler uses the flat Numba-compiled function of :mod:`mixgraph.compile`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from pytensor.graph.replace import graph_replace
from pytensor.tensor import TensorVariable

from mixgraph import validation
from mixgraph.logprob import model_logp, model_logp_terms
from mixgraph.registry import SUPPORT_POINT, distribution_parameters

__all__ = [
    "QUICK_MODE",
    "initial_point_expressions",
    "initial_point",
    "compile_point_function",
    "compile_logp",
    "compile_dlogp",
    "compile_logp_dlogp",
    "point_logps",
]

QUICK_MODE = Mode(linker="py", optimizer="fast_compile")
"""Compile mode for one-off evaluations: compiles in milliseconds."""


def _initial_constrained(model: Any, rv: TensorVariable) -> TensorVariable:
    initval = model.rvs_to_initial_values.get(rv)
    if initval is not None:
        return pt.as_tensor(np.asarray(initval, dtype=rv.dtype))
    return pt.cast(SUPPORT_POINT.get(rv.owner.op)(rv, *distribution_parameters(rv)), rv.dtype)


def initial_point_expressions(model: Any, overrides: dict | None = None) -> dict[str, TensorVariable]:
    """Symbolic initial values of every value variable (unconstrained space).

    Each free variable starts at its ``initval`` or at its distribution's
    support point; variables that depend on earlier ones use those earlier
    initial values (registration order is topological). A support point
    that a transform cannot map (equal entries of an ordered vector) is
    moved inside first (:meth:`~mixgraph.transforms.Transform.initial_forward`);
    a user's ``initval`` is used as given.

    Parameters
    ----------
    overrides : dict, optional
        Variable name -> initial value (constrained space), overriding
        ``initval`` (``initvals=`` of :func:`mixgraph.sample`).
    """
    overrides = overrides or {}
    constrained: dict[TensorVariable, TensorVariable] = {}
    expressions = {}
    for rv in model.free_RVs:
        given = rv.name in overrides or model.rvs_to_initial_values.get(rv) is not None
        if rv.name in overrides:
            start = pt.as_tensor(np.asarray(overrides[rv.name], dtype=rv.dtype))
        else:
            start = _initial_constrained(model, rv)
        transform = model.rvs_to_transforms[rv]
        if transform is None:
            unconstrained = start
        elif given:
            unconstrained = transform.forward(start, *distribution_parameters(rv))
        else:
            unconstrained = transform.initial_forward(start, *distribution_parameters(rv))
        if constrained:
            start, unconstrained = graph_replace([start, unconstrained], constrained, strict=False)
        constrained[rv] = start
        expressions[model.rvs_to_values[rv].name] = unconstrained
    return expressions


def initial_point(model: Any, overrides: dict | None = None, *, argument: str = "initvals") -> dict[str, np.ndarray]:
    """Concrete initial values of every value variable (unconstrained space).

    Raises
    ------
    ValueError
        If ``overrides`` names no free variable (or a transformed value
        variable such as ``"sigma_log__"``), has a value of the wrong shape,
        or a given value (``overrides`` or ``initval=``) is outside its
        variable's support.
    """
    given = _given_initial_values(model, overrides, argument)
    expressions = initial_point_expressions(model, overrides)
    if not expressions:
        return {}
    names = list(expressions)
    function = pytensor.function([], [expressions[name] for name in names], mode=QUICK_MODE)
    values = function()
    point = {}
    for rv, name, value in zip(model.free_RVs, names, values):
        value = np.asarray(value)
        if rv in given:
            validation.check_initial_value_support(rv, given[rv][0], value, name, given[rv][1])
        if not np.all(np.isfinite(value)):
            raise ValueError(
                f"the initial value of {name} is not finite ({value}); give an initval= "
                f"inside the variable's support (strictly increasing along the last axis for an "
                f"ordered transform)"
            )
        point[name] = value
    return point


def _given_initial_values(model: Any, overrides: dict | None, argument: str) -> dict:
    """Random variable -> (value, argument name) of each given initial value, checked."""
    validation.check_initval_names(model, overrides, argument)
    overrides = overrides or {}
    given = {}
    for rv in model.free_RVs:
        if rv.name in overrides:
            given[rv] = (np.asarray(overrides[rv.name]), argument)
        elif model.rvs_to_initial_values.get(rv) is not None:
            given[rv] = (np.asarray(model.rvs_to_initial_values[rv]), "initval")
    validation.check_initial_value_shapes(
        {rv: value for rv, (value, name) in given.items() if name == argument}, argument
    )
    return given


def compile_point_function(
    model: Any, outputs: list[TensorVariable], *, mode: Any = None
) -> Callable[[dict], list]:
    """Compile ``outputs`` (in value variables) as a function of a point dict."""
    value_vars = model.value_vars
    function = pytensor.function(value_vars, outputs, mode=mode, on_unused_input="ignore")
    names = [value.name for value in value_vars]

    def evaluate(point: dict) -> list:
        missing = [name for name in names if name not in point]
        if missing:
            raise KeyError(f"the point has no value for {missing}; it needs {names}")
        return function(*[point[name] for name in names])

    return evaluate


def compile_logp(model: Any, *, jacobian: bool = True, sum: bool = True, mode: Any = None) -> Callable:
    """Compiled joint log-density (``sum=False``: one array per variable)."""
    outputs = model_logp(model, jacobian=jacobian, sum=sum)
    function = compile_point_function(model, outputs if not sum else [outputs], mode=mode)
    if sum:
        return lambda point: float(function(point)[0])
    return function


def compile_dlogp(model: Any, *, jacobian: bool = True, mode: Any = None) -> Callable:
    """Compiled gradient: a point -> a dict of gradients by value-variable name."""
    logp = model_logp(model, jacobian=jacobian)
    values = model.value_vars
    function = compile_point_function(model, pytensor.grad(logp, values), mode=mode)
    return lambda point: dict(zip([value.name for value in values], function(point)))


def compile_logp_dlogp(model: Any, *, jacobian: bool = True, mode: Any = None) -> Callable:
    """Compiled log-density and gradient: a point -> (float, dict of gradients)."""
    logp = model_logp(model, jacobian=jacobian)
    values = model.value_vars
    function = compile_point_function(model, [logp, *pytensor.grad(logp, values)], mode=mode)

    def evaluate(point: dict) -> tuple[float, dict]:
        logp_value, *gradients = function(point)
        return float(logp_value), dict(zip([value.name for value in values], gradients))

    return evaluate


def point_logps(model: Any, point: dict | None = None, *, round_digits: int = 2) -> dict[str, float]:
    """Log-density of each variable at ``point`` (the initial point by default).

    The first thing to look at when a model's log-density is ``-inf``.
    """
    point = initial_point(model) if point is None else point
    terms = model_logp_terms(model)
    names = list(terms)
    function = compile_point_function(model, [pt.sum(terms[name]) for name in names], mode=QUICK_MODE)
    return {name: round(float(value), round_digits) for name, value in zip(names, function(point))}
