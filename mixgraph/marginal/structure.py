"""Is a latent variable's log-density coupling element-wise?

Enumerating ``z`` of shape ``(N,)`` with ``K`` values costs ``K * N`` when
each element of its dependents' log-density terms depends on the matching
element of ``z`` alone, and ``K ** N`` otherwise. The structure is found
numerically, by perturbation: the dependents' terms are evaluated at random
values of every other value variable, once at a random configuration of
``z`` and once with a random half of its elements changed; a term element
that changes where ``z`` did not means the elements are coupled. Three
such trials are made. Random (not initial) values of the other variables are
used so that a symmetric starting point (two equal component means) cannot
hide a coupling. A structural walk over the graph's ops would have to know
every op's indexing semantics; the numerical test needs none, and its cost
is one cheap compile.

A term may have extra axes (``y`` of shape ``(M, N)`` with ``z`` of shape
``(N,)``, or ``(N, M)`` with ``p[z][:, None]``): the latent's axes must appear
in it as one block of axes (found by the same perturbation, the trailing block
first), and the other axes are summed before the log-sum-exp.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pytensor
from pytensor.tensor import TensorVariable

from mixgraph.point import QUICK_MODE

__all__ = ["Coupling", "find_coupling"]

TRIALS = 3


class Coupling(NamedTuple):
    """How a latent's dependents depend on it."""

    elementwise: bool
    summed_axes: dict[str, tuple]  # dependent term name -> its axes summed before the log-sum-exp
    reason: str  # why the elements are coupled ("" if element-wise)


def _random_point(model: Any, point: dict[str, np.ndarray], latent_values: dict, rng: np.random.Generator) -> dict:
    values = {}
    for value in model.value_vars:
        base = np.asarray(point[value.name])
        if value.name in latent_values:
            values[value.name] = latent_values[value.name]
        elif base.dtype.kind in "biu":
            values[value.name] = base
        else:
            values[value.name] = rng.normal(size=base.shape).astype(base.dtype)
    return values


def _candidate_offsets(term_shape: tuple, latent_shape: tuple) -> list[int]:
    """Where the latent's axes may sit among the term's: a contiguous block, the last one first."""
    size = len(latent_shape)
    offsets = range(len(term_shape) - size, -1, -1)
    return [offset for offset in offsets if tuple(term_shape[offset: offset + size]) == tuple(latent_shape)]


def _summed_axes(term_ndim: int, offset: int, latent_ndim: int) -> tuple[int, ...]:
    return tuple(axis for axis in range(term_ndim) if not offset <= axis < offset + latent_ndim)


def _aligned_offsets(first: np.ndarray, second: np.ndarray, changed: np.ndarray, offsets: list[int]) -> list[int]:
    """The offsets at which every element that changed sits where the latent changed."""
    differs = ~np.isclose(first, second, rtol=1e-12, atol=0.0, equal_nan=True)
    kept = []
    for offset in offsets:
        axes = _summed_axes(first.ndim, offset, changed.ndim)
        reduced = differs.any(axis=axes) if axes else differs
        if not np.any(reduced & ~changed):
            kept.append(offset)
    return kept


def _perturbed(configuration: np.ndarray, support: np.ndarray, rng: np.random.Generator) -> tuple:
    changed = rng.random(configuration.shape) < 0.5
    offsets = rng.integers(1, support.size, size=configuration.shape)
    positions = np.searchsorted(support, configuration)
    other = support[(positions + offsets) % support.size]
    return np.where(changed, other, configuration).astype(configuration.dtype), changed


def find_coupling(
    model: Any, latent: TensorVariable, support: np.ndarray, terms: dict[str, TensorVariable],
    dependents: list[str], point: dict[str, np.ndarray], seed: int = 0,
) -> Coupling:
    """Decide whether ``latent`` can be enumerated element by element.

    Parameters
    ----------
    model : Model
        The model in which ``latent`` is a free variable.
    support : numpy.ndarray
        The latent's values.
    terms : dict
        Log-density terms in the value variables (:func:`mixgraph.logprob.model_logp_terms`).
    dependents : list of str
        Names of the terms that depend on the latent.
    point : dict
        A point of the model (for shapes and dtypes).
    """
    value = model.rvs_to_values[latent]
    latent_shape = tuple(np.shape(point[value.name]))
    offsets: dict[str, list[int]] = {}
    inputs = list(model.value_vars)
    function = pytensor.function(inputs, [terms[name] for name in dependents], mode=QUICK_MODE,
                                 on_unused_input="ignore")
    rng = np.random.default_rng(seed)
    for trial in range(TRIALS if support.size > 1 else 1):
        base = rng.choice(support, size=latent_shape).astype(support.dtype)
        other, changed = _perturbed(base, support, rng) if support.size > 1 else (base, np.zeros(latent_shape, bool))
        values = _random_point(model, point, {value.name: base}, rng)
        before = function(**values)
        values[value.name] = other
        after = function(**values)
        for name, first, second in zip(dependents, before, after):
            first, second = np.asarray(first), np.asarray(second)
            candidates = offsets.get(name, _candidate_offsets(first.shape, latent_shape))
            if not candidates and trial == 0:
                return Coupling(False, {}, (
                    f"the log-density of '{name}' has shape {first.shape}, in which the latent's shape "
                    f"{latent_shape} does not appear as a block of axes"
                ))
            offsets[name] = _aligned_offsets(first, second, changed, candidates)
            if not offsets[name]:
                return Coupling(False, {}, (
                    f"an element of the log-density of '{name}' changes when other elements of "
                    f"'{latent.name}' change (its elements are coupled, e.g. through a sum, a reduction "
                    f"or a scalar index)"
                ))
    summed = {name: _summed_axes(len(np.shape(before[index])), offsets[name][0], len(latent_shape))
              for index, name in enumerate(dependents)}
    return Coupling(True, summed, "")
