"""Prior draws mapped to the sampler's unconstrained flat space.

Dispersed starting points for optimisers (Pathfinder) and the initial
particles of Sequential Monte Carlo: each free variable is drawn from its
prior (jointly, so that hierarchical priors are respected) and moved to the
unconstrained space by its transform, then flattened in the layout of
:func:`mixgraph.compile.flat_layout`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytensor.tensor as pt

from mixgraph import validation
from mixgraph.compile import FlatLayout, structure_key
from mixgraph.forward import compile_forward_function
from mixgraph.registry import distribution_parameters
from mixgraph.transforms import Chain, OrderedTransform

__all__ = ["PriorDrawError", "prior_draw_stream", "unconstrained_prior_draws"]


class PriorDrawError(ValueError):
    """A free variable's prior cannot be drawn from (e.g. ``Flat``)."""


def _orders_values(transform: Any) -> bool:
    """True for the ordered transform, alone or inside a chain (``Chain([log, ordered])`` for positive values)."""
    if isinstance(transform, Chain):
        return any(_orders_values(part) for part in transform.transforms)
    return isinstance(transform, OrderedTransform)


def _exchangeable(rv: Any) -> bool:
    """True when every parameter is constant along the variable's last axis (given the other parameters)."""
    return all(parameter.type.ndim == 0 or parameter.type.broadcastable[-1]
               for parameter in distribution_parameters(rv))


def _sorted_values(model: Any, layout: FlatLayout, exact: bool) -> frozenset[str]:
    """Value variables drawn sorted along their last axis: the ordered ones, where sorting is allowed.

    Sorted draws follow the prior restricted to increasing values when the
    entries are exchangeable; otherwise only the draws that happen to be sorted
    are exact (the others have no ordered image: callers drop them). Optimiser
    starts (``exact=False``) are sorted anyway. The transforms before
    ``ordered`` in a chain (log, log-odds, interval) are increasing and keep
    the order.
    """
    by_value = {model.rvs_to_values[rv].name: rv for rv in model.free_RVs}
    return frozenset(name for name in layout.names
                     if _orders_values(model.rvs_to_transforms[by_value[name]])
                     and (_exchangeable(by_value[name]) or not exact))


def _unconstrained_outputs(model: Any, layout: FlatLayout, sorted_values: frozenset[str]) -> list:
    by_value = {model.rvs_to_values[rv].name: rv for rv in model.free_RVs}
    outputs = []
    for name in layout.names:
        rv = by_value[name]
        transform = model.rvs_to_transforms[rv]
        value = pt.sort(rv, axis=-1) if name in sorted_values else rv
        if transform is not None:
            value = transform.forward(value, *distribution_parameters(rv))
        outputs.append(pt.cast(value, "float64"))
    return outputs


def _prior_function(model: Any, layout: FlatLayout, exact: bool) -> Any:
    """The compiled forward function of the unconstrained prior draws, kept on the model.

    Compiled once per model structure and set of sorted variables (as
    :func:`mixgraph.compile.compile_numba_logp` keeps the log-density), so that
    repeated ``sample(init="auto")`` calls do not compile it again, nor does an
    ``exact`` request that sorts the same variables; its generators are
    re-seeded at every use.
    """
    cache = model.__dict__.setdefault("_prior_draws_cache", {})
    sorted_values = _sorted_values(model, layout, exact)
    key = (structure_key(model, layout, True), sorted_values)
    if key not in cache:
        cache[key] = compile_forward_function(_unconstrained_outputs(model, layout, sorted_values))
    return cache[key]


def _seed_generators(function: Any, random_seed: Any) -> None:
    """Seed the function's generators from ``random_seed`` in the order of ``compile_forward_function``."""
    generators = [entry.variable for entry in function.maker.inputs if entry.update is not None]
    generators.sort(key=lambda generator: str(generator.auto_name))
    for generator, seed in zip(generators, validation.as_seed_sequence(random_seed).spawn(len(generators))):
        generator.set_value(np.random.default_rng(seed), borrow=True)


def prior_draw_stream(model: Any, layout: FlatLayout, random_seed: Any = None,
                      exact: bool = True) -> Callable[[int], np.ndarray]:
    """A function ``draw(count)`` giving the next ``count`` joint prior draws, unconstrained and flat.

    The generators are seeded once, so that successive calls continue one
    stream: ``draw(16)`` then ``draw(48)`` give the rows of
    ``unconstrained_prior_draws(..., 64, random_seed)``.

    With ``exact=False`` an ordered variable whose entries have different
    priors is drawn sorted too: not its prior restricted to increasing values,
    but a finite start for every draw (the optimiser's starts need no more).

    Raises
    ------
    PriorDrawError
        If some free variable's prior has no random draws (see :func:`unconstrained_prior_draws`).
    """
    try:
        function = _prior_function(model, layout, exact)
    except NotImplementedError as error:
        raise _no_prior_draws(error) from error
    _seed_generators(function, random_seed)

    def draw(count: int) -> np.ndarray:
        try:
            rows = [np.concatenate([np.asarray(value, dtype=np.float64).ravel() for value in function()])
                    for _ in range(int(count))]
        except NotImplementedError as error:
            raise _no_prior_draws(error) from error
        return np.stack(rows) if rows else np.zeros((0, layout.size))

    return draw


def _no_prior_draws(error: Exception) -> PriorDrawError:
    return PriorDrawError(f"cannot draw from the prior of every free variable ({error}); give proper priors "
                          f"or use init='jitter'")


def unconstrained_prior_draws(model: Any, layout: FlatLayout, draws: int, random_seed: Any = None) -> np.ndarray:
    """``draws`` joint prior draws of the free variables, unconstrained and flattened.

    Parameters
    ----------
    model : Model
        A model whose free variables are all continuous (a marginalised model).
    layout : FlatLayout
        The flat layout of the model's value variables.
    draws : int
    random_seed : int, SeedSequence, Generator or None

    Returns
    -------
    ndarray of shape (draws, layout.size)
        Rows may hold non-finite entries where a prior draw falls on the
        boundary of its support (e.g. a weight of exactly 0); callers drop them.

    Raises
    ------
    PriorDrawError
        If some free variable's prior has no random draws (``Flat``,
        ``HalfFlat``, a ``Potential``-only parameterisation).
    """
    return prior_draw_stream(model, layout, random_seed)(draws)
