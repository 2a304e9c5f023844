"""Which component did each observation come from?

For a mixture likelihood written without an explicit latent index, the
posterior probability that observation ``n`` came from component ``k`` given
the parameters is ``softmax_k(log w_k + log p_k(y_n))``: exactly the terms
inside the mixture's log-density. These functions evaluate it at every
posterior draw, vectorised over draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt

from mixgraph import marginal, validation
from mixgraph.distributions.mixture_op import MixtureRV, component_logps, safe_log
from mixgraph.model import modelcontext
from mixgraph.predictive import _posterior_arrays, _vectorized_over_draws
from mixgraph.registry import distribution_parameters

__all__ = ["component_probabilities", "component_assignments"]


def _mixture_variable(model: Any, var_name: str) -> Any:
    if var_name not in model.named_vars:
        raise KeyError(f"component_probabilities: no variable named {var_name!r} in the model")
    rv = model[var_name]
    if rv.owner is None or not isinstance(rv.owner.op, MixtureRV):
        raise TypeError(
            f"component_probabilities: {var_name!r} is not a Mixture (it is "
            f"{type(rv.owner.op).__name__ if rv.owner else 'not a random variable'})"
        )
    if rv not in model.observed_RVs:
        raise TypeError(f"component_probabilities: {var_name!r} must be an observed Mixture")
    return rv


def _latent_of(model: Any, var_name: str) -> str | None:
    """The discrete latent behind ``var_name``: itself, or the one latent its log-density depends on."""
    source = getattr(model, "marginal_source", model)
    latents = marginal.discrete_latents(source)
    if not latents or var_name not in source.named_vars:
        return None
    if source[var_name] in latents:
        return source[var_name].name
    if isinstance(getattr(source[var_name].owner, "op", None), MixtureRV):
        return None
    marginal_model = marginal.marginalize(source)
    owners = [group for group in marginal_model.marginal_groups if var_name in group.dependents]
    if len(owners) == 1 and owners[0].partners:
        raise ValueError(
            f"component_probabilities: {var_name!r} depends on the summed-out latents "
            f"{list(owners[0].latent_names)}, which are enumerated together; name one of them "
            f"(component_probabilities(idata, {owners[0].latent.name!r})) for its probabilities."
        )
    return owners[0].latent.name if len(owners) == 1 else None


def component_probabilities(
    idata: Any, var_name: str, model: Any = None, component_dim: str = "component"
) -> Any:
    """Posterior probability that each observation came from each component.

    Parameters
    ----------
    idata : arviz.InferenceData
        With a posterior of every free variable.
    var_name : str
        An observed ``Mixture`` (or a family built on it, e.g. ``NormalMixture``);
        or a summed-out discrete latent (``z`` of ``mu[z]``), or a variable
        that depends on one: then the probabilities are those of the latent's
        values given each draw, over its dims.
    model : Model, optional
    component_dim : str
        Name of the component dimension; if it is a coord of the model, its
        values label the components.

    Returns
    -------
    xarray.DataArray
        Dims ``(chain, draw, *observation dims, component_dim)``; sums to 1
        over ``component_dim``.
    """
    import xarray

    model = modelcontext(model)
    latent_name = _latent_of(model, var_name)
    if latent_name is not None:
        model = marginal.marginalize(model)
        probabilities, _ = marginal.latent_probabilities(model, latent_name)
        var_name = latent_name
    else:
        rv = _mixture_variable(model, var_name)
        op = rv.owner.op
        weights, groups = op.split_parameters(distribution_parameters(rv))
        terms = safe_log(weights) + component_logps(op, model.rvs_to_values[rv], groups)
        probabilities = pt.special.softmax(terms, axis=-1)
    arrays, leading = _posterior_arrays(idata, model)
    [values] = _vectorized_over_draws(model, [probabilities], arrays)
    values = np.asarray(values)
    values = np.broadcast_to(values, (leading[0] * leading[1],) + values.shape[1:]) if values.shape[0] != leading[0] * leading[1] else values
    values = values.reshape(leading + values.shape[1:])
    observation_dims = list(model.named_vars_to_dims.get(var_name, ()))
    observation_dims = observation_dims[: values.ndim - 3] if observation_dims else []
    observation_dims += [f"{var_name}_dim_{axis}" for axis in range(len(observation_dims), values.ndim - 3)]
    dims = ["chain", "draw", *observation_dims, component_dim]
    coords = {"chain": idata.posterior.chain.values, "draw": idata.posterior.draw.values}
    for dim, length in zip(dims[2:], values.shape[2:]):
        known = model.coords.get(dim)
        coords[dim] = np.asarray(known) if known is not None and len(known) == length else np.arange(length)
    return xarray.DataArray(values, dims=dims, coords=coords, name=f"{var_name}_component_probabilities")


def component_assignments(
    idata: Any, var_name: str, model: Any = None, random_seed: Any = None, component_dim: str = "component"
) -> Any:
    """Draw one component index per posterior draw and observation.

    The index is drawn from :func:`component_probabilities`; ``random_seed``
    makes it reproducible.

    Returns
    -------
    xarray.DataArray
        Integer indices with dims ``(chain, draw, *observation dims)``.
    """
    probabilities = component_probabilities(idata, var_name, model, component_dim)
    rng = np.random.default_rng(validation.as_seed_sequence(random_seed))
    values = probabilities.values
    cumulative = np.cumsum(values, axis=-1)
    uniforms = rng.random(values.shape[:-1] + (1,))
    indices = np.minimum((uniforms > cumulative).sum(axis=-1), values.shape[-1] - 1)
    return probabilities.isel({component_dim: 0}, drop=True).copy(data=indices).rename(f"{var_name}_component")
