"""Posterior draws of summed-out latents, from their exact conditional posterior.

At each posterior draw ``theta`` of the marginal model, the conditional
posterior of a latent is ``p(z = v | theta, data) = softmax_v(enumerated
log-densities)`` (the terms inside the marginal log-sum-exp). One value is
drawn per draw (and per element, for an element-wise latent) by inverting
the cumulative distribution with one uniform each, vectorised over all draws
(one pass per support value, over contiguous arrays).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace, vectorize_graph
from pytensor.tensor import TensorVariable

from mixgraph.compile import FlatLayout
from mixgraph.distributions.mixture_op import safe_logsumexp
from mixgraph.draws import evaluate_on_draws
from mixgraph.logprob import constrained_values, model_logp_terms
from mixgraph.marginal.enumerate import MarginalGroup, enumerated_logps
from mixgraph.marginal.markov import (
    is_markov_group,
    markov_posterior_marginals,
    markov_recovery_inputs,
    recover_markov_group,
)
from mixgraph.marginal.markov_likelihood import markov_step_log_likelihood_of
from mixgraph.marginal.support import MarginalizationError
from mixgraph.point import QUICK_MODE
from mixgraph.registry import distribution_parameters

__all__ = ["conditional_log_probabilities", "recover_latents", "recovered_posterior", "latent_deterministics",
           "in_random_variables", "latent_probabilities", "observed_log_likelihood"]


def conditional_log_probabilities(marginal_model: Any) -> list[TensorVariable]:
    """Per latent: ``log p(z = v | everything else)``, normalised over the enumeration axis (axis 0).

    A Markov chain gives its smoothed marginals ``log p(z_t = k | ...)``, shape ``(T, K)``.
    """
    source = marginal_model.marginal_source
    terms = model_logp_terms(source)
    outputs = []
    for group in marginal_model.marginal_groups:
        if is_markov_group(group):
            marginals = markov_posterior_marginals(group, enumerated_logps(group, terms, include_latent=False), source)
            outputs.append(pt.log(marginals))
            continue
        logps = enumerated_logps(group, terms)
        outputs.append(logps - pt.expand_dims(safe_logsumexp(logps, axis=0), 0))
    return outputs


def _recovery_outputs(marginal_model: Any) -> list[list[TensorVariable]]:
    """Per latent, the graphs its draws are made from: normalised log-probabilities, or FFBS's inputs."""
    source = marginal_model.marginal_source
    terms = model_logp_terms(source)
    outputs = []
    for group in marginal_model.marginal_groups:
        if is_markov_group(group):
            outputs.append(markov_recovery_inputs(group, enumerated_logps(group, terms, include_latent=False), source))
        else:
            logps = enumerated_logps(group, terms)
            outputs.append([logps - pt.expand_dims(safe_logsumexp(logps, axis=0), 0)])
    return outputs


def _values_along_axis(member: MarginalGroup) -> np.ndarray:
    """An element-wise member's value at each position of the enumeration axis."""
    return member.configurations.reshape(member.configurations.shape[0], -1)[:, 0]


def _per_element_log_probabilities(group: MarginalGroup, member: MarginalGroup,
                                   log_probabilities: np.ndarray) -> np.ndarray:
    """``(..., *shape, K)`` log-probabilities of each element of ``member`` taking each value."""
    if group.coupling.elementwise:
        leading = log_probabilities.ndim - group.configurations.ndim
        moved = np.moveaxis(log_probabilities, leading, -1)  # (..., *shape, configurations)
        if not group.partners:
            return moved
        one_hot = (_values_along_axis(member)[:, None] == member.support).astype(np.float64)
        with np.errstate(divide="ignore"):
            return np.log(np.exp(moved) @ one_hot)  # summed over the partners' values
    shape = member.configurations.shape[1:]
    flat = member.configurations.reshape(member.configurations.shape[0], -1)
    one_hot = (flat[..., None] == member.support).astype(np.float64)  # (configurations, elements, K)
    with np.errstate(divide="ignore"):
        probabilities = np.einsum("...c,cek->...ek", np.exp(log_probabilities), one_hot)
        marginal = np.log(probabilities)
    return marginal.reshape(log_probabilities.shape[:-1] + shape + (member.support.size,))


def _draw(group: MarginalGroup, log_probabilities: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One configuration per draw (per element, element-wise), as the values of every member."""
    axis = log_probabilities.ndim - group.configurations.ndim if group.coupling.elementwise else -1
    values = np.moveaxis(log_probabilities, axis, 0)  # one contiguous slice per value
    uniforms = rng.random(values.shape[1:])
    index = np.zeros(values.shape[1:], dtype=np.int64)
    cumulative = np.zeros(values.shape[1:])
    for position in range(values.shape[0] - 1):  # inverse-CDF draw: count the values passed
        with np.errstate(invalid="ignore"):
            cumulative += np.nan_to_num(np.exp(values[position]))
        index += uniforms >= cumulative
    if group.coupling.elementwise:
        return {member.latent.name: _values_along_axis(member)[index].astype(member.latent.dtype)
                for member in group.members}
    return {member.latent.name: member.configurations[index].astype(member.latent.dtype) for member in group.members}


RECOVERY_CHUNK = 500
"""Draws evaluated at once in the recovery: arrays of ``chunk * K * N`` values stay in cache."""


def recover_latents(
    marginal_model: Any, layout: FlatLayout, positions: np.ndarray, seed: Any = None, include_logps: bool = False,
) -> dict[str, np.ndarray]:
    """Draw every summed-out latent at every posterior draw.

    Parameters
    ----------
    marginal_model : Model
        From :func:`mixgraph.marginalize`.
    positions : numpy.ndarray
        Unconstrained draws, shape ``(chain, draw, dim)`` in ``layout``.
    seed : int, SeedSequence or None
    include_logps : bool
        Also return ``lp_<name>``: the conditional log-probability of every
        value, shape ``(chain, draw, *shape, K)``.

    Returns
    -------
    dict
        Latent name -> integer draws of shape ``(chain, draw, *shape)``.
    """
    groups = marginal_model.marginal_groups
    if positions.shape[1] == 0:
        return {member.latent.name: np.zeros(positions.shape[:2] + member.configurations.shape[1:],
                                             dtype=member.latent.dtype)
                for group in groups for member in group.members}
    counts = [3 if is_markov_group(group) else 1 for group in groups]
    flat = positions.reshape((-1, positions.shape[-1]))
    chunks = [evaluate_on_draws(marginal_model, layout,
                                lambda: [graph for outputs in _recovery_outputs(marginal_model) for graph in outputs],
                                flat[start: start + RECOVERY_CHUNK], purpose="marginal-recover")
              for start in range(0, flat.shape[0], RECOVERY_CHUNK)]
    values = [np.concatenate(parts).reshape(positions.shape[:2] + parts[0].shape[1:]) for parts in zip(*chunks)]
    rng = np.random.default_rng(seed)
    recovered = {}
    starts = np.cumsum([0] + counts)
    for group, start, count in zip(groups, starts, counts):
        if is_markov_group(group):
            path, smoothed = recover_markov_group(group, *values[start: start + count], rng, include_logps)
            recovered[group.latent.name] = path.astype(group.latent.dtype)
            if include_logps:
                recovered[f"lp_{group.latent.name}"] = smoothed
            continue
        recovered.update(_draw(group, values[start], rng))
        if include_logps:
            for member in group.members:
                recovered[f"lp_{member.latent.name}"] = _per_element_log_probabilities(group, member, values[start])
    return recovered


def latent_deterministics(
    marginal_model: Any, layout: FlatLayout, positions: np.ndarray, recovered: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """The deterministics of the source model that depend on a latent, at every draw."""
    source = marginal_model.marginal_source
    kept = set(marginal_model.deterministics)
    missing = [variable for variable in source.deterministics if variable not in kept]
    if not missing or positions.shape[1] == 0:
        return {}
    graphs = graph_replace(missing, constrained_values(source), strict=False)
    position = pt.vector("position", dtype="float64")
    value_by_name = {value.name: value for value in marginal_model.value_vars}
    pieces = {value_by_name[name]: position[offset: offset + int(np.prod(shape, dtype=int))].reshape(shape)
              for name, shape, offset in zip(layout.names, layout.shapes, layout.offsets)}
    graphs = graph_replace(graphs, pieces, strict=False)
    groups = [member for group in marginal_model.marginal_groups for member in group.members]
    batch = pt.matrix("positions", dtype="float64")
    latent_batches = [pt.tensor(dtype=group.latent.dtype, shape=(None,) * (group.value.ndim + 1)) for group in groups]
    replacements = {position: batch, **{group.value: latent for group, latent in zip(groups, latent_batches)}}
    function = pytensor.function([batch, *latent_batches], vectorize_graph(graphs, replacements), mode=QUICK_MODE,
                                 on_unused_input="ignore")
    leading = positions.shape[:2]
    flat = [recovered[group.latent.name].reshape((-1,) + recovered[group.latent.name].shape[2:]) for group in groups]
    results = function(positions.reshape((-1, positions.shape[-1])), *flat)
    return {variable.name: np.asarray(result).reshape(leading + np.shape(result)[1:])
            for variable, result in zip(missing, results)}


def in_random_variables(marginal_model: Any, graphs: list[TensorVariable]) -> list[TensorVariable]:
    """Rewrite graphs in value variables as graphs in the free random variables (constrained)."""
    replacements = {}
    for rv in marginal_model.free_RVs:
        transform = marginal_model.rvs_to_transforms[rv]
        value = marginal_model.rvs_to_values[rv]
        replacements[value] = rv if transform is None else transform.forward(rv, *distribution_parameters(rv))
    return graph_replace(graphs, replacements, strict=False)


def latent_probabilities(marginal_model: Any, latent_name: str) -> tuple[TensorVariable, MarginalGroup]:
    """``p(z = v | rest)`` of one latent as a graph in the free random variables, values on the last axis.

    Element-wise latents give shape ``(*shape, K)``; jointly enumerated ones
    give the per-element marginal probabilities, of the same shape.
    """
    names = [name for group in marginal_model.marginal_groups for name in group.latent_names]
    if latent_name not in names:
        raise KeyError(f"'{latent_name}' is not a summed-out latent of the model (those are {names})")
    index = next(position for position, group in enumerate(marginal_model.marginal_groups)
                 if latent_name in group.latent_names)
    group = marginal_model.marginal_groups[index]
    member = group.members[group.latent_names.index(latent_name)]
    [log_probabilities] = in_random_variables(marginal_model, [conditional_log_probabilities(marginal_model)[index]])
    probabilities = pt.exp(log_probabilities)
    if is_markov_group(group):  # already (*batch, T, K)
        return probabilities, group
    if group.coupling.elementwise:
        moved = pt.moveaxis(probabilities, 0, -1)
        if not group.partners:
            return moved, member
        one_hot = pt.constant((_values_along_axis(member)[:, None] == member.support).astype(np.float64))
        return pt.dot(moved, one_hot), member  # summed over the partners' values
    flat = member.configurations.reshape(member.configurations.shape[0], -1)
    one_hot = pt.constant((flat[..., None] == member.support).astype(np.float64))
    per_element = pt.sum(probabilities[:, None, None] * one_hot, axis=0)
    return per_element.reshape(member.configurations.shape[1:] + (member.support.size,)), member


def recovered_posterior(
    marginal_model: Any, layout: FlatLayout, positions: np.ndarray, seed: Any = None, include_logps: bool = False,
) -> dict[str, np.ndarray]:
    """The latents (:func:`recover_latents`) and the deterministics that depend on them, at every draw."""
    recovered = recover_latents(marginal_model, layout, positions, seed, include_logps)
    recovered.update(latent_deterministics(marginal_model, layout, positions, recovered))
    return recovered


def observed_log_likelihood(marginal_model: Any, names: list[str]) -> list[TensorVariable]:
    """The marginal element-wise log-likelihood of observed variables, as graphs in the free random variables.

    An observed variable that is the only dependent of a summed-out latent
    gets the latent's marginal term (its Mixture log-density). The emissions
    of a hidden Markov chain get the one-step-ahead predictive log-densities
    ``log p(y_t | y_0..y_{t-1}, theta)`` (:mod:`mixgraph.marginal.markov_likelihood`).

    Raises
    ------
    MarginalizationError
        For an observed variable that shares its latent with other
        dependents: its log-likelihood does not split from theirs.
    """
    terms = model_logp_terms(marginal_model, jacobian=False)
    for name in names:
        markov = [group for group in marginal_model.marginal_groups if is_markov_group(group) and name in group.dependents]
        if markov:
            terms[name] = markov_step_log_likelihood_of(marginal_model, markov[0], name)
            continue
        if name not in terms:
            group = next(group for group in marginal_model.marginal_groups if name in group.dependents)
            raise MarginalizationError(
                f"the log-likelihood of '{name}' cannot be split from those of {list(group.dependents)}: "
                f"all depend on the summed-out latent(s) {list(group.latent_names)}. Ask for the "
                f"log-likelihood of a model in which each latent has a single dependent."
            )
    return in_random_variables(marginal_model, [terms[name] for name in names])

