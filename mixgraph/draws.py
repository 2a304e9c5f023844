"""From flat unconstrained draws to named, constrained arrays, in one pass.

The sampler returns positions of shape ``(chain, draw, dim)``. One compiled
function, vectorised over all draws at once with PyTensor's
``vectorize_graph``, turns them into constrained values of the free
variables, deterministics, and element-wise log-likelihoods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace, vectorize_graph
from pytensor.tensor import TensorVariable

from mixgraph.compile import FlatLayout, structure_key
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


def _compile_batched(model: Any, layout: FlatLayout, outputs: list) -> Callable:
    position, per_point = _in_position(model, layout, outputs)
    batch = pt.matrix("positions", dtype="float64")
    vectorized = vectorize_graph(per_point, {position: batch})
    # an output that does not depend on the position (a constant parameter) gets the batch axis too
    vectorized = [pt.broadcast_to(pt.expand_dims(output, 0), (batch.shape[0], *output.shape))
                  if output.ndim == point.ndim else output for output, point in zip(vectorized, per_point)]
    return pytensor.function([batch], vectorized, mode=QUICK_MODE, on_unused_input="ignore")


def _draw_function(model: Any, layout: FlatLayout, purpose: str | None, build: Callable[[], list]) -> Callable:
    """Compile a function of a batch of positions; kept on the model under ``purpose``."""
    if purpose is None:
        return _compile_batched(model, layout, build())
    cache = model.__dict__.setdefault("_draw_function_cache", {})
    key = (purpose, structure_key(model, layout, True))
    if key not in cache:
        cache[key] = _compile_batched(model, layout, build())
    return cache[key]


def evaluate_on_draws(
    model: Any, layout: FlatLayout, outputs: list[TensorVariable] | Callable[[], list], positions: np.ndarray,
    purpose: str | None = None,
) -> list[np.ndarray]:
    """Evaluate ``outputs`` (graphs in the value variables) at every draw.

    Parameters
    ----------
    outputs : list of TensorVariable, or a function building them
    positions : numpy.ndarray
        Shape ``(chain, draw, dim)`` (any leading shape works).
    purpose : str, optional
        A name under which the compiled function is kept on the model, so
        that the next call with the same layout compiles nothing.

    Returns
    -------
    list of numpy.ndarray
        Each with the leading shape of ``positions`` prepended.
    """
    build = outputs if callable(outputs) else (lambda: outputs)
    function = _draw_function(model, layout, purpose, build)
    leading = positions.shape[:-1]
    flat = positions.reshape((-1, positions.shape[-1]))
    if flat.shape[0] == 0:
        # No draws (draws=0): PyTensor's vectorised ops refuse an empty batch,
        # so one point is evaluated for the shapes and none of it is kept.
        results = [np.asarray(result)[:0] for result in function(np.zeros((1, flat.shape[1])))]
    else:
        results = function(flat)
    return [np.asarray(result).reshape(leading + np.shape(result)[1:]) for result in results]


def constrained_draws(model: Any, layout: FlatLayout, positions: np.ndarray) -> dict[str, np.ndarray]:
    """Constrained values of the free variables and the deterministics at every draw."""

    def build() -> list:
        replacements = constrained_values(model)
        free = [replacements[rv] for rv in model.free_RVs]
        deterministics = graph_replace(model.deterministics, replacements, strict=False) if model.deterministics else []
        return [pt.as_tensor(variable) for variable in free + list(deterministics)]

    names = [rv.name for rv in model.free_RVs] + [variable.name for variable in model.deterministics]
    return dict(zip(names, evaluate_on_draws(model, layout, build, positions, purpose="constrained")))


def log_likelihood_draws(
    model: Any, layout: FlatLayout, positions: np.ndarray, var_names: list[str] | None = None
) -> dict[str, np.ndarray]:
    """Element-wise log-density of each observed variable at every draw."""
    names = [rv.name for rv in model.observed_RVs if var_names is None or rv.name in var_names]
    if not names:
        return {}

    def build() -> list:
        terms = model_logp_terms(model)
        return [terms[name] for name in names]

    return dict(zip(names, evaluate_on_draws(model, layout, build, positions, purpose=f"loglik-{names}")))
