"""Explanations of a failed initial evaluation, contributed by the variables' ops.

A distribution whose log-density can be ``-inf`` for a reason worth naming
(a mixture whose symbolic weights leave the simplex) registers, in
:data:`INITIAL_POINT_DIAGNOSTICS`, a function ``diagnose(rv, *parameters)``
returning a symbolic expression and a function ``describe(name, value)``
that turns the expression's value at a point into a sentence, or ``None``
when nothing is wrong. :func:`initial_point_diagnostics` evaluates every such
expression at a point; ``sample()`` appends the sentences to its message
when the initial evaluation fails.
"""

from __future__ import annotations

from typing import Any

from pytensor.graph.replace import graph_replace

from mixgraph.logprob import constrained_values
from mixgraph.point import QUICK_MODE, compile_point_function
from mixgraph.registry import OpRegistry, distribution_parameters

__all__ = ["INITIAL_POINT_DIAGNOSTICS", "initial_point_diagnostics"]

INITIAL_POINT_DIAGNOSTICS = OpRegistry("initial-point diagnostic")


def initial_point_diagnostics(model: Any, point: dict) -> list[str]:
    """Sentences naming what the registered diagnostics find wrong at ``point``.

    Parameters
    ----------
    model : Model
        The model.
    point : dict
        Value-variable name -> value (unconstrained space), as in ``model.initial_point()``.

    Returns
    -------
    list of str
        One sentence per variable with a problem; empty when none is found.
    """
    found = []
    for rv in [*model.free_RVs, *model.observed_RVs]:
        diagnose = INITIAL_POINT_DIAGNOSTICS.lookup(rv.owner.op)
        if diagnose is not None:
            expression, describe = diagnose(rv, *distribution_parameters(rv))
            found.append((rv.name, expression, describe))
    if not found:
        return []
    replacements = constrained_values(model)
    outputs = [graph_replace(expression, replacements, strict=False) for _, expression, _ in found]
    values = compile_point_function(model, outputs, mode=QUICK_MODE)(point)
    sentences = [describe(name, value) for (name, _, describe), value in zip(found, values)]
    return [sentence for sentence in sentences if sentence is not None]
