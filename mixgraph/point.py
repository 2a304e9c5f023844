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
from pytensor.graph.traversal import graph_inputs
from pytensor.tensor import TensorVariable

from mixgraph import validation
from mixgraph.compile import stabilize_graph
from mixgraph.logprob import check_no_random_variables, model_logp, model_logp_terms
from mixgraph.registry import SUPPORT_POINT, distribution_parameters

__all__ = [
    "QUICK_MODE",
    "initial_point_expressions",
    "initial_point",
    "compile_point_function",
    "compile_fn",
    "select_logp",
    "compile_logp",
    "compile_dlogp",
    "compile_logp_dlogp",
    "d2logp",
    "compile_d2logp",
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
    check_no_random_variables({"a compiled function of the point": outputs})
    function = pytensor.function(value_vars, outputs, mode=mode, on_unused_input="ignore")
    return _taking_a_point(function, [value.name for value in value_vars])


def _taking_a_point(function: Callable, names: list[str]) -> Callable[[dict], Any]:
    """``function`` of positional inputs called with a point dict holding (at least) ``names``."""

    def evaluate(point: dict) -> Any:
        missing = [name for name in names if name not in point]
        if missing:
            raise KeyError(f"the point has no value for {missing}; it needs {names}")
        return function(*[point[name] for name in names])

    return evaluate


def _term_name(model: Any, variable: Any, known: list[str]) -> str:
    """The name of the log-density term of ``variable`` (a variable, its value variable or a name)."""
    owners = {rv: rv.name for rv in model.free_RVs + model.observed_RVs}
    owners.update({model.rvs_to_values[rv]: rv.name for rv in model.free_RVs + model.observed_RVs})
    owners.update({potential: potential.name for potential in model.potentials})
    name = variable if isinstance(variable, str) else owners.get(variable)
    if name not in known:
        raise ValueError(
            f"vars= names {variable!r}, which has no log-density term in this model; give random "
            f"variables, potentials or their names, among {known}"
        )
    return name


def select_logp(
    model: Any, vars: Any = None, *, jacobian: bool = True, sum: bool = True
) -> TensorVariable | list:
    """The log-density of ``vars`` only (all terms if ``None``), as PyMC's ``Model.logp``.

    ``vars`` is one or a list of random variables, potentials, value
    variables or their names; ``sum=False`` gives one element-wise term per
    variable, in the order given.
    """
    terms = model_logp_terms(model, jacobian=jacobian)
    if vars is None:
        names = list(terms)
    else:
        vars = [vars] if isinstance(vars, (str, TensorVariable)) else list(vars)
        names = [_term_name(model, variable, list(terms)) for variable in vars]
        names = list(dict.fromkeys(names))
    selected = [terms[name] for name in names]
    if not sum:
        return selected
    return pt.add(*[pt.sum(term) for term in selected]) if selected else pt.constant(0.0)


def compile_fn(
    model: Any, outputs: Any, *, inputs: list | None = None, point_fn: bool = True, mode: Any = None
) -> Callable:
    """Compile ``outputs`` as PyMC's ``Model.compile_fn`` does.

    ``inputs`` defaults to the model's value variables that ``outputs``
    depend on. With ``point_fn=True`` the function takes a point dict (keys
    the inputs' names; other keys are ignored), else the inputs positionally.
    A single output gives a single array, a list of outputs a list.
    """
    single = not isinstance(outputs, (list, tuple))
    output_list = [outputs] if single else list(outputs)
    if inputs is None:
        used = set(graph_inputs(output_list))
        inputs = [value for value in model.value_vars if value in used]
    function = pytensor.function(list(inputs), output_list, mode=mode, on_unused_input="ignore")
    names = [variable.name for variable in inputs]

    def call(*arguments: Any) -> Any:
        results = function(*arguments)
        return results[0] if single else results

    return _taking_a_point(call, names) if point_fn else call


def compile_logp(
    model: Any, vars: Any = None, *, jacobian: bool = True, sum: bool = True, mode: Any = None
) -> Callable:
    """Compiled log-density of ``vars`` (all terms by default; ``sum=False``: one array per variable).

    The graph gets the sampler's rewrites (:func:`mixgraph.compile.stabilize_graph`).
    """
    outputs = select_logp(model, vars, jacobian=jacobian, sum=sum)
    outputs = stabilize_graph(outputs if not sum else [outputs])
    function = compile_point_function(model, outputs, mode=mode)
    if sum:
        return lambda point: float(function(point)[0])
    return function


def _stabilized_logp_and_gradients(model: Any, jacobian: bool) -> tuple:
    """The joint log-density, rewritten as the sampler's, and its gradients (taken after)."""
    logp = stabilize_graph(model_logp(model, jacobian=jacobian))
    values = model.value_vars
    return logp, pytensor.grad(logp, values) if values else []


def compile_dlogp(model: Any, *, jacobian: bool = True, mode: Any = None) -> Callable:
    """Compiled gradient: a point -> a dict of gradients by value-variable name."""
    _, gradients = _stabilized_logp_and_gradients(model, jacobian)
    function = compile_point_function(model, gradients, mode=mode)
    names = [value.name for value in model.value_vars]
    return lambda point: dict(zip(names, function(point)))


def compile_logp_dlogp(model: Any, *, jacobian: bool = True, mode: Any = None) -> Callable:
    """Compiled log-density and gradient: a point -> (float, dict of gradients)."""
    logp, gradients = _stabilized_logp_and_gradients(model, jacobian)
    function = compile_point_function(model, [logp, *gradients], mode=mode)
    names = [value.name for value in model.value_vars]

    def evaluate(point: dict) -> tuple[float, dict]:
        logp_value, *gradient_values = function(point)
        return float(logp_value), dict(zip(names, gradient_values))

    return evaluate


def _hessian_wrt(model: Any, vars: Any) -> list[TensorVariable]:
    """Value variables to differentiate by: all (``None``), or given as random variables, value variables or names."""
    if vars is None:
        return list(model.value_vars)
    by_name = {rv.name: model.rvs_to_values[rv] for rv in model.free_RVs}
    by_name.update({value.name: value for value in model.value_vars})
    by_rv = {rv: model.rvs_to_values[rv] for rv in model.free_RVs}
    chosen = []
    for variable in vars if isinstance(vars, (list, tuple)) else [vars]:
        value = by_name.get(variable) if isinstance(variable, str) else by_rv.get(variable, variable)
        if value not in model.value_vars:
            raise ValueError(f"vars= names {variable!r}, which is no free variable of this model; give free "
                             f"variables, their value variables or names, among {list(by_name)}")
        chosen.append(value)
    return chosen


def d2logp(model: Any, vars: Any = None, *, jacobian: bool = True, negate_output: bool = True) -> TensorVariable:
    """The Hessian of the joint log-density (negated by default, as PyMC's ``Model.d2logp``).

    Rows and columns follow the value variables of ``vars`` (all by default),
    each raveled, in order. The log-density is the sampler's rewritten graph,
    so fused mixtures give their second derivatives too. The matrix is built
    one row at a time (no ``scan``), which suits the tens to hundreds of
    parameters of a Laplace approximation.
    """
    wrt = _hessian_wrt(model, vars)
    logp = stabilize_graph(model_logp(model, jacobian=jacobian))
    gradient = pt.concatenate([pt.grad(logp, value).ravel() for value in wrt]) if wrt else pt.zeros(0)
    point = initial_point(model)
    size = int(sum(np.size(point[value.name]) for value in wrt))
    rows = [pt.concatenate([pt.grad(gradient[row], value).ravel() for value in wrt]) for row in range(size)]
    hessian = pt.stack(rows) if rows else pt.zeros((0, 0))
    return -hessian if negate_output else hessian


def compile_d2logp(model: Any, vars: Any = None, *, jacobian: bool = True, negate_output: bool = True,
                   mode: Any = None) -> Callable[[dict], np.ndarray]:
    """Compiled :func:`d2logp`: a point -> the (negated) Hessian matrix."""
    function = compile_point_function(model, [d2logp(model, vars, jacobian=jacobian, negate_output=negate_output)],
                                      mode=mode)
    return lambda point: np.asarray(function(point)[0])


def point_logps(model: Any, point: dict | None = None, *, round_digits: int = 2) -> dict[str, float]:
    """Log-density of each variable at ``point`` (the initial point by default).

    The first thing to look at when a model's log-density is ``-inf``.
    """
    point = initial_point(model) if point is None else point
    terms = model_logp_terms(model)
    names = list(terms)
    outputs = stabilize_graph([pt.sum(terms[name]) for name in names])
    function = compile_point_function(model, outputs, mode=QUICK_MODE)
    return {name: round(float(value), round_digits) for name, value in zip(names, function(point))}
