"""Warnings after sampling: divergences, tree depth, chains in other modes, R-hat, ESS.

Each message names the variable (and the entry) that is worst, and says what
to try.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from mixgraph.chain_modes import chain_disagreement_messages

__all__ = ["ConvergenceWarning", "check_convergence"]


class ConvergenceWarning(UserWarning):
    """Divergences, high R-hat or low effective sample size after sampling."""


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


def _is_recovered_log_probability(posterior: Any, name: str) -> bool:
    """``lp_z`` beside an integer ``z``: the conditional log-probabilities of a summed-out latent.

    They are functions of the continuous draws (``idata_kwargs={"marginal_logp": True}``),
    whose R-hat and ESS are already checked; their own (per state and element) only repeat them.
    """
    latent = name[3:]
    return (name.startswith("lp_") and latent in posterior.data_vars
            and np.issubdtype(posterior[latent].dtype, np.integer))


def _varying_variables(posterior: Any) -> list[str]:
    """Posterior variables with at least one entry that is not constant over all draws."""
    names = []
    for name, values in posterior.data_vars.items():
        array = np.asarray(values)
        if _is_recovered_log_probability(posterior, str(name)):
            continue
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
