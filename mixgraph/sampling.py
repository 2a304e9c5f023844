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

from mixgraph import marginal
from mixgraph.chain_modes import chain_disagreement_messages
from mixgraph.compile import CompiledLogp, compile_numba_logp, flat_layout, unflatten_vector
from mixgraph.diagnostics import initial_point_diagnostics
from mixgraph.draws import constrained_draws, log_likelihood_draws
from mixgraph.inference_data import constant_data, observed_data, to_inference_data
from mixgraph import validation
from mixgraph.mcmc.driver import InterruptGuard, run_chains
from mixgraph.model import modelcontext
from mixgraph.point import initial_point, point_logps
from mixgraph.progress import ProgressBar

__all__ = ["sample", "SamplingError", "ConvergenceWarning", "DEFAULT_TUNE", "jittered_starts"]

DEFAULT_TUNE = 1000
"""Default number of tuning steps; ``docs/guide/sampling.md`` explains the choice."""

INITIALIZATION_ATTEMPTS = 20


class SamplingError(RuntimeError):
    """The sampler could not start (no finite log-density near the initial point)."""


class ConvergenceWarning(UserWarning):
    """Divergences, high R-hat or low effective sample size after sampling."""


def _finite_at(compiled: CompiledLogp, position: np.ndarray) -> bool:
    gradient = np.zeros_like(position)
    logp = compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
    return bool(np.isfinite(logp) and np.all(np.isfinite(gradient)))


def jittered_starts(
    model: Any, compiled: CompiledLogp, start: np.ndarray, chains: int, seed: np.random.SeedSequence
) -> np.ndarray:
    """One start per chain: ``start`` plus uniform(-1, 1) jitter, retried until finite.

    Raises
    ------
    SamplingError
        Naming each variable whose log-density is not finite at the initial
        point, with its value, when no jitter gives a finite start.
    """
    rng = np.random.default_rng(seed)
    starts = np.empty((chains, start.size))
    for chain in range(chains):
        for _ in range(INITIALIZATION_ATTEMPTS):
            candidate = start + rng.uniform(-1.0, 1.0, size=start.size)
            if _finite_at(compiled, candidate):
                starts[chain] = candidate
                break
        else:
            if _finite_at(compiled, start):
                starts[chain] = start
                continue
            raise SamplingError(_initial_failure_message(model, compiled, start))
    return starts


def _initial_failure_message(model: Any, compiled: CompiledLogp, start: np.ndarray) -> str:
    point = unflatten_vector(start, compiled.layout)
    logps = point_logps(model, point)
    bad = {name: value for name, value in logps.items() if not np.isfinite(value)}
    lines = [f"  {name}: log-density {value}" for name, value in bad.items()]
    values = [f"  {name} = {np.array2string(np.asarray(value), threshold=6)}" for name, value in point.items()]
    causes = [f"  {sentence}" for sentence in initial_point_diagnostics(model, point)]
    return (
        "Initial evaluation of the model failed: the log-density or its gradient is not finite "
        f"at the initial point or at {INITIALIZATION_ATTEMPTS} jittered starts.\n"
        "Variables whose log-density is not finite:\n" + ("\n".join(lines) or "  (none: the gradient is not finite)")
        + ("\nFound at the initial point:\n" + "\n".join(causes) if causes else "")
        + "\nStarting values (unconstrained):\n" + "\n".join(values)
        + "\nGive initvals= inside each variable's support, or check the priors and data."
    )


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
        Warn about divergences, R-hat above 1.01 and low effective sample size.
    model : Model, optional
    adaptation : {"nutpie", "stan"}
        Mass-matrix adaptation: from draws and gradients (default), or
        Stan's windowed variance of draws.
    **kwargs
        None are accepted; PyMC's ``init=`` and ``step=`` get an error that
        says what to write instead.

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
    # Spawned once: a Generator seed is advanced by one draw. The first two
    # children are those of earlier versions, so that their draws are unchanged.
    chain_seeds = _seed_sequences(random_seed, 3)
    # Finite discrete latents are summed out here and drawn back in _posterior_group;
    # any other free discrete variable is an error.
    model = marginal.marginalize(modelcontext(model))
    validation.check_free_discrete(model)
    began = time.perf_counter()
    point = initial_point(model, initvals)
    layout = flat_layout(point, [value.name for value in model.value_vars])
    if layout.size == 0:
        raise SamplingError("the model has no free variables: there is nothing to sample")
    compiled = compile_numba_logp(model, layout)
    initial_seed, chain_seed, recover_seed = chain_seeds
    starts = jittered_starts(model, compiled, np.concatenate(
        [np.asarray(point[name], dtype=np.float64).ravel() for name in layout.names]), chains, initial_seed)
    compiled_at = time.perf_counter()
    bar = ProgressBar(chains * (tune + draws), f"Sampling {chains} chains", enabled=progressbar)
    with InterruptGuard() as guard:
        result = run_chains(
            compiled.logp_fn, compiled.float_data, compiled.int_data, starts, draws=draws, tune=tune,
            seed=chain_seed, target_accept=target_accept, max_tree_depth=max_tree_depth,
            adaptation=adaptation, cores=cores, progress=bar.update,
        )
        guard.defer()  # a Ctrl-C from here on must not lose the draws
        bar.close()
        sampled_at = time.perf_counter()
        idata = _build_inference_data(
            model, compiled, result, tune, var_names, discard_tuned_samples,
            {"recover_seed": recover_seed, **(idata_kwargs or {})}, timings=(began, compiled_at, sampled_at),
        )
    _warn_interrupted(result, guard.deferred)
    if compute_convergence_checks and len(idata.posterior.draw) > 0:
        check_convergence(idata)
    return idata


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
    posterior = _posterior_group(model, compiled, positions, var_names, idata_kwargs)
    groups = {
        "posterior": posterior,
        "sample_stats": {name: parts[1] for name, parts in stats.items()},
        "observed_data": observed_data(model),
        "constant_data": constant_data(model),
    }
    if not discard_tuned:
        groups["warmup_posterior"] = _posterior_group(model, compiled, warmup_positions, var_names, idata_kwargs)
        groups["warmup_sample_stats"] = {name: parts[0] for name, parts in stats.items()}
    if idata_kwargs.get("log_likelihood", False):
        groups["log_likelihood"] = log_likelihood_draws(model, compiled.layout, positions)
    began, compiled_at, sampled_at = timings
    attrs = _attributes(tune, began, compiled_at, sampled_at)
    return to_inference_data(model, attrs=attrs, **groups)


def _posterior_group(model, compiled, positions, var_names, idata_kwargs):
    values = constrained_draws(model, compiled.layout, positions)
    if marginal.is_marginal(model):
        values.update(marginal.recovered_posterior(
            model, compiled.layout, positions, idata_kwargs.get("recover_seed"),
            include_logps=idata_kwargs.get("marginal_logp", False)))
    if var_names is not None:
        unknown = [name for name in var_names if name not in values]
        if unknown:
            raise ValueError(f"var_names {unknown} are not free variables or deterministics of the model")
        values = {name: values[name] for name in var_names}
    return values


def _attributes(tune: int, began: float, compiled_at: float, sampled_at: float) -> dict:
    import numba
    import pytensor

    from mixgraph import __version__

    return {
        "inference_library": "mixgraph",
        "inference_library_version": __version__,
        "pytensor_version": pytensor.__version__,
        "numba_version": numba.__version__,
        "sampling_time": sampled_at - compiled_at,
        "compile_time": compiled_at - began,
        "tuning_steps": tune,
    }


def check_convergence(idata: Any, max_rhat: float = 1.01, min_ess_per_chain: float = 100.0) -> list[str]:
    """Warn (``ConvergenceWarning``) about divergences, tree depth, chains in other modes, R-hat and effective sample size.

    R-hat and the bulk effective sample size are computed per variable with
    ArviZ; each message names the variable (and the entry) that is worst.
    Entries that are constant over all draws (such as the unit diagonal of
    an ``LKJCorr`` matrix) have no R-hat and are left out.

    Parameters
    ----------
    idata : arviz.InferenceData
        The result of :func:`mixgraph.sample`.
    max_rhat : float
        The largest R-hat accepted.
    min_ess_per_chain : float
        The smallest bulk effective sample size accepted, per chain.

    Returns
    -------
    list of str
        The messages warned.
    """
    messages = []
    stats = idata.sample_stats if "sample_stats" in idata.groups() else {}
    chains = len(idata.posterior.chain)
    if "diverging" in stats:
        divergences = int(stats["diverging"].sum())
        if divergences:
            messages.append(
                f"There were {divergences} divergences after tuning. Increase target_accept or "
                f"reparameterise (e.g. non-centred hierarchical models)."
            )
    if "reached_max_treedepth" in stats and float(stats["reached_max_treedepth"].mean()) > 0.05:
        messages.append("More than 5% of draws reached the maximum tree depth; consider max_tree_depth.")
    if chains > 1 and len(idata.posterior.draw) >= 4:
        messages.extend(chain_disagreement_messages(idata))
        messages.extend(_mixing_messages(idata, chains, max_rhat, min_ess_per_chain))
    for message in messages:
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    return messages


def _mixing_messages(idata: Any, chains: int, max_rhat: float, min_ess_per_chain: float) -> list[str]:
    """The R-hat and effective-sample-size messages, naming the worst variable."""
    import arviz

    varying = _varying_variables(idata.posterior)
    if not varying:
        return []
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = arviz.rhat(idata, var_names=varying)
        ess = arviz.ess(idata, var_names=varying)
    messages = []
    name, entry, value = _extreme(rhat, largest=True)
    if value > max_rhat:
        messages.append(
            f"The largest R-hat is {value:.3f} for {name}{entry} (above {max_rhat}): the chains disagree. "
            f"Look at az.plot_trace and az.summary; more tuning or a better parameterisation may help."
        )
    name, entry, value = _extreme(ess, largest=False)
    if value < min_ess_per_chain * chains:
        messages.append(
            f"The smallest bulk effective sample size is {value:.0f} for {name}{entry}, below "
            f"{min_ess_per_chain:.0f} per chain ({min_ess_per_chain * chains:.0f} for {chains} chains): "
            f"estimates may be unreliable; draw more."
        )
    return messages


def _varying_variables(posterior: Any) -> list[str]:
    """Posterior variables with at least one entry that is not constant over all draws."""
    names = []
    for name, values in posterior.data_vars.items():
        array = np.asarray(values)
        if array.size and np.issubdtype(array.dtype, np.number) and np.ptp(array.reshape(-1)) > 0:
            names.append(str(name))
    return names


def _extreme(dataset: Any, largest: bool) -> tuple[str, str, float]:
    """The variable, entry (coordinate labels, ``"[1, 2]"``, or ``""``) and value of the largest or smallest finite statistic."""
    best: tuple[str, str, float] = ("", "", -np.inf if largest else np.inf)
    for name, values in dataset.data_vars.items():
        array = np.asarray(values, dtype=float)
        finite = np.isfinite(array)
        if not finite.any():
            continue
        candidates = np.where(finite, array, -np.inf if largest else np.inf)
        flat_index = int(np.argmax(candidates) if largest else np.argmin(candidates))
        value = float(candidates.reshape(-1)[flat_index])
        if (value > best[2]) if largest else (value < best[2]):
            index = np.unravel_index(flat_index, array.shape) if array.ndim else ()
            labels = [values.coords[dim].values[i] if dim in values.coords else i
                      for dim, i in zip(values.dims, index)]
            entry = f"[{', '.join(str(label) for label in labels)}]" if labels else ""
            best = (str(name), entry, value)
    return best
