"""Forward sampling: draws from random variables and from the prior.

Each random variable owns a shared random generator. To draw, the generators
in a graph are seeded from one ``numpy.random.SeedSequence`` and a function
with generator updates is compiled once and called once per draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.traversal import ancestors
from pytensor.tensor import TensorVariable
from pytensor.tensor.random.op import RandomVariable

from mixgraph import validation
from mixgraph.inference_data import observed_data, to_inference_data
from mixgraph.model import modelcontext
from mixgraph.point import QUICK_MODE

__all__ = ["compile_forward_function", "draw", "sample_prior_predictive"]


def _rng_updates(outputs: list[TensorVariable]) -> dict[SharedVariable, TensorVariable]:
    updates = {}
    for variable in ancestors(outputs):
        node = variable.owner
        if node is not None and isinstance(node.op, RandomVariable):
            rng = node.inputs[0]
            if isinstance(rng, SharedVariable):
                updates[rng] = node.outputs[0]
    return updates


def compile_forward_function(outputs: list[TensorVariable], random_seed: Any = None, inputs: list | None = None) -> Any:
    """Compile ``outputs`` with every generator in their graph seeded and updated."""
    updates = _rng_updates(outputs)
    seeds = validation.as_seed_sequence(random_seed).spawn(len(updates))
    for rng, seed in zip(sorted(updates, key=lambda rng: str(rng.auto_name)), seeds):
        rng.set_value(np.random.default_rng(seed), borrow=True)
    return pytensor.function(inputs or [], outputs, updates=updates, mode=QUICK_MODE, on_unused_input="ignore")


def draw(vars: TensorVariable | Sequence[TensorVariable], draws: int = 1, random_seed: Any = None) -> Any:
    """Draw samples of one or several random variables (their joint distribution).

    Parameters
    ----------
    vars : TensorVariable or sequence of TensorVariable
    draws : int
        Number of draws; the result gets a leading axis of that length unless
        ``draws == 1``.
    random_seed : int, SeedSequence, Generator, RandomState or None

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
    """
    draws = validation.check_count("draws", draws, 1)
    random_seed = validation.as_seed_sequence(random_seed)
    single = isinstance(vars, TensorVariable)
    outputs = [vars] if single else list(vars)
    function = compile_forward_function(outputs, random_seed)
    results = [function() for _ in range(draws)]
    stacked = [np.stack([result[index] for result in results]) if draws > 1 else results[0][index]
               for index in range(len(outputs))]
    return stacked[0] if single else stacked


def sample_prior_predictive(
    draws: int = 500, model: Any = None, var_names: Sequence[str] | None = None, random_seed: Any = None
) -> Any:
    """Draw from the prior and the prior predictive distribution.

    Parameters
    ----------
    draws : int
        Number of draws (at least 1).
    model : Model, optional
    var_names : sequence of str, optional
        Variables to draw (default: all).
    random_seed : int, SeedSequence, Generator, RandomState or None

    Returns
    -------
    arviz.InferenceData
        Groups ``prior`` (free variables and deterministics),
        ``prior_predictive`` (observed variables) and ``observed_data``, with
        the model's coords and dims; each draw on a single chain.
    """
    draws = validation.check_count("draws", draws, 1)
    random_seed = validation.as_seed_sequence(random_seed)
    model = modelcontext(model)
    observed_names = [rv.name for rv in model.observed_RVs]
    candidates = model.free_RVs + model.deterministics + model.observed_RVs
    chosen = [variable for variable in candidates if var_names is None or variable.name in var_names]
    values = draw(chosen, draws=draws, random_seed=random_seed) if chosen else []
    if draws == 1:
        values = [value[None] for value in values]
    prior, predictive = {}, {}
    for variable, value in zip(chosen, values):
        group = predictive if variable.name in observed_names else prior
        group[variable.name] = np.asarray(value)[None]
    return to_inference_data(
        model, prior=prior, prior_predictive=predictive, observed_data=observed_data(model)
    )
