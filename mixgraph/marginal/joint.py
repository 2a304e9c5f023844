"""Discrete latents that are coupled to each other are enumerated together, on one axis.

Two latents are coupled when a log-density term depends on both (``z1`` and
``z2`` both index parameters of ``y``: ``mu[z1] + nu[z2]``) or when one
latent's own term depends on the other (``p=switch(z1, 0.2, 0.8)`` for
``z2``). Summing them out one at a time would be wrong (the log-sum-exp of a
shared term does not split), so each connected set of coupled latents
becomes one group whose enumeration axis runs over their joint values:

- **element by element** when the latents have one shape and every shared
  term is element-wise in each of them (the test of
  :mod:`mixgraph.marginal.structure`): ``K1 * K2`` values per element, the
  cost ``K1 * K2 * N``;
- **jointly** otherwise, over every configuration of all their elements,
  ``K1 ** N1 * K2 ** N2`` values, if there are at most
  :data:`~mixgraph.marginal.enumerate.MAX_JOINT_CONFIGURATIONS`; beyond that, a
  :class:`~mixgraph.marginal.support.MarginalizationError` names the
  variables, what couples them, and the options.

The first latent of a set carries the group (its dependents and coupling);
the others are its ``partners``, with configurations aligned along axis 0.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from mixgraph.marginal.structure import Coupling
from mixgraph.marginal.support import MarginalizationError

__all__ = ["coupled_sets", "merge_groups"]


def coupled_sets(groups: list) -> list[list]:
    """Connected sets of latents that share a dependent or depend on each other, in model order."""
    names = [group.latent.name for group in groups]
    parent = list(range(len(groups)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner_of: dict[str, int] = {}
    for index, group in enumerate(groups):
        for name in group.dependents:
            linked = [owner_of[name]] if name in owner_of else []
            linked += [names.index(name)] if name in names else []  # a latent depending on this one
            for other in linked:
                parent[root(other)] = root(index)
            owner_of.setdefault(name, index)
    sets: dict[int, list] = {}
    for index, group in enumerate(groups):
        sets.setdefault(root(index), []).append(group)
    return sorted(sets.values(), key=lambda members: groups.index(members[0]))


def _shared_description(members: list) -> str:
    """Which term couples which latents, for the error message."""
    latent_names = [member.latent.name for member in members]
    parts = []
    seen: dict[str, list[str]] = {}
    for member in members:
        for name in member.dependents:
            seen.setdefault(name, []).append(member.latent.name)
    for name, owners in seen.items():
        if name in latent_names:
            parts.append(f"'{name}' depends on {', '.join(repr(owner) for owner in owners)}")
        elif len(owners) > 1:
            parts.append(f"'{name}' depends on {' and '.join(repr(owner) for owner in owners)}")
    return "; ".join(parts)


def _joint_coupling(members: list, dependents: tuple[str, ...], shared: str) -> Coupling:
    """Element-wise when every member is, the shapes agree and each dependent's summed axes agree."""
    shapes = {member.configurations.shape[1:] for member in members}
    not_elementwise = [member for member in members if not member.coupling.elementwise]
    if not_elementwise:
        return Coupling(False, {}, f"{shared}; {not_elementwise[0].coupling.reason}")
    if len(shapes) > 1:
        described = ", ".join(f"'{member.latent.name}' {member.configurations.shape[1:]}" for member in members)
        return Coupling(False, {}, f"{shared}, and their shapes differ ({described})")
    summed: dict[str, tuple] = {}
    for member in members:
        for name, axes in member.coupling.summed_axes.items():
            if name in dependents and summed.setdefault(name, axes) != axes:
                return Coupling(False, {}, f"{shared}, along different axes of '{name}'")
    return Coupling(True, summed, "")


def _elementwise_configurations(members: list) -> list[np.ndarray]:
    """``(K1 * K2 * ..., *shape)`` per member: every combination of values, the same at each element."""
    shape = members[0].configurations.shape[1:]
    grid = np.array(list(itertools.product(*[member.support for member in members])))  # (C, members)
    return [np.broadcast_to(grid[:, index].reshape((-1,) + (1,) * len(shape)), (grid.shape[0],) + shape)
            .astype(member.support.dtype) for index, member in enumerate(members)]


def _joint_configurations(members: list, coupling: Coupling, limit: int) -> list[np.ndarray]:
    """Every configuration of every element of every member, split back into the members' shapes."""
    shapes = [tuple(member.configurations.shape[1:]) for member in members]
    sizes = [int(np.prod(shape, dtype=int)) for shape in shapes]
    count = int(np.prod([float(member.support.size) ** size for member, size in zip(members, sizes)]))
    if count > limit:
        names = " and ".join(f"'{member.latent.name}'" for member in members)
        formula = " * ".join(f"{member.support.size}**{size}" for member, size in zip(members, sizes))
        raise MarginalizationError(
            f"The discrete latents {names} are coupled and cannot be summed out element by element: "
            f"{coupling.reason}. Enumerating them jointly needs {formula} = {count} configurations, more "
            f"than {limit}. Options: give them one shape and make each element of the shared dependent "
            f"depend on the matching elements only (mu[{members[0].latent.name}] + "
            f"nu[{members[1].latent.name}]), combine them into one Categorical over their pairs of values, "
            f"use fewer elements or values, or write the likelihood as a Mixture."
        )
    combinations = itertools.product(*[itertools.product(member.support, repeat=size)
                                       for member, size in zip(members, sizes)])
    rows = list(combinations)
    return [np.array([row[index] for row in rows], dtype=member.support.dtype).reshape((count,) + shape)
            for index, (member, shape) in enumerate(zip(members, shapes))]


def _joint_group(members: list, limit: int) -> Any:
    latent_names = [member.latent.name for member in members]
    dependents = tuple(dict.fromkeys(name for member in members for name in member.dependents
                                     if name not in latent_names))
    shared = _shared_description(members)
    coupling = _joint_coupling(members, dependents, shared)
    if coupling.elementwise:
        configurations = _elementwise_configurations(members)
    else:
        configurations = _joint_configurations(members, coupling, limit)
    partners = tuple(member._replace(dependents=(), configurations=values, partners=())
                     for member, values in zip(members[1:], configurations[1:]))
    return members[0]._replace(dependents=dependents, coupling=coupling, configurations=configurations[0],
                               partners=partners)


def merge_groups(groups: list, limit: int) -> list:
    """One group per connected set of coupled latents (:func:`coupled_sets`); lone latents unchanged.

    Parameters
    ----------
    groups : list of MarginalGroup
        One per latent, each with the coupling found for that latent alone.
    limit : int
        The largest number of joint configurations enumerated.

    Raises
    ------
    MarginalizationError
        When a coupled set is not element-wise and has more than ``limit``
        joint configurations.
    """
    return [members[0] if len(members) == 1 else _joint_group(members, limit) for members in coupled_sets(groups)]
