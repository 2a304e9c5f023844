"""Checks of the arguments of the entry points, at the call that receives them.

``sample()``, ``find_MAP()``, ``sample_prior_predictive()`` and
``sample_posterior_predictive()`` call these before any work, so that a bad
argument is an error naming the argument, its value and the fix, instead of
a strange result later (``target_accept=1.5`` once sampled with a step size of
1e-26; ``draws=-1`` returned an empty posterior). Each error is listed in
``docs/guide/errors.md``.

This module imports only NumPy and PyTensor's graph utilities: it knows the
model only through its attributes (``free_RVs``, ``rvs_to_values``,
``rvs_to_transforms``).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

from mixgraph.registry import SUPPORT_POINT, distribution_parameters

__all__ = [
    "FreeDiscreteError",
    "check_count",
    "check_open_unit_interval",
    "as_seed_sequence",
    "reject_pymc_keywords",
    "check_free_discrete",
    "check_initval_names",
    "expected_shapes",
    "check_initial_value_shapes",
    "check_initial_value_support",
]

_PYMC_SAMPLE_KEYWORDS = {
    "step": (
        "mixgraph samples every free variable with its own NUTS sampler; there are no step "
        "methods to choose. Drop step=; use target_accept= and max_tree_depth= to tune NUTS."
    ),
    "nuts_sampler": "mixgraph has one NUTS sampler (Numba-compiled); drop nuts_sampler=.",
    "return_inferencedata": "mixgraph always returns an arviz.InferenceData; drop return_inferencedata=.",
    "n_init": (
        "mixgraph has no ADVI initialisation, so n_init= has no meaning; drop it. init='auto' (the "
        "default) starts the chains from multi-path Pathfinder."
    ),
}


class FreeDiscreteError(TypeError):
    """A free (unobserved) discrete variable, which NUTS cannot sample."""


def check_count(name: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer ``>= minimum``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (``bool`` and floats such as ``100.0``
        are rejected, as PyMC rejects them).
    ValueError
        If ``value < minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {value!r} of type {type(value).__name__}; "
            f"pass int({value!r}) if that is what you mean."
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}.")
    return int(value)


def check_open_unit_interval(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking ``0 < value < 1``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number strictly between 0 and 1, got {value!r}.")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(
            f"{name} must be strictly between 0 and 1, got {value}; typical values are 0.8 "
            f"(the default) to 0.99 (smaller steps, for models that diverge)."
        )
    return float(value)


def as_seed_sequence(random_seed: Any, name: str = "random_seed") -> np.random.SeedSequence:
    """Turn any accepted seed into a ``numpy.random.SeedSequence``.

    Accepted: ``None`` (fresh entropy), a non-negative integer, a sequence of
    non-negative integers, a ``SeedSequence`` (returned as is: spawning from it
    twice gives different streams), a ``numpy.random.Generator`` or a
    ``numpy.random.RandomState``. A generator is advanced by one draw of
    entropy, so the same generator state gives the same result.

    Raises
    ------
    TypeError
        For any other type.
    ValueError
        For a negative integer.
    """
    if random_seed is None or isinstance(random_seed, np.random.SeedSequence):
        return random_seed if random_seed is not None else np.random.SeedSequence()
    if isinstance(random_seed, np.random.Generator):
        return np.random.SeedSequence(random_seed.integers(0, 2**63, size=4, dtype=np.uint64).tolist())
    if isinstance(random_seed, np.random.RandomState):
        return np.random.SeedSequence(random_seed.randint(0, 2**63, size=4, dtype=np.uint64).tolist())
    if _is_integer(random_seed) or _is_integer_sequence(random_seed):
        entropy = [int(random_seed)] if _is_integer(random_seed) else [int(item) for item in random_seed]
        if any(item < 0 for item in entropy):
            raise ValueError(f"{name} must be non-negative, got {random_seed!r}.")
        return np.random.SeedSequence(entropy)
    raise TypeError(
        f"{name} must be None, an int, a numpy.random.SeedSequence, a numpy.random.Generator or "
        f"a numpy.random.RandomState, got {random_seed!r} of type {type(random_seed).__name__}."
    )


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_integer_sequence(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and value.size > 0 and value.dtype.kind in "iu"
    return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
            and all(_is_integer(item) for item in value))


def reject_pymc_keywords(function: str, keywords: dict) -> None:
    """Raise ``TypeError`` for keywords ``function`` does not take, with a hint for PyMC's."""
    for keyword in keywords:
        hint = _PYMC_SAMPLE_KEYWORDS.get(keyword)
        if hint is not None:
            raise TypeError(f"{function}() got the PyMC keyword {keyword}=: {hint}")
        raise TypeError(f"{function}() got an unexpected keyword argument {keyword!r}.")


def check_free_discrete(model: Any) -> None:
    """Raise :class:`FreeDiscreteError` naming the first free discrete variable.

    NUTS and the optimiser move continuous values only. ``sample()`` first
    sums finite discrete latents out (:func:`mixgraph.marginalize`), which
    raises its own error for the others, so there this is a safety net;
    ``find_MAP()`` optimises the variables as given, so it raises here.
    """
    for rv in model.free_RVs:
        if rv.dtype.startswith(("int", "uint", "bool")):
            kind = type(rv.owner.op).__name__.removesuffix("RV")
            raise FreeDiscreteError(
                f"Variable '{rv.name}' ({kind}) is a free discrete variable: mixgraph samples "
                f"with NUTS, which moves continuous values only, and has no discrete sampler. "
                f"Sum it out first with mg.marginalize(model, [{rv.name!r}]) (which sample() does "
                f"by itself), write the likelihood as a mixture (mg.Mixture or mg.NormalMixture "
                f"over its values, see docs/guide/mixtures.md), or give it observed= if its "
                f"values are data."
            )


def _summed_out_message(argument: str, name: str, fix: str) -> str:
    return (f"{argument}: {name!r} is a discrete latent that is summed out of the log-density, so NUTS "
            f"never samples it and it takes no starting value; its posterior values are drawn after "
            f"sampling, from its exact conditional posterior. Fix: {fix}.")


def check_initval_names(model: Any, initvals: dict | None, argument: str = "initvals") -> None:
    """Check that every key of ``initvals`` names a free variable of ``model``.

    A value-variable name such as ``"sigma_log__"`` is rejected with the
    name to use instead: initial values are always given in the constrained
    space, under the variable's own name. A summed-out discrete latent (of a
    marginal model) takes no starting value, neither here nor as ``initval=``.
    """
    summed_out = [name for group in getattr(model, "marginal_groups", ()) for name in group.latent_names]
    source = getattr(model, "marginal_source", None)
    for name in summed_out:
        if source.rvs_to_initial_values.get(source[name]) is not None:
            raise ValueError(_summed_out_message("initval", name, f"remove initval= from {name!r}"))
    if not initvals:
        return
    free_names = [rv.name for rv in model.free_RVs]
    transformed = {model.rvs_to_values[rv].name: rv.name for rv in model.free_RVs
                   if model.rvs_to_values[rv].name != rv.name}
    for name in initvals:
        if name in free_names:
            continue
        if name in transformed:
            raise ValueError(
                f"{argument}: {name!r} is the name of the unconstrained (transformed) value of "
                f"{transformed[name]!r}; give the constrained value under {transformed[name]!r} "
                f"instead, e.g. {argument}={{{transformed[name]!r}: 1.0}}."
            )
        if name in summed_out:
            raise ValueError(_summed_out_message(argument, name, f"remove {name!r} from {argument}"))
        raise ValueError(
            f"{argument}: {name!r} is not a free variable of the model; the free variables "
            f"are {free_names}."
        )


def expected_shapes(rvs: Sequence[Any]) -> list[tuple[int, ...]]:
    """The concrete shapes of random variables, without drawing them.

    Static shapes are used when fully known; otherwise the shapes of the
    variables' support points (which have the variables' shapes) are
    evaluated in one quickly compiled function.
    """
    shapes: list[Any] = [rv.type.shape if None not in rv.type.shape else None for rv in rvs]
    unknown = [index for index, shape in enumerate(shapes) if shape is None]
    if unknown:
        outputs = [pt.shape(SUPPORT_POINT.get(rvs[index].owner.op)(rvs[index], *distribution_parameters(rvs[index])))
                   for index in unknown]
        function = pytensor.function([], outputs, mode=Mode(linker="py", optimizer="fast_compile"))
        for index, shape in zip(unknown, function()):
            shapes[index] = shape
    return [tuple(int(length) for length in shape) for shape in shapes]


def check_initial_value_shapes(given: dict, argument: str) -> None:
    """Raise ``ValueError`` if a given initial value's shape is not its variable's shape.

    Parameters
    ----------
    given : dict
        Random variable -> the initial value given for it.
    argument : str
        ``"initvals"`` or ``"initval"``, named in the message.
    """
    rvs = list(given)
    for rv, expected in zip(rvs, expected_shapes(rvs)):
        shape = np.shape(given[rv])
        if shape != expected:
            raise ValueError(
                f"Variable '{rv.name}': the {argument} given has shape {shape}, but the variable "
                f"has shape {expected}. Give an initial value of shape {expected}."
            )


def check_initial_value_support(
    rv: Any, value: Any, unconstrained: np.ndarray, value_name: str, argument: str
) -> None:
    """Raise ``ValueError`` if a given initial value is outside its variable's support.

    The transform to the unconstrained space is undefined (NaN or infinite)
    outside the support: ``log(-1)`` for a negative scale.
    """
    if np.all(np.isfinite(unconstrained)):
        return
    shown = np.array2string(np.asarray(value), threshold=8)
    raise ValueError(
        f"Variable '{rv.name}': the {argument} given, {shown}, is outside the variable's support "
        f"({type(rv.owner.op).__name__.removesuffix('RV')}): the unconstrained value {value_name} = "
        f"{np.array2string(np.asarray(unconstrained), threshold=8)} is not finite. Give a value inside "
        f"the support (positive for a scale, strictly increasing along the last axis for an "
        f"ordered transform, on the simplex for a simplex)."
    )
