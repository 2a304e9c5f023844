"""Posterior predictive sampling and the element-wise log-likelihood.

Both are vectorised over draws: the model's graph is rewritten once, with
every free variable replaced by a batch of posterior draws (PyTensor's
``vectorize_graph``), and one compiled function evaluates all draws at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Constant
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.replace import graph_replace, vectorize_graph
from pytensor.graph.traversal import graph_inputs
from pytensor.tensor import TensorVariable
from pytensor.tensor.basic import get_vector_length
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.random.utils import compute_batch_shape
from pytensor.tensor.type_other import NoneConst, NoneTypeT

from mixgraph import marginal, validation
from mixgraph.forward import compile_forward_function
from mixgraph.inference_data import constant_data, observed_data, to_inference_data
from mixgraph.logprob import logp
from mixgraph.model import modelcontext

__all__ = ["sample_posterior_predictive", "compute_log_likelihood", "vectorizable", "with_batch_sizes"]


def _posterior_arrays(idata: Any, model: Any) -> tuple[dict, tuple]:
    posterior = idata.posterior
    missing = [rv.name for rv in model.free_RVs if rv.name not in posterior]
    if missing:
        raise ValueError(
            f"the posterior has no draws of {missing}; sample them (var_names=None) before "
            f"predicting"
        )
    leading = (posterior.sizes["chain"], posterior.sizes["draw"])
    arrays = {
        rv.name: np.asarray(posterior[rv.name].values, dtype=rv.dtype).reshape((-1,) + posterior[rv.name].shape[2:])
        for rv in model.free_RVs
    }
    return arrays, leading


def sample_posterior_predictive(
    trace: Any = None,
    var_names: Sequence[str] | None = None,
    random_seed: Any = None,
    extend_inferencedata: bool = False,
    predictions: bool = False,
    progressbar: bool = True,
    model: Any = None,
    *,
    idata: Any = None,
) -> Any:
    """Draw the observed variables (and any others asked for) at every posterior draw.

    Parameters
    ----------
    trace : arviz.InferenceData
        With a ``posterior`` group holding every free variable (PyMC's name
        of this argument; ``idata=`` is accepted too).
    var_names : sequence of str, optional
        Variables to draw (default: the observed variables). Free variables
        named here are copied from the posterior; deterministics and observed
        variables are recomputed or drawn.
    random_seed : int, SeedSequence, Generator, RandomState or None
    extend_inferencedata : bool
        Add the new group to ``idata`` and return it.
    predictions : bool
        Store the draws in ``predictions`` (with ``predictions_constant_data``)
        instead of ``posterior_predictive``: for out-of-sample prediction
        after :func:`mixgraph.set_data`.
    progressbar : bool
        Accepted for PyMC compatibility (the work is one vectorised call).
    model : Model, optional
    idata : arviz.InferenceData, optional
        The same as ``trace``.

    Returns
    -------
    arviz.InferenceData

    Warns
    -----
    UserWarning
        When there is nothing to predict: no observed variables (a
        likelihood written as a ``Potential``) and no ``var_names``.
    """
    idata = _one_posterior(trace, idata)
    random_seed = validation.as_seed_sequence(random_seed)
    model = modelcontext(model)
    model = getattr(model, "marginal_source", model)  # summed-out latents are in the posterior
    names = [rv.name for rv in model.observed_RVs] if var_names is None else list(var_names)
    if not names:
        warnings.warn(
            "sample_posterior_predictive: the model has no observed variables (a likelihood "
            "written as a Potential cannot be drawn from), so there is nothing to predict and "
            "the posterior_predictive group is empty. Write the likelihood as a distribution "
            "with observed=, or name deterministics or variables to compute in var_names=.",
            UserWarning, stacklevel=2,
        )
    free_names = {rv.name for rv in model.free_RVs}
    arrays, leading = _posterior_arrays(idata, model)
    targets = [model[name] for name in names if name not in free_names]
    count = leading[0] * leading[1]
    values = _vectorized_over_draws(model, targets, arrays, count, random_seed=random_seed) if targets else []
    group = {}
    for name in names:
        if name in free_names:
            group[name] = np.asarray(idata.posterior[name].values)
    for variable, value in zip(targets, values):
        group[variable.name] = value.reshape(leading + value.shape[1:])
    return _predictive_inference_data(idata, model, group, predictions, extend_inferencedata)


def _one_posterior(trace: Any, idata: Any) -> Any:
    """The InferenceData given as ``trace`` (PyMC's name) or ``idata``."""
    if trace is not None and idata is not None:
        raise TypeError("sample_posterior_predictive: give trace= or idata=, not both")
    given = trace if trace is not None else idata
    if given is None:
        raise TypeError("sample_posterior_predictive() needs the result of mg.sample() as trace=")
    if not hasattr(given, "posterior"):
        raise TypeError(
            f"sample_posterior_predictive: trace must be an arviz.InferenceData with a posterior "
            f"group (the result of mg.sample()), got {type(given).__name__}"
        )
    return given


def _predictive_inference_data(idata, model, group, predictions, extend):
    if predictions:
        new = to_inference_data(model, predictions=group, predictions_constant_data=constant_data(model))
    else:
        new = to_inference_data(model, posterior_predictive=group, observed_data=observed_data(model))
    if not extend:
        return new
    for name in new.groups():
        if name in idata.groups():
            idata.__delattr__(name) if name != "observed_data" else None
    idata.extend(new, join="right")
    return idata


def _broadcast_parameters(node: Any) -> list[TensorVariable]:
    """The parameters of a random-variable node broadcast to its size (batch) and their core shapes."""
    op = node.op
    size = op.size_param(node)
    batch = [size[axis] for axis in range(get_vector_length(size))]
    broadcast = []
    for parameter, core_ndim in zip(op.dist_params(node), op.ndims_params):
        core = [parameter.shape[axis] for axis in range(parameter.ndim - core_ndim, parameter.ndim)]
        broadcast.append(pt.broadcast_to(parameter, (*batch, *core)))
    return broadcast


def vectorizable(outputs: list[TensorVariable], marker: TensorVariable) -> list[TensorVariable]:
    """Rebuild every random variable so that vectorising over draws gives independent draws.

    Two changes, both exact at the values of the draws:

    - A variable with a ``size`` gets its parameters broadcast to that size
      and no ``size``: PyTensor's vectorisation of a random variable with a
      ``size`` extends the size by the new batch axes of its first parameter
      only, so a variable whose first parameter is a constant (StudentT's
      ``nu``) but whose later parameters vary over draws cannot be vectorised.
    - ``marker`` (a scalar zero, vectorised into one zero per draw) is added
      to one parameter of every variable, so that every random variable,
      even one whose parameters are all constants (or another constant
      random variable, as LKJCholeskyCov's ``sd_dist``), gets the draw axis
      and is drawn afresh at every posterior draw instead of once.
    """
    inputs = [variable for variable in graph_inputs(outputs) if not isinstance(variable, Constant)]
    graph = FunctionGraph([*inputs, marker], outputs, clone=True, copy_inputs=False, copy_orphans=False)
    for node in graph.toposort():
        if isinstance(node.op, RandomVariable):
            new_node = _marked_node(node, marker)
            graph.replace_all(list(zip(node.outputs, new_node.outputs)), reason="vectorizable")
    return list(graph.outputs)


def _marked_node(node: Any, marker: TensorVariable) -> Any:
    op = node.op
    has_size = not isinstance(op.size_param(node).type, NoneTypeT)
    parameters = _broadcast_parameters(node) if has_size else list(op.dist_params(node))
    if parameters:
        real = [index for index, p in enumerate(parameters) if p.type.dtype.startswith("float")]
        index = real[0] if real else 0
        parameters[index] = parameters[index] + pt.cast(marker, parameters[index].type.dtype)
    return op.make_node(op.rng_param(node), NoneConst, *parameters)


def with_batch_sizes(outputs: list[TensorVariable]) -> list[TensorVariable]:
    """Give every random variable the batch shape of its parameters as its ``size``.

    Some draw functions (``rng_fn``) pass ``size`` to one generator call and
    broadcast the result against the parameters; with ``size=None`` they
    would reuse one draw across every new batch element.
    """
    graph = FunctionGraph(outputs=outputs, clone=True, copy_inputs=False, copy_orphans=False)
    for node in graph.toposort():
        if isinstance(node.op, RandomVariable):
            parameters = node.op.dist_params(node)
            size = compute_batch_shape(parameters, node.op.ndims_params)
            new_node = node.op.make_node(node.op.rng_param(node), size, *parameters)
            graph.replace_all(list(zip(node.outputs, new_node.outputs)), reason="with_batch_sizes")
    return list(graph.outputs)


def _vectorized_over_draws(
    model: Any, outputs: list, arrays: dict, count: int | None = None, random_seed: Any = None
) -> list[np.ndarray]:
    """Evaluate graphs in the free variables at every draw, in one call.

    Every result has a leading axis of length ``count`` (default: the number
    of draws in ``arrays``); every random variable is drawn independently at
    each draw (see :func:`vectorizable`).
    """
    if count is None:
        count = len(next(iter(arrays.values()))) if arrays else 1
    single = {rv: pt.tensor(dtype=rv.dtype, shape=(None,) * rv.ndim) for rv in model.free_RVs}
    batch = {rv: pt.tensor(dtype=rv.dtype, shape=(None,) * (rv.ndim + 1)) for rv in model.free_RVs}
    marker, markers = pt.scalar("draw_marker", dtype="int8"), pt.vector("draw_markers", dtype="int8")
    per_draw = vectorizable(graph_replace(outputs, single, strict=False), marker)
    replacements = {single[rv]: batch[rv] for rv in model.free_RVs} | {marker: markers}
    vectorized = with_batch_sizes(vectorize_graph(per_draw, replacements))
    function = compile_forward_function(list(vectorized), random_seed, inputs=[*batch.values(), markers])
    values = function(*[arrays[rv.name] for rv in model.free_RVs], np.zeros(count, dtype="int8"))
    return [
        value if new.ndim > old.ndim else np.broadcast_to(value, (count,) + value.shape)
        for value, new, old in ((np.asarray(v), n, o) for v, n, o in zip(values, vectorized, per_draw))
    ]


def compute_log_likelihood(
    idata: Any, var_names: Sequence[str] | None = None, model: Any = None, extend_inferencedata: bool = True
) -> Any:
    """Element-wise log-likelihood of the observed variables at every posterior draw.

    One value per observation (a Mixture's marginal log-density for a
    mixture), so that ``az.loo``, ``az.waic`` and ``az.compare`` work.

    Returns
    -------
    arviz.InferenceData
        ``idata`` with a ``log_likelihood`` group (or a new object holding
        only that group if ``extend_inferencedata=False``).
    """
    model = marginal.marginalize(modelcontext(model))  # discrete latents summed out: the marginal likelihood
    arrays, leading = _posterior_arrays(idata, model)
    observed = [rv for rv in model.observed_RVs if var_names is None or rv.name in var_names]
    if marginal.is_marginal(model):
        terms = marginal.observed_log_likelihood(model, [rv.name for rv in observed])
    else:
        terms = [logp(rv, model.rvs_to_values[rv]) for rv in observed]
    values = _vectorized_over_draws(model, terms, arrays, leading[0] * leading[1])
    group = {rv.name: value.reshape(leading + value.shape[1:]) for rv, value in zip(observed, values)}
    new = to_inference_data(model, log_likelihood=group)
    if not extend_inferencedata:
        return new
    if "log_likelihood" in idata.groups():
        del idata.log_likelihood
    idata.extend(new)
    return idata
