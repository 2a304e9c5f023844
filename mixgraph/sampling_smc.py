"""``sample_smc()``: Sequential Monte Carlo on a model, returning ``arviz.InferenceData``.

The steps: marginalise finite discrete latents -> flat layout -> the prior and
the likelihood compiled separately (:func:`mixgraph.compile.compile_numba_logp`
with ``terms=``) -> initial particles drawn from the prior
(:func:`mixgraph.init.unconstrained_prior_draws`) -> independent SMC runs in
parallel (:mod:`mixgraph.smc`, which knows nothing of models) -> constrained
values, deterministics and recovered latents -> InferenceData with the
tempering schedule and each run's log marginal likelihood.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from mixgraph import marginal, validation
from mixgraph.compile import compile_numba_logp, flat_layout
from mixgraph.draws import log_likelihood_draws
from mixgraph.inference_data import add_run_statistics, constant_data, observed_data, to_inference_data
from mixgraph.init.jitter import SamplingError
from mixgraph.init.prior_draws import unconstrained_prior_draws
from mixgraph.mcmc.driver import InterruptGuard
from mixgraph.model import modelcontext
from mixgraph.point import initial_point
from mixgraph.progress import ProgressBar
from mixgraph.results import posterior_values, run_attributes
from mixgraph.smc import KERNELS, SMCFunctions, SMCSettings, run_smc_chains
from mixgraph.smc.driver import PROGRESS_UNITS

__all__ = ["sample_smc", "DEFAULT_CORRELATION_THRESHOLD", "MAX_MUTATION_STEPS"]

DEFAULT_CORRELATION_THRESHOLD = 0.01
"""PyMC's default for its IMH kernel: mutation goes on while correlations fall by more."""

MAX_MUTATION_STEPS = 100
"""Mutation steps per stage at most."""

MOVE_PROBABILITY = 0.85
"""Mutation runs at least until each particle has moved with this probability (PyMC 3's ``p_acc_rate``)."""

HMC_LEAPFROG_STEPS = 10
HMC_TARGET_ACCEPT = 0.65

_PRIOR_DRAW_ROUNDS = 5
_STAGE_STATS = ("beta", "acceptance_rate", "n_steps", "log_increment", "ess")


def _checked_arguments(draws, chains, cores, kernel, threshold, correlation_threshold, unknown) -> tuple:
    validation.reject_pymc_keywords("sample_smc", unknown)
    if kernel not in KERNELS:
        raise ValueError(f"sample_smc(kernel={kernel!r}): kernel must be one of {sorted(KERNELS)}")
    return (
        validation.check_count("draws", draws, 2),
        validation.check_count("chains", chains, 1),
        None if cores is None else validation.check_count("cores", cores, 1),
        _check_fraction("threshold", threshold, "0.5 (the default) to 0.9 (more, smaller stages)"),
        _check_fraction("correlation_threshold", correlation_threshold, "0.01 (the default)"),
    )


def _check_fraction(name: str, value: Any, typical: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"sample_smc({name}=...) must be a number strictly between 0 and 1, got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"sample_smc({name}={value}): it must be strictly between 0 and 1; typical: {typical}")
    return float(value)


def sample_smc(
    draws: int = 2000,
    chains: int = 4,
    kernel: str = "imh",
    threshold: float = 0.5,
    correlation_threshold: float = DEFAULT_CORRELATION_THRESHOLD,
    random_seed: Any = None,
    progressbar: bool = True,
    cores: int | None = None,
    model: Any = None,
    idata_kwargs: dict | None = None,
    **kwargs: Any,
) -> Any:
    """Draw from the posterior with Sequential Monte Carlo, and estimate the marginal likelihood.

    Each chain is an independent run of ``draws`` particles, tempered from the
    prior to the posterior; ``docs/guide/smc.md`` says when to use it.

    Parameters
    ----------
    draws : int
        Particles per run (at least 2); the posterior's ``draw`` dimension.
    chains : int
        Independent runs; their spread shows the Monte Carlo error of the
        log marginal likelihood.
    kernel : {"imh", "hmc"}
        Mutation: independent Metropolis-Hastings with a Gaussian fitted to
        the particles (default), or a short HMC trajectory (better in more
        than a few dimensions, where the Gaussian proposal is rarely accepted).
    threshold : float
        Each next inverse temperature keeps the effective sample size of the
        incremental weights at ``threshold`` times ``draws``. Higher: more,
        smaller stages.
    correlation_threshold : float
        Mutation steps go on while more than 90% of the coordinates' unsigned
        correlations with the stage's start still fall by more than this.
    random_seed : int, SeedSequence, Generator, RandomState or None
        Fixes every random choice: the same seed gives identical results.
    progressbar : bool
    cores : int, optional
        Threads running runs at once (default: the machine's cores, at most ``chains``).
    model : Model, optional
    idata_kwargs : dict, optional
        ``{"log_likelihood": True}`` adds the element-wise log-likelihood.
    **kwargs
        None are accepted.

    Returns
    -------
    arviz.InferenceData
        ``posterior`` (chain = run, draw = particle); ``sample_stats`` with
        ``lp`` per particle, ``log_marginal_likelihood`` per run, and per
        stage (dims ``chain, stage``; NaN or 0 after a run's last stage):
        ``beta``, ``acceptance_rate``, ``n_steps``, ``log_increment``, ``ess``,
        with ``n_stages`` per run.

    Raises
    ------
    TypeError, ValueError
        For a bad argument.
    mixgraph.init.PriorDrawError
        If some free variable's prior cannot be drawn from (``Flat``).
    SamplingError
        If the prior draws give no finite log-density.
    """
    draws, chains, cores, threshold, correlation_threshold = _checked_arguments(
        draws, chains, cores, kernel, threshold, correlation_threshold, kwargs)
    particle_seed, run_seed, recover_seed = validation.as_seed_sequence(random_seed).spawn(3)
    model = marginal.marginalize(modelcontext(model))
    validation.check_free_discrete(model)
    began = time.perf_counter()
    layout = flat_layout(initial_point(model), [value.name for value in model.value_vars])
    if layout.size == 0:
        raise SamplingError("the model has no free variables: there is nothing to sample")
    prior = compile_numba_logp(model, layout, terms="prior")
    likelihood = compile_numba_logp(model, layout, terms="likelihood")
    functions = SMCFunctions(prior.logp_fn, prior.float_data, prior.int_data,
                             likelihood.logp_fn, likelihood.float_data, likelihood.int_data)
    particles = _initial_particles(model, layout, chains, draws, particle_seed)
    settings = SMCSettings(threshold, correlation_threshold, MOVE_PROBABILITY, MAX_MUTATION_STEPS,
                           KERNELS[kernel], HMC_LEAPFROG_STEPS, HMC_TARGET_ACCEPT)
    compiled_at = time.perf_counter()
    bar = ProgressBar(chains * PROGRESS_UNITS, f"SMC: {chains} runs (progress in beta)", enabled=progressbar)
    with InterruptGuard() as guard:
        result = run_smc_chains(functions, particles, settings, seed=run_seed, cores=cores, progress=bar.update)
        guard.defer()
        bar.close()
        sampled_at = time.perf_counter()
        idata = _build_inference_data(model, layout, result, {"recover_seed": recover_seed, **(idata_kwargs or {})},
                                      run_attributes(0, began, compiled_at, sampled_at))
    if result.interrupted:
        warnings.warn("SMC was interrupted: the runs did not reach beta = 1, so the particles are not "
                      "posterior draws (see sample_stats.beta)", RuntimeWarning, stacklevel=2)
    return idata


def _initial_particles(model: Any, layout: Any, chains: int, draws: int, seed: Any) -> np.ndarray:
    """``chains * draws`` prior draws with finite unconstrained values, shape ``(chains, draws, dim)``."""
    needed, kept = chains * draws, []
    for child in seed.spawn(_PRIOR_DRAW_ROUNDS):
        rows = unconstrained_prior_draws(model, layout, needed, child)
        kept.extend(rows[np.all(np.isfinite(rows), axis=1)])
        if len(kept) >= needed:
            return np.stack(kept[:needed]).reshape(chains, draws, layout.size)
    raise SamplingError(
        f"only {len(kept)} of {_PRIOR_DRAW_ROUNDS * needed} prior draws of {list(layout.names)} are finite "
        f"in the unconstrained space (draws on the boundary of a support); SMC starts from prior draws: "
        f"give priors that put their mass inside the support")


def _stage_statistics(result: Any) -> dict:
    """Per-stage statistics padded to the longest run: ``(dims, array)`` pairs."""
    longest = max(len(stages["beta"]) for stages in result.stages)
    variables = {}
    for name in _STAGE_STATS:
        integer = name == "n_steps"
        padded = np.zeros((len(result.stages), longest), dtype=np.int64) if integer else np.full(
            (len(result.stages), longest), np.nan)
        for chain, stages in enumerate(result.stages):
            padded[chain, : len(stages[name])] = stages[name]
        variables[name] = (("chain", "stage"), padded)
    variables["n_stages"] = (("chain",), np.array([len(stages["beta"]) for stages in result.stages]))
    variables["log_marginal_likelihood"] = (("chain",), result.log_marginal_likelihood)
    return variables


def _build_inference_data(model, layout, result, idata_kwargs, attrs):
    compiled = _LayoutOnly(layout)
    positions = result.particles
    groups = {
        "posterior": posterior_values(model, compiled, positions, None, idata_kwargs),
        "sample_stats": {"lp": result.prior_logps + result.likelihood_logps},
        "observed_data": observed_data(model),
        "constant_data": constant_data(model),
    }
    if idata_kwargs.get("log_likelihood", False):
        groups["log_likelihood"] = log_likelihood_draws(model, layout, positions)
    attrs = {**attrs, "sampler": "smc"}
    attrs.pop("tuning_steps", None)
    idata = to_inference_data(model, attrs=attrs, **groups)
    return add_run_statistics(idata, "sample_stats", _stage_statistics(result))


class _LayoutOnly:
    """What :func:`mixgraph.results.posterior_values` reads of a compiled log-density."""

    def __init__(self, layout: Any) -> None:
        self.layout = layout
