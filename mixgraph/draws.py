"""From flat unconstrained draws to named, constrained arrays, in one pass.

The sampler returns positions of shape ``(chain, draw, dim)``. One compiled
function, vectorised over all draws at once with PyTensor's
``vectorize_graph``, turns them into constrained values of the free
variables, deterministics, and element-wise log-likelihoods.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace, vectorize_graph
from pytensor.tensor import TensorVariable

from mixgraph.compile import FlatLayout
from mixgraph.logprob import constrained_values, model_logp_terms
from mixgraph.point import QUICK_MODE

__all__ = ["evaluate_on_draws", "constrained_draws", "log_likelihood_draws"]


def _in_position(model: Any, layout: FlatLayout, outputs: list[TensorVariable]) -> tuple:
    position = pt.vector("position", dtype="float64")
    value_by_name = {value.name: value for value in model.value_vars}
    pieces = {}
    for name, shape, offset in zip(layout.names, layout.shapes, layout.offsets):
        size = int(np.prod(shape, dtype=int))
        pieces[value_by_name[name]] = position[offset : offset + size].reshape(shape)
    return position, graph_replace(outputs, pieces, strict=False)


def evaluate_on_draws(
    model: Any, layout: FlatLayout, outputs: list[TensorVariable], positions: np.ndarray
) -> list[np.ndarray]:
    """Evaluate ``outputs`` (graphs in the value variables) at every draw.

    Parameters
    ----------
    positions : numpy.ndarray
        Shape ``(chain, draw, dim)`` (any leading shape works).

    Returns
    -------
    list of numpy.ndarray
        Each with the leading shape of ``positions`` prepended.
    """
    if not outputs:
        return []
    position, per_point = _in_position(model, layout, outputs)
    leading = positions.shape[:-1]
    batch = pt.matrix("positions", dtype="float64")
    vectorized = vectorize_graph(per_point, {position: batch})
    function = pytensor.function([batch], vectorized, mode=QUICK_MODE, on_unused_input="ignore")
    flat = positions.reshape((-1, positions.shape[-1]))
    results = function(flat)
    return [np.asarray(result).reshape(leading + np.shape(result)[1:]) for result in results]


def constrained_draws(model: Any, layout: FlatLayout, positions: np.ndarray) -> dict[str, np.ndarray]:
    """Constrained values of the free variables and the deterministics at every draw."""
    replacements = constrained_values(model)
    free = [replacements[rv] for rv in model.free_RVs]
    deterministics = graph_replace(model.deterministics, replacements, strict=False) if model.deterministics else []
    names = [rv.name for rv in model.free_RVs] + [variable.name for variable in model.deterministics]
    values = evaluate_on_draws(model, layout, [pt.as_tensor(v) for v in free + list(deterministics)], positions)
    return dict(zip(names, values))


def log_likelihood_draws(
    model: Any, layout: FlatLayout, positions: np.ndarray, var_names: list[str] | None = None
) -> dict[str, np.ndarray]:
    """Element-wise log-density of each observed variable at every draw."""
    terms = model_logp_terms(model)
    names = [rv.name for rv in model.observed_RVs if var_names is None or rv.name in var_names]
    values = evaluate_on_draws(model, layout, [terms[name] for name in names], positions)
    return dict(zip(names, values))
