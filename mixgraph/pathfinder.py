"""``fit_pathfinder()``: multi-path Pathfinder variational inference, returning InferenceData.

Pathfinder (Zhang, Carpenter, Gelman and Vehtari 2022, JMLR 23(306)) runs
L-BFGS from dispersed starts (prior draws in the unconstrained space), keeps
along each path the normal approximation with the best ELBO, and resamples
the draws of all paths by Pareto-smoothed importance weights. The algorithm
lives in :mod:`mixgraph.init.multipath`; this module is its model-level
entry point, as :mod:`mixgraph.optimize` is ``find_MAP``'s.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from mixgraph import marginal, validation
from mixgraph.compile import compile_numba_logp, flat_layout
from mixgraph.init.multipath import multi_path
from mixgraph.init.starts import dispersed_starts
from mixgraph.inference_data import constant_data, observed_data, to_inference_data
from mixgraph.model import modelcontext
from mixgraph.point import initial_point
from mixgraph.results import posterior_values

__all__ = ["fit_pathfinder"]


def _checked(num_paths, num_draws, num_draws_per_path, num_elbo_draws, maxiter, unknown) -> tuple:
    validation.reject_pymc_keywords("fit_pathfinder", unknown)
    return (
        validation.check_count("num_paths", num_paths, 1),
        validation.check_count("num_draws", num_draws, 1),
        validation.check_count("num_draws_per_path", num_draws_per_path, 1),
        validation.check_count("num_elbo_draws", num_elbo_draws, 1),
        validation.check_count("maxiter", maxiter, 1),
    )


def fit_pathfinder(
    num_paths: int = 4,
    num_draws: int = 1000,
    num_draws_per_path: int = 1000,
    num_elbo_draws: int = 10,
    maxiter: int = 1000,
    random_seed: Any = None,
    model: Any = None,
    **kwargs: Any,
) -> Any:
    """Approximate the posterior with multi-path Pathfinder.

    Parameters
    ----------
    num_paths : int
        Single-path Pathfinder runs, each from its own prior draw.
    num_draws : int
        Draws returned, resampled (with replacement) from all paths' draws.
    num_draws_per_path : int
        Draws taken from each path's best normal approximation.
    num_elbo_draws : int
        Monte Carlo draws of the ELBO estimate at each L-BFGS iterate.
    maxiter : int
        L-BFGS iterations per path.
    random_seed : int, SeedSequence, Generator or None
        The same seed gives identical draws.
    model : Model, optional
    **kwargs
        None are accepted (an unknown keyword is a ``TypeError``).

    Returns
    -------
    arviz.InferenceData
        ``posterior`` (one chain of ``num_draws`` draws, constrained, with the
        model's dims; deterministics and recovered discrete latents as in
        :func:`mixgraph.sample`); ``sample_stats`` with ``lp`` (the model's
        log-density, unconstrained space), ``logq`` (the approximation's) and
        ``path`` (the path each draw came from). ``posterior.attrs`` hold
        ``pareto_k`` (above 0.7: the approximation is unreliable), ``elbo``
        (one per path), ``num_paths`` and ``evaluations``.

    Raises
    ------
    mixgraph.init.PriorDrawError
        When a free variable's prior has no draws (``Flat``): give proper priors.
    mixgraph.init.multipath.PathfinderFailure
        When no path gives a usable approximation.
    """
    num_paths, num_draws, num_draws_per_path, num_elbo_draws, maxiter = _checked(
        num_paths, num_draws, num_draws_per_path, num_elbo_draws, maxiter, kwargs)
    prior_seed, path_seed, recover_seed = validation.as_seed_sequence(random_seed).spawn(3)
    model = marginal.marginalize(modelcontext(model))
    validation.check_free_discrete(model)
    began = time.perf_counter()
    point = initial_point(model, None)
    layout = flat_layout(point, [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout)
    with threadpool_limits(limits=1, user_api="blas"):
        starts = dispersed_starts(model, compiled, num_paths, prior_seed)
        result = multi_path(compiled, starts, np.random.default_rng(path_seed), num_draws, num_draws_per_path,
                            num_elbo_draws, maxiter, replace=True)
    fitted = time.perf_counter()
    positions = result.draws[None]
    posterior = posterior_values(model, compiled, positions, None, {"recover_seed": recover_seed})
    attrs = {
        "inference_library": "mixgraph", "method": "pathfinder", "pareto_k": result.pareto_k,
        "elbo": result.elbo.tolist(), "num_paths": num_paths, "evaluations": result.evaluations,
        "sampling_time": fitted - began,
    }
    stats = {"lp": result.logp[None], "logq": result.logq[None], "path": result.path_of_draw[None]}
    return to_inference_data(model, attrs=attrs, posterior=posterior, sample_stats=stats,
                             observed_data=observed_data(model), constant_data=constant_data(model))
