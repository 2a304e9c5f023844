"""Posterior predictive sampling and the element-wise log-likelihood.

Both are vectorised over draws: the model's graph is rewritten once, with
every free variable replaced by a batch of posterior draws (PyTensor's
``vectorize_graph``), and one compiled function evaluates all draws at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace, vectorize_graph

from mixgraph import marginal
from mixgraph.forward import compile_forward_function
from mixgraph.inference_data import constant_data, observed_data, to_inference_data
from mixgraph.logprob import logp
from mixgraph.model import modelcontext

__all__ = ["sample_posterior_predictive", "compute_log_likelihood"]


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
    idata: Any,
    var_names: Sequence[str] | None = None,
    random_seed: Any = None,
    extend_inferencedata: bool = False,
    predictions: bool = False,
    progressbar: bool = True,
    model: Any = None,
) -> Any:
    """Draw the observed variables (and any others asked for) at every posterior draw.

    Parameters
    ----------
    idata : arviz.InferenceData
        With a ``posterior`` group holding every free variable.
    var_names : sequence of str, optional
        Variables to draw (default: the observed variables). Free variables
        named here are copied from the posterior; deterministics and observed
        variables are recomputed or drawn.
    random_seed : int, SeedSequence or None
    extend_inferencedata : bool
        Add the new group to ``idata`` and return it.
    predictions : bool
        Store the draws in ``predictions`` (with ``predictions_constant_data``)
        instead of ``posterior_predictive``: for out-of-sample prediction
        after :func:`mixgraph.set_data`.
    progressbar : bool
        Accepted for PyMC compatibility (the work is one vectorised call).
    model : Model, optional

    Returns
    -------
    arviz.InferenceData
    """
    model = modelcontext(model)
    model = getattr(model, "marginal_source", model)  # summed-out latents are in the posterior
    names = [rv.name for rv in model.observed_RVs] if var_names is None else list(var_names)
    free_names = {rv.name for rv in model.free_RVs}
    arrays, leading = _posterior_arrays(idata, model)
    targets = [model[name] for name in names if name not in free_names]
    values = _vectorized_over_draws(model, targets, arrays, random_seed) if targets else []
    group = {}
    for name in names:
        if name in free_names:
            group[name] = np.asarray(idata.posterior[name].values)
    for variable, value in zip(targets, values):
        value = np.asarray(value)
        count = leading[0] * leading[1]
        if value.shape[:1] != (count,):  # a variable that does not depend on the posterior
            value = np.broadcast_to(value, (count,) + value.shape)
        group[variable.name] = value.reshape(leading + value.shape[1:])
    return _predictive_inference_data(idata, model, group, predictions, extend_inferencedata)


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


def _vectorized_over_draws(model: Any, outputs: list, arrays: dict, random_seed: Any = None) -> list[np.ndarray]:
    """Evaluate graphs in the free variables at every draw, in one call."""
    single = {rv: pt.tensor(dtype=rv.dtype, shape=(None,) * rv.ndim) for rv in model.free_RVs}
    batch = {rv: pt.tensor(dtype=rv.dtype, shape=(None,) * (rv.ndim + 1)) for rv in model.free_RVs}
    per_draw = graph_replace(outputs, single, strict=False)
    vectorized = vectorize_graph(per_draw, {single[rv]: batch[rv] for rv in model.free_RVs})
    function = compile_forward_function(list(vectorized), random_seed, inputs=list(batch.values()))
    return function(*[arrays[rv.name] for rv in model.free_RVs])


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
    values = _vectorized_over_draws(model, terms, arrays)
    group = {rv.name: np.asarray(value).reshape(leading + np.shape(value)[1:]) for rv, value in zip(observed, values)}
    new = to_inference_data(model, log_likelihood=group)
    if not extend_inferencedata:
        return new
    if "log_likelihood" in idata.groups():
        del idata.log_likelihood
    idata.extend(new)
    return idata
