"""Compute the parts of a log-density that depend only on the data once, not at every call.

The compiled log-density takes the data as inputs (so that new data of the
same shapes need no new compilation), which stops PyTensor from folding
expressions of the data alone into constants: a Poisson term's
``log(y!)``, a zero-inflated model's ``y == 0`` mask or a cast of integer
counts would be recomputed at every gradient evaluation. Here every maximal
subexpression of the data and constants alone that reads the data and
computes something (not a mere reshape) is cut out of the graph and replaced
by a new shared variable holding its value; :class:`HoistedData` recomputes
those values from the current data whenever the data are packed for a run,
so ``set_data`` is honoured.

This is loop-invariant code motion (Aho, Lam, Sethi and Ullman, *Compilers*,
2nd ed., section 9.5) applied to the graph, with the sampler's repeated calls
as the loop.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pytensor
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.replace import graph_replace
from pytensor.graph.traversal import graph_inputs, io_toposort
from pytensor.tensor.elemwise import DimShuffle
from pytensor.tensor.shape import Reshape, SpecifyShape

__all__ = ["HoistedData", "hoist_data_only"]

#: Only float64 and int64 results are hoisted: the data buffers hold these two.
_HOISTED_DTYPES = ("float64", "int64")
#: A hoisted value may hold at most as many numbers as the largest data array
#: (or this many, for small data): a broadcast of the data to a larger shape
#: is cheaper to recompute inside a fused loop than to read from memory
#: (measured: hoisting a (1000, 3) broadcast of 1000 observations made the
#: K = 3 Normal mixture's gradient 4% slower, the (5 x 3) example's 14%).
_SMALL_SIZE = 1024
_VIEW_OPS = (DimShuffle, Reshape, SpecifyShape)


class HoistedData(NamedTuple):
    """The shared variables that stand for data-only subexpressions, and how to refresh them."""

    variables: list[SharedVariable]
    compute: Any  # a compiled function of no inputs, returning the candidates' current values
    positions: list[int]  # which of those values each variable holds

    def refresh(self) -> None:
        """Recompute every hoisted value from the current values of the data."""
        if self.variables:
            values = self.compute()
            for variable, position in zip(self.variables, self.positions):
                variable.set_value(np.asarray(values[position], dtype=variable.dtype), borrow=True)


def _is_data(variable: Variable) -> bool:
    return isinstance(variable, SharedVariable) and hasattr(variable.type, "ndim") and hasattr(variable.type, "dtype")


def _data_only_variables(inputs: list[Variable], nodes: list) -> tuple[set[Variable], set[Variable]]:
    """Variables computed from data and constants alone, and those of them that read data."""
    data_only: set[Variable] = {variable for variable in inputs if isinstance(variable, Constant) or _is_data(variable)}
    reads_data: set[Variable] = {variable for variable in inputs if _is_data(variable) and variable.type.ndim > 0}
    for node in nodes:
        if node.inputs and all(variable in data_only for variable in node.inputs):
            data_only.update(node.outputs)
            if any(variable in reads_data for variable in node.inputs):
                reads_data.update(node.outputs)
    return data_only, reads_data


def _computes_something(variable: Variable) -> bool:
    """False for a mere view (dimshuffle, reshape, shape check) of an input."""
    while variable.owner is not None and isinstance(variable.owner.op, _VIEW_OPS):
        variable = variable.owner.inputs[0]
    return variable.owner is not None


def _boundaries(nodes: list, data_only: set[Variable], reads_data: set[Variable]) -> list[Variable]:
    """Data-only variables that read data, compute something, and feed a node that is not data-only.

    Expressions of constants alone are left to PyTensor's constant folding.
    """
    found: dict[Variable, None] = {}
    for node in nodes:
        if all(output in data_only for output in node.outputs):
            continue
        for variable in node.inputs:
            if variable in reads_data and variable.type.ndim > 0 and _computes_something(variable):
                found.setdefault(variable, None)
    return [variable for variable in found if variable.type.dtype in _HOISTED_DTYPES]


def hoist_data_only(outputs: list[Variable]) -> tuple[list[Variable], HoistedData]:
    """Replace the data-only subexpressions of ``outputs`` by shared variables.

    Returns the rewritten outputs and the :class:`HoistedData` that keeps the
    new shared variables up to date. Scalars, dtypes other than float64 and
    int64, and values much larger than the data are left in the graph.
    """
    inputs = list(graph_inputs(outputs))
    nodes = io_toposort(inputs, outputs)
    data_only, reads_data = _data_only_variables(inputs, nodes)
    candidates = _boundaries(nodes, data_only, reads_data)
    if not candidates:
        return outputs, HoistedData([], None, [])
    largest = max((variable.get_value(borrow=True).size for variable in inputs if _is_data(variable)), default=0)
    compute = pytensor.function([], candidates, mode="FAST_COMPILE")
    kept = [
        (position, variable, np.asarray(value))
        for position, (variable, value) in enumerate(zip(candidates, compute()))
        if np.size(value) <= max(largest, _SMALL_SIZE)
    ]
    if not kept:
        return outputs, HoistedData([], None, [])
    replacements = {
        variable: pytensor.shared(value, name=f"hoisted_{index}", shape=variable.type.shape)
        for index, (_, variable, value) in enumerate(kept)
    }
    rewritten = graph_replace(outputs, replacements, strict=True)
    return rewritten, HoistedData(list(replacements.values()), compute, [position for position, _, _ in kept])
