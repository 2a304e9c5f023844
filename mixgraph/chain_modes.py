"""Chains that sit in different modes: say so precisely, and weigh them by stacking.

A multimodal posterior (a mixture whose components merged in one chain, or
one component spread over two clusters) can leave a chain in a mode whose
log-density is far below that of the others. R-hat says that the chains
disagree; :func:`chain_disagreement_messages` says which chains, how far
apart their log-densities are and which variables differ most. When the
modes are genuine, :func:`stack_chains` gives each chain a weight by
stacking of predictive distributions (Yao, Vehtari and Gelman 2022,
"Stacking for non-mixing Bayesian computations: the curse and blessing of
multimodal posteriors", JMLR 23(79)).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import optimize, special

__all__ = ["chain_disagreement_messages", "warmup_disagreement_messages", "stack_chains", "LOG_DENSITY_GAP"]

LOG_DENSITY_GAP = 3.0
"""A chain is flagged when its mean log-density is more than this many within-chain
standard deviations (of the log-density, not of its mean) below the best chain's."""

_VARIABLES_SHOWN = 3


def _chain_log_densities(idata: Any) -> np.ndarray | None:
    stats = idata.sample_stats if "sample_stats" in idata.groups() else None
    if stats is None or "lp" not in stats:
        return None
    return np.asarray(stats["lp"], dtype=float)


def _most_different_variables(posterior: Any, low: int, best: int) -> list[str]:
    """Entries whose means in chains ``low`` and ``best`` differ most, in pooled standard deviations."""
    scored = []
    for name, values in posterior.data_vars.items():
        array = np.asarray(values, dtype=float)
        if array.ndim < 2 or not np.issubdtype(array.dtype, np.number):
            continue
        flat = array.reshape(array.shape[0], array.shape[1], -1)
        spread = np.sqrt(0.5 * (flat[low].var(axis=0) + flat[best].var(axis=0)))
        difference = flat[low].mean(axis=0) - flat[best].mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(spread > 0, np.abs(difference) / spread, 0.0)
        for index in np.argsort(score)[::-1][:_VARIABLES_SHOWN]:
            entry = np.unravel_index(index, array.shape[2:]) if array.ndim > 2 else ()
            label = f"{name}[{', '.join(str(i) for i in entry)}]" if entry else str(name)
            scored.append((float(score[index]), label, float(flat[low, :, index].mean()),
                           float(flat[best, :, index].mean())))
    scored.sort(reverse=True)
    return [f"{label} (chain {low}: {mean_low:.4g}, chain {best}: {mean_best:.4g})"
            for _, label, mean_low, mean_best in scored[:_VARIABLES_SHOWN]]


def _low_chains(log_densities: np.ndarray, gap: float) -> tuple[np.ndarray, float, int, list[int]]:
    """Every chain's mean log-density, the within-chain spread, the best chain and the chains far below it."""
    means = log_densities.mean(axis=1)
    spread = float(np.sqrt(np.mean(log_densities.var(axis=1))))
    best = int(np.argmax(means))
    low = [chain for chain in range(len(means)) if means[best] - means[chain] > gap * max(spread, 1e-12)]
    return means, spread, best, low


#: The share of warm-up, at its end, whose log-densities the after-warm-up check compares.
WARMUP_SHARE_COMPARED = 0.25


def warmup_disagreement_messages(warmup_log_densities: np.ndarray, gap: float = LOG_DENSITY_GAP) -> list[str]:
    """The early form of :func:`chain_disagreement_messages`, from the log-densities of warm-up alone.

    Compares the chains over the last quarter of warm-up, where the step
    size and the mass matrix have settled, so that the warning can come
    while the draws are still being made (no posterior exists yet, so no
    variable is named; the check at the end names them).

    Parameters
    ----------
    warmup_log_densities : ndarray of shape (chains, tune)
    gap : float

    Returns
    -------
    list of str
        One message, or none when the chains agree (or warm-up is too short to tell).
    """
    log_densities = np.asarray(warmup_log_densities, dtype=float)
    compared = int(log_densities.shape[1] * WARMUP_SHARE_COMPARED)
    if log_densities.shape[0] < 2 or compared < 10:
        return []
    means, spread, best, low = _low_chains(log_densities[:, -compared:], gap)
    if not low:
        return []
    listing = ", ".join(f"chain {chain}: {mean:.1f}" for chain, mean in enumerate(means))
    return [
        f"After warm-up, {'chains' if len(low) > 1 else 'chain'} {', '.join(str(chain) for chain in low)} "
        f"{'sit' if len(low) > 1 else 'sits'} in a mode whose mean log-density over the last {compared} "
        f"warm-up iterations is far below chain {best}'s (more than {gap:g} within-chain standard "
        f"deviations, {spread:.2f}): {listing}. Sampling goes on; the same check after sampling names the "
        f"variables that differ. Interrupt (Ctrl-C keeps the draws so far) and restart with init='auto' "
        f"or initvals= near the dominant mode, or weigh the chains with mg.stack_chains(idata)."
    ]


def chain_disagreement_messages(idata: Any, gap: float = LOG_DENSITY_GAP) -> list[str]:
    """Name the chains whose mean log-density is far below the best chain's.

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``sample_stats.lp`` (the log-density at each draw) and a posterior.
    gap : float
        How many within-chain standard deviations of the log-density count as far.

    Returns
    -------
    list of str
        One message naming the low chains, every chain's mean log-density,
        the variables that differ most from the best chain, and what to do;
        empty when the chains agree.
    """
    log_densities = _chain_log_densities(idata)
    if log_densities is None or log_densities.shape[0] < 2 or log_densities.shape[1] < 2:
        return []
    means, spread, best, low = _low_chains(log_densities, gap)
    if not low:
        return []
    listing = ", ".join(f"chain {chain}: {mean:.1f}" for chain, mean in enumerate(means))
    variables = _most_different_variables(idata.posterior, low[0], best)
    return [
        f"{'Chains' if len(low) > 1 else 'Chain'} {', '.join(str(chain) for chain in low)} "
        f"{'sit' if len(low) > 1 else 'sits'} in a mode whose mean log-density is far below "
        f"chain {best}'s (more than {gap:g} within-chain standard deviations of the log-density, "
        f"{spread:.2f}): mean log-density {listing}. The variables that differ most between chain "
        f"{low[0]} and chain {best}: {'; '.join(variables)}. A chain far below found a local mode (for a "
        f"mixture: merged or split components). Summaries that pool the chains are wrong; drop such "
        f"chains, start them near the dominant mode with initvals=, or, if every mode is real, weigh "
        f"the chains with mg.stack_chains(idata)."
    ]


def _pointwise_loo_by_chain(idata: Any, var_name: str | None) -> np.ndarray:
    """Pointwise PSIS-LOO log predictive densities, one row per chain."""
    import arviz

    rows = []
    for chain in range(len(idata.posterior.chain)):
        subset = idata.isel(chain=[chain])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = arviz.loo(subset, pointwise=True, var_name=var_name)
        rows.append(np.asarray(result.loo_i, dtype=float).ravel())
    return np.array(rows)


def stack_chains(idata: Any, var_name: str | None = None) -> np.ndarray:
    """Stacking weights of the chains, from each chain's leave-one-out predictive densities.

    Each chain is treated as a separate approximation of the posterior; the
    weights ``w`` on the simplex maximise
    ``sum_i log(sum_k w_k p_k(y_i | y_-i))``, with ``p_k`` the PSIS-LOO
    predictive density of chain ``k`` (Yao, Vehtari and Gelman 2022,
    section 3; Yao et al. 2018, "Using stacking to average Bayesian
    predictive distributions", equation 4).

    Parameters
    ----------
    idata : arviz.InferenceData
        With a ``log_likelihood`` group (``sample(idata_kwargs={"log_likelihood": True})``
        or :func:`mixgraph.compute_log_likelihood`).
    var_name : str, optional
        The observed variable, when the model has several.

    Returns
    -------
    numpy.ndarray
        One weight per chain, summing to 1.
    """
    if "log_likelihood" not in idata.groups():
        raise ValueError(
            "stack_chains needs the pointwise log-likelihood: sample with "
            "idata_kwargs={'log_likelihood': True}, or call mg.compute_log_likelihood(idata) first."
        )
    log_predictive = _pointwise_loo_by_chain(idata, var_name)
    chains = log_predictive.shape[0]

    def negative_objective(free: np.ndarray) -> float:
        log_weights = special.log_softmax(np.concatenate([[0.0], free]))
        return -float(np.sum(special.logsumexp(log_weights[:, None] + log_predictive, axis=0)))

    result = optimize.minimize(negative_objective, np.zeros(chains - 1), method="BFGS")
    return special.softmax(np.concatenate([[0.0], result.x]))
