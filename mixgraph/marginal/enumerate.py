"""Sum finite discrete latent variables out of a model's joint log-density.

For a latent ``z`` with values ``v_1..v_K`` and dependents ``D`` (every
log-density term whose graph contains ``z``), the marginal term is

.. math:: \\log \\sum_k \\exp\\Big(\\log p(z = v_k) + \\sum_{d \\in D} \\log p(d \\mid z = v_k)\\Big),

taken element by element when the dependents allow it
(:mod:`mixgraph.marginal.structure`), and over every joint configuration of
``z`` otherwise (at most :data:`MAX_JOINT_CONFIGURATIONS`). The enumeration
replaces ``z``'s value by a constant with one extra leading axis holding the
values, through PyTensor's ``vectorize_graph``. Latents that share a
dependent, or depend on each other, are enumerated together on one axis
(:mod:`mixgraph.marginal.joint`): the group's ``partners``.

:func:`marginalize` returns a *marginal model*: a copy of the model without
the latents among its free variables, whose log-density terms are those
above. :func:`mixgraph.logprob.model_logp_terms` asks it for its terms.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.replace import vectorize_graph
from pytensor.graph.traversal import ancestors
from pytensor.tensor import TensorVariable

from mixgraph.distributions.markov import DiscreteMarkovChainRV
from mixgraph.distributions.mixture_op import safe_logsumexp
from mixgraph.logprob import model_logp_terms
from mixgraph.marginal.joint import merge_groups
from mixgraph.marginal.markov import is_markov_group, markov_marginal_term
from mixgraph.marginal.structure import Coupling, find_coupling
from mixgraph.marginal.support import MarginalizationError, finite_support, is_discrete
from mixgraph.point import initial_point

__all__ = [
    "MAX_JOINT_CONFIGURATIONS",
    "MarginalGroup",
    "marginalize",
    "discrete_latents",
    "enumerated_logps",
    "is_marginal",
]

MAX_JOINT_CONFIGURATIONS = 4096
"""A latent whose elements are coupled is enumerated jointly up to this many configurations."""


class MarginalGroup(NamedTuple):
    """One latent variable summed out, with what it was summed against."""

    latent: TensorVariable
    value: TensorVariable  # its value variable in the source model
    support: np.ndarray  # (K,)
    dependents: tuple[str, ...]  # names of the log-density terms that depend on it
    coupling: Coupling
    configurations: np.ndarray  # (K, *shape) element-wise, (K ** size, *shape) jointly
    # Latents enumerated on the same axis as this one (:mod:`mixgraph.marginal.joint`), each a
    # MarginalGroup whose ``configurations`` are aligned with these along axis 0.
    partners: tuple = ()

    @property
    def members(self) -> tuple:
        """This group and its partners: every latent summed out by this term."""
        return (self, *self.partners)

    @property
    def latent_names(self) -> tuple[str, ...]:
        return tuple(member.latent.name for member in self.members)

    @property
    def term_name(self) -> str:
        """The name of the marginal term: its observed dependent's, if it has only one."""
        if len(self.dependents) == 1:
            return self.dependents[0]
        return f"{'_'.join(self.latent_names)}_marginal"


def is_marginal(model: Any) -> bool:
    """Whether ``model`` is a marginal model built by :func:`marginalize`."""
    return bool(getattr(model, "marginal_groups", ()))


def discrete_latents(model: Any) -> list[TensorVariable]:
    """The free discrete variables of ``model``, in registration order."""
    return [rv for rv in model.free_RVs if is_discrete(rv)]


def enumerated_logps(group: MarginalGroup, terms: dict[str, TensorVariable], include_latent: bool = True) -> TensorVariable:
    """``log p(z = v) + sum of the dependents' terms`` at every enumerated value ``v``.

    Returns shape ``(K, *latent shape)`` element-wise and ``(configurations,)``
    jointly. With ``include_latent=False``, only the dependents' terms (the
    emission log-likelihoods of a Markov chain).
    """
    members = group.members
    pieces = [terms[member.latent.name] for member in members] + [terms[name] for name in group.dependents]
    enumerated = {member.value: pt.constant(member.configurations) for member in members}
    vectorized = vectorize_graph(pieces, enumerated)
    if not group.coupling.elementwise:  # every term summed to one value per configuration
        return pt.add(*[pt.sum(term, axis=tuple(range(1, term.ndim))) if term.ndim > 1 else term
                        for term in vectorized])
    # element-wise members share one shape
    total = pt.add(*vectorized[: len(members)]) if include_latent else pt.zeros(group.configurations.shape)
    for name, term in zip(group.dependents, vectorized[len(members):]):
        axes = tuple(axis + 1 for axis in group.coupling.summed_axes[name])  # after the enumeration axis
        total = total + (pt.sum(term, axis=axes) if axes else term)
    return total


def _marginal_term(source: Any, group: MarginalGroup, terms: dict) -> TensorVariable:
    if is_markov_group(group):  # the forward algorithm over the per-state emissions
        return markov_marginal_term(group, enumerated_logps(group, terms, include_latent=False), source)
    return safe_logsumexp(enumerated_logps(group, terms), axis=0)


def marginal_logp_terms(source: Any, groups: Sequence[MarginalGroup], *, jacobian: bool = True) -> dict:
    """The log-density terms of the marginal model (the hook of :func:`~mixgraph.logprob.model_logp_terms`)."""
    terms = model_logp_terms(source, jacobian=jacobian)
    marginal_terms = {}
    for group in groups:
        marginal_terms[group.term_name] = _marginal_term(source, group, terms)
    for group in groups:
        for name in (*group.latent_names, *group.dependents):
            terms.pop(name)
    terms.update(marginal_terms)
    return terms


def _dependents(latent: TensorVariable, value: TensorVariable, terms: dict) -> tuple[str, ...]:
    return tuple(name for name, term in terms.items()
                 if name != latent.name and value in ancestors([term]))


def _configurations(latent: TensorVariable, support: np.ndarray, shape: tuple, coupling: Coupling) -> np.ndarray:
    if coupling.elementwise:
        return np.broadcast_to(support.reshape((-1,) + (1,) * len(shape)), (support.size,) + shape).copy()
    size = int(np.prod(shape, dtype=int))
    count = support.size ** size
    if count > MAX_JOINT_CONFIGURATIONS:
        raise MarginalizationError(
            f"Variable '{latent.name}' cannot be summed out element by element: {coupling.reason}. "
            f"Enumerating it jointly needs {support.size}**{size} = {count} configurations, more than "
            f"{MAX_JOINT_CONFIGURATIONS}. Options: make each element of its dependents depend on one "
            f"element of '{latent.name}' only (index a parameter with it, mu[{latent.name}]), use fewer "
            f"elements or values, or write the likelihood as a Mixture."
        )
    combinations = np.array(list(itertools.product(support, repeat=size)), dtype=support.dtype)
    return combinations.reshape((count,) + shape)


def _check_markov_alone(groups: list[MarginalGroup]) -> None:
    """A Markov chain is summed out by the forward algorithm on its own; it cannot share a joint axis."""
    for group in groups:
        chains = [member.latent.name for member in group.members
                  if isinstance(member.latent.owner.op, DiscreteMarkovChainRV)]
        if chains and group.partners:
            raise MarginalizationError(
                f"The hidden Markov chain '{chains[0]}' shares a dependent with the latent(s) "
                f"{[name for name in group.latent_names if name != chains[0]]}: a chain is summed out by "
                f"the forward algorithm on its own. Give each its own dependents, or fold the other "
                f"latent into the chain's states (a chain over pairs of states)."
            )


def _group(model: Any, latent: TensorVariable, terms: dict, point: dict) -> MarginalGroup:
    support = finite_support(latent)
    value = model.rvs_to_values[latent]
    dependents = _dependents(latent, value, terms)
    coupling = find_coupling(model, latent, support, terms, list(dependents), point)
    shape = tuple(np.shape(point[value.name]))
    return MarginalGroup(latent, value, support, dependents, coupling,
                         _configurations(latent, support, shape, coupling))


def _resolve(model: Any, var_names: Sequence[str] | None) -> list[TensorVariable]:
    if var_names is None:
        return discrete_latents(model)
    latents = []
    for name in ([var_names] if isinstance(var_names, str) else var_names):
        rv = model[name]
        if rv not in model.free_RVs:
            raise MarginalizationError(f"marginalize: '{name}' is not a free variable of the model")
        if not is_discrete(rv):
            raise MarginalizationError(
                f"marginalize: '{name}' is continuous ({type(rv.owner.op).__name__}); only discrete "
                f"variables with finite support can be summed out"
            )
        latents.append(rv)
    return latents


def _cache_key(model: Any, latents: list) -> tuple:
    lengths = tuple(sorted((name, int(length.get_value())) for name, length in model.dim_lengths.items()))
    shapes = tuple(np.shape(variable.get_value(borrow=True)) for variable in model.data_vars)
    return (tuple(rv.name for rv in latents), len(model.free_RVs), len(model.observed_RVs),
            len(model.potentials), len(model.deterministics), lengths, shapes)


def _marginal_copy(model: Any, groups: list[MarginalGroup]) -> Any:
    latents = {member.latent for group in groups for member in group.members}
    latent_values = [member.value for group in groups for member in group.members]
    copy = object.__new__(type(model))
    copy.__dict__.update({key: value for key, value in model.__dict__.items() if not key.startswith("_")})
    copy.parent, copy._prefix = None, ""
    copy.free_RVs = [rv for rv in model.free_RVs if rv not in latents]
    copy.observed_RVs = list(model.observed_RVs)
    copy.potentials = list(model.potentials)
    copy.deterministics = [variable for variable in model.deterministics
                           if not any(value in ancestors([variable]) for value in latent_values)
                           and not any(latent in ancestors([variable]) for latent in latents)]
    copy.marginal_groups = tuple(groups)
    copy.marginal_source = model
    copy.marginal_logp_terms = functools.partial(marginal_logp_terms, model, tuple(groups))
    return copy


def marginalize(model: Any = None, var_names: Sequence[str] | None = None) -> Any:
    """Return ``model`` with discrete latent variables summed out of its log-density.

    Parameters
    ----------
    model : Model, optional
        The model (default: the one of the ``with`` block).
    var_names : sequence of str, optional
        The latents to sum out (default: every free discrete variable).

    Returns
    -------
    Model
        A copy whose free variables exclude the latents: its ``logp()``,
        ``compile_logp()`` and :func:`mixgraph.sample` see the marginal
        density. It is ``model`` itself when there is nothing to sum out.

    Raises
    ------
    MarginalizationError
        Naming the variable: infinite support (Poisson, ...), a support that
        depends on another random variable, coupled elements with too many
        joint configurations, latents that depend on each other.
    """
    from mixgraph.model import modelcontext

    model = modelcontext(model)
    latents = _resolve(model, var_names)
    if not latents:
        return model
    cache = model.__dict__.setdefault("_marginal_model_cache", {})
    key = _cache_key(model, latents)
    if key not in cache:
        for latent in latents:
            finite_support(latent)  # the clearest error first: infinite support
        terms = model_logp_terms(model)
        point = initial_point(model)
        groups = [_group(model, latent, terms, point) for latent in latents]
        groups = merge_groups(groups, MAX_JOINT_CONFIGURATIONS)
        _check_markov_alone(groups)
        cache[key] = _marginal_copy(model, groups)
    return cache[key]
