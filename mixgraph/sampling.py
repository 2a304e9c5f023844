"""``sample()``: NUTS on a model, returning ``arviz.InferenceData``.

The steps: initial point -> flat layout -> Numba-compiled log-density ->
jittered starts -> the sampler core (:mod:`mixgraph.mcmc`, which knows
nothing of models) -> constrained values and deterministics in one vectorised
pass -> InferenceData -> convergence warnings.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from mixgraph import data_threads as data_threading
from mixgraph import executors, marginal
from mixgraph.compile import compile_numba_logp, flat_layout
from mixgraph.chain_modes import warmup_disagreement_messages
from mixgraph.convergence import ConvergenceWarning, check_convergence
from mixgraph.draws import log_likelihood_draws
from mixgraph.inference_data import constant_data, observed_data, to_inference_data
from mixgraph import validation
from mixgraph.mcmc.driver import InterruptGuard, compile_kernel, run_chains
from mixgraph.mcmc.options import check_metric_arguments, resolve_metric
from mixgraph.init.jitter import SamplingError, jittered_starts
from mixgraph.init.starts import chain_starts, check_init, record_init
from mixgraph.model import modelcontext
from mixgraph.point import initial_point
from mixgraph.progress import ProgressBar
from mixgraph.results import posterior_values, run_attributes

__all__ = ["sample", "SamplingError", "ConvergenceWarning", "DEFAULT_TUNE", "check_convergence", "jittered_starts"]

DEFAULT_TUNE = 1000
"""Default number of tuning steps; ``docs/guide/sampling.md`` explains the choice."""

def _seed_sequences(random_seed: Any, count: int) -> list[np.random.SeedSequence]:
    return validation.as_seed_sequence(random_seed).spawn(count)


def _checked_arguments(draws, tune, chains, cores, target_accept, max_tree_depth, unknown) -> tuple:
    """The validated ``(draws, tune, chains, cores, target_accept, max_tree_depth)``."""
    validation.reject_pymc_keywords("sample", unknown)
    return (
        validation.check_count("draws", draws, 0),
        DEFAULT_TUNE if tune is None else validation.check_count("tune", tune, 0),
        validation.check_count("chains", chains, 1),
        None if cores is None else validation.check_count("cores", cores, 1),
        validation.check_open_unit_interval("target_accept", target_accept),
        validation.check_count("max_tree_depth", max_tree_depth, 1),
    )


def sample(
    draws: int = 1000,
    tune: int | None = None,
    chains: int = 4,
    cores: int | None = None,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    random_seed: Any = None,
    initvals: dict | None = None,
    progressbar: bool = True,
    var_names: Sequence[str] | None = None,
    discard_tuned_samples: bool = True,
    idata_kwargs: dict | None = None,
    compute_convergence_checks: bool = True,
    model: Any = None,
    adaptation: str = "nutpie",
    init: str = "auto",
    metric: str = "auto",
    executor: Any = None,
    data_threads: str | int = "auto",
    **kwargs: Any,
) -> Any:
    """Draw from the posterior with the No-U-Turn Sampler.

    Parameters
    ----------
    draws : int
        Draws kept per chain.
    tune : int, optional
        Tuning (warm-up) steps per chain; default :data:`DEFAULT_TUNE`.
    chains : int
        Number of chains.
    cores : int, optional
        Threads running chains at once (default: the machine's cores, at
        most ``chains``).
    target_accept : float
        Target mean acceptance probability of the step-size adaptation.
    max_tree_depth : int
        Maximum depth of the NUTS tree (2**depth leapfrog steps).
    random_seed : int, SeedSequence, Generator, RandomState or None
        Fixes every random choice; the same seed (or the same generator
        state) gives identical draws.
    initvals : dict, optional
        Variable name -> starting value (constrained space, under the
        variable's own name: ``"sigma"``, not ``"sigma_log__"``).
    progressbar : bool
    var_names : sequence of str, optional
        Variables kept in the posterior (default: all free variables and
        deterministics).
    discard_tuned_samples : bool
        If False, also return ``warmup_posterior`` and ``warmup_sample_stats``.
    idata_kwargs : dict, optional
        ``{"log_likelihood": True}`` adds the element-wise log-likelihood;
        ``{"marginal_logp": True}`` adds ``lp_<name>``, the conditional
        log-probability of every value of each summed-out discrete latent.
    compute_convergence_checks : bool
        Warn about divergences, R-hat above 1.01 and low effective sample size,
        and, as soon as warm-up ends, about chains in modes of far lower log-density.
    model : Model, optional
    adaptation : {"nutpie", "stan"}
        Mass-matrix adaptation: from draws and gradients (default), or
        Stan's windowed variance of draws.
    init : {"auto", "jitter"}
        Chain starts. ``"auto"``: multi-path Pathfinder from prior draws; each
        chain starts at a resampled draw, with its path's variances as the
        starting metric (falls back to ``"jitter"`` when the model has a prior
        without draws or every path fails; ``idata.posterior.attrs["init"]``
        says which ran). ``"jitter"``: the initial point plus uniform(-1, 1)
        jitter. ``initvals=`` always means jitter around them.
    metric : {"auto", "diag", "dense", "low_rank"}
        Mass matrix estimated in warm-up: diagonal, dense (Stan's regularised
        covariance) or nutpie's low-rank-modified diagonal
        (``docs/guide/sampling.md``, "Mass matrix"). ``"auto"`` (default):
        dense up to :data:`~mixgraph.mcmc.options.DENSE_METRIC_LIMIT` (20)
        unconstrained parameters, diagonal beyond; the form used is in
        ``idata.posterior.attrs["metric"]``.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run each chain as a task there (``docs/guide/dask.md``); the draws
        equal those of a local run with the same ``random_seed``.
    data_threads : "auto" or int
        Threads inside each chain's log-density, over the observations of a
        fused mixture likelihood (``docs/guide/performance.md``). ``"auto"``
        (default): the spare cores, ``available cores // chains at once``,
        when that is at least 2 and the mixture has at least
        :data:`~mixgraph.distributions.mixture_fused_threads.PARALLEL_THRESHOLD`
        observations; else 1. An integer forces that many. The draws are the
        same whatever the number; ``idata.posterior.attrs["data_threads"]`` and
        ``["data_threads_reason"]`` record the choice.
    **kwargs
        None are accepted; PyMC's ``step=`` gets an error that says what to
        write instead.

    Returns
    -------
    arviz.InferenceData

    Raises
    ------
    TypeError, ValueError
        For a bad argument (see ``docs/guide/errors.md``).
    mixgraph.MarginalizationError
        For a free discrete variable that cannot be summed out (infinite support, ...).
    """
    draws, tune, chains, cores, target_accept, max_tree_depth = _checked_arguments(
        draws, tune, chains, cores, target_accept, max_tree_depth, kwargs)
    init = check_init(init)
    check_metric_arguments(metric, adaptation)
    data_threads = data_threading.check_data_threads(data_threads)
    if executor is not None:
        executors.check_executor(executor)
    # Spawned once: a Generator seed is advanced by one draw. The first two
    # children are those of earlier versions, so that their draws are unchanged.
    chain_seeds = _seed_sequences(random_seed, 4)
    # Finite discrete latents are summed out here and drawn back in posterior_values;
    # any other free discrete variable is an error.
    model = marginal.marginalize(modelcontext(model))
    validation.check_free_discrete(model)
    began = time.perf_counter()
    point = initial_point(model, initvals)
    layout = flat_layout(point, [value.name for value in model.value_vars])
    if layout.size == 0:
        raise SamplingError("the model has no free variables: there is nothing to sample")
    compiled = compile_numba_logp(model, layout)
    metric = resolve_metric(metric, layout.size)
    initial_seed, chain_seed, recover_seed, pathfinder_seed = chain_seeds
    start = np.concatenate([np.asarray(point[name], dtype=np.float64).ravel() for name in layout.names])
    # Numba compiles (or loads) the log-density at its first call: made here, so that
    # attrs["init_time"] is the initialisation's own time, not a new model's compilation.
    compiled.logp_fn(start, np.empty(layout.size), compiled.float_data, compiled.int_data)
    starts = chain_starts(model, compiled, start, chains, init, bool(initvals), initial_seed, pathfinder_seed)
    compile_kernel(metric)  # the sampler's kernel: compiled once per install, then loaded
    threads = _data_threads(data_threads, chains, cores, compiled, executor is not None)
    compiled_at = time.perf_counter()
    bar = ProgressBar(chains * (tune + draws), f"Sampling {chains} chains", enabled=progressbar)
    with InterruptGuard() as guard:
        runner = run_chains if executor is None else executors.chain_runner(executor, model, compiled)
        result = runner(
            compiled.logp_fn, compiled.float_data, compiled.int_data, starts.positions, draws=draws, tune=tune,
            seed=chain_seed, target_accept=target_accept, max_tree_depth=max_tree_depth,
            adaptation=adaptation, metric=metric, cores=cores, progress=bar.update,
            initial_inverse_mass_matrix=starts.inverse_mass_matrix,
            on_tuned=_warn_disagreement_after_warmup if compute_convergence_checks else None,
            data_threads=threads.threads,
        )
        guard.defer()  # a Ctrl-C from here on must not lose the draws
        bar.close()
        sampled_at = time.perf_counter()
        idata = _build_inference_data(
            model, compiled, result, tune, var_names, discard_tuned_samples,
            {"recover_seed": recover_seed, **(idata_kwargs or {})}, timings=(began, compiled_at, sampled_at),
        )
        record_init(idata, starts)
        idata.posterior.attrs["metric"] = metric
        idata.posterior.attrs["data_threads"] = threads.threads
        idata.posterior.attrs["data_threads_reason"] = threads.reason
        if result.interrupted and hasattr(idata, "sample_stats"):
            idata.sample_stats.attrs["interrupted"] = 1  # read by sample_many, which then stops
    _warn_interrupted(result, guard.deferred)
    if compute_convergence_checks and len(idata.posterior.draw) > 0:
        check_convergence(idata)
    return idata


def _data_threads(requested, chains, cores, compiled, on_executor: bool) -> data_threading.DataThreads:
    from mixgraph.distributions.mixture_fused_threads import forked_after_start, start_threading_layer

    return data_threading.choose_data_threads(
        requested, chains, cores, data_threading.fused_observations(compiled), data_threading.available_cores(),
        start_threading_layer(), executor=on_executor, forked=forked_after_start())


def _warn_disagreement_after_warmup(warmup_log_densities: np.ndarray) -> None:
    for message in warmup_disagreement_messages(warmup_log_densities):
        warnings.warn(message, ConvergenceWarning, stacklevel=2)


def _warn_interrupted(result: Any, deferred: int) -> None:
    if result.interrupted:
        warnings.warn(
            f"Sampling was interrupted; returning the {int(min(result.n_completed))} iterations "
            f"per chain completed so far.", RuntimeWarning, stacklevel=3,
        )
    if deferred:
        warnings.warn(
            f"{deferred} further Ctrl-C received while the draws were being stopped and packed "
            f"were deferred, so that the draws are kept. Press Ctrl-C once, and wait for the "
            f"result.", RuntimeWarning, stacklevel=3,
        )


def _split(array: np.ndarray, tune: int, completed: int) -> tuple[np.ndarray, np.ndarray]:
    array = array[:, :completed]
    return array[:, : min(tune, completed)], array[:, tune:]


def _build_inference_data(model, compiled, result, tune, var_names, discard_tuned, idata_kwargs, timings):
    completed = int(np.min(result.n_completed))
    warmup_positions, positions = _split(result.positions, tune, completed)
    stats = {name: _split(values, tune, completed) for name, values in result.stats.items()}
    posterior = posterior_values(model, compiled, positions, var_names, idata_kwargs)
    groups = {
        "posterior": posterior,
        "sample_stats": {name: parts[1] for name, parts in stats.items()},
        "observed_data": observed_data(model),
        "constant_data": constant_data(model),
    }
    if not discard_tuned:
        groups["warmup_posterior"] = posterior_values(model, compiled, warmup_positions, var_names, idata_kwargs)
        groups["warmup_sample_stats"] = {name: parts[0] for name, parts in stats.items()}
    if idata_kwargs.get("log_likelihood", False):
        groups["log_likelihood"] = log_likelihood_draws(model, compiled.layout, positions)
    began, compiled_at, sampled_at = timings
    attrs = {**run_attributes(tune, began, compiled_at, sampled_at), **(result.attrs or {})}
    return to_inference_data(model, attrs=attrs, **groups)
