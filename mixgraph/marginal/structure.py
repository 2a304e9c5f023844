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

A term may have extra *leading* axes (``y`` of shape ``(M, N)`` with
``z`` of shape ``(N,)``): they are summed before the log-sum-exp.
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
    extra_axes: dict[str, int]  # dependent term name -> leading axes summed before enumeration
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


def _shape_mismatch(name: str, term_shape: tuple, latent_shape: tuple) -> str | None:
    tail = term_shape[len(term_shape) - len(latent_shape):] if len(latent_shape) else ()
    if len(term_shape) < len(latent_shape) or tuple(tail) != tuple(latent_shape):
        return (
            f"the log-density of '{name}' has shape {term_shape}, which does not end with the latent's "
            f"shape {latent_shape}"
        )
    return None


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
    extra_axes = {}
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
            mismatch = _shape_mismatch(name, first.shape, latent_shape)
            if mismatch:
                return Coupling(False, {}, mismatch)
            extra_axes[name] = first.ndim - len(latent_shape)
            differs = ~np.isclose(first, second, rtol=1e-12, atol=0.0, equal_nan=True)
            differs = differs.any(axis=tuple(range(extra_axes[name]))) if extra_axes[name] else differs
            if np.any(differs & ~changed):
                return Coupling(False, {}, (
                    f"an element of the log-density of '{name}' changes when other elements of "
                    f"'{latent.name}' change (its elements are coupled, e.g. through a sum, a reduction "
                    f"or a scalar index)"
                ))
    return Coupling(True, extra_axes, "")
