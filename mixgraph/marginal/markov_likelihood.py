"""Per-time-step log-likelihood of a hidden Markov model's emissions (for ``compute_log_likelihood``).

The observations of an HMM depend on each other through the chain, so there is
no log-likelihood per observation that sums to the marginal one *and* leaves
one observation out. The standard decomposition is the sequential one,
``log p(y) = sum_t log p(y_t | y_0..y_{t-1}, theta)``: the one-step-ahead
predictive log-densities, which are the forward filter's log normalisers
(Rabiner 1989, section V.A). LOO on them is an approximation: leaving out
``y_t`` still conditions the later terms on it. Leave-future-out
cross-validation (Buerkner, Gabry and Vehtari 2020, "Approximate
leave-future-out cross-validation for Bayesian time series models") is the
exact sequential view.
"""

from __future__ import annotations

from typing import Any

from pytensor.tensor import TensorVariable

from mixgraph.logprob import model_logp_terms
from mixgraph.marginal.enumerate import MarginalGroup, enumerated_logps
from mixgraph.marginal.markov import markov_step_log_likelihood
from mixgraph.marginal.support import MarginalizationError

__all__ = ["markov_step_log_likelihood_of"]


def markov_step_log_likelihood_of(marginal_model: Any, group: MarginalGroup, name: str) -> TensorVariable:
    """``log p(y_t | y_0..y_{t-1}, theta)`` of the emissions ``name`` of a chain, in ``name``'s shape.

    Raises
    ------
    MarginalizationError
        When the chain has several dependents (their per-step terms are one
        joint term), or when ``name`` has axes beyond the chain's.
    """
    chain = group.latent.name
    if len(group.dependents) > 1:
        raise MarginalizationError(
            f"the log-likelihood of '{name}' cannot be split from those of {list(group.dependents)}: all are "
            f"emissions of the hidden Markov chain '{chain}', whose one-step-ahead predictive densities "
            f"p(y_t | y_0..y_(t-1)) are joint over them. Ask for the log-likelihood of a model in which the "
            f"chain has a single observed dependent."
        )
    if group.coupling.summed_axes.get(name):
        raise MarginalizationError(
            f"the log-likelihood of '{name}' has axes {group.coupling.summed_axes[name]} beyond those of the "
            f"hidden Markov chain '{chain}' (shape {group.configurations.shape[1:]}): its one-step-ahead "
            f"predictive densities are one per time step, not one per observation. Give '{name}' the chain's "
            f"shape (one observation per time step), or compare by the total marginal log-likelihood."
        )
    source = marginal_model.marginal_source
    emission = enumerated_logps(group, model_logp_terms(source, jacobian=False), include_latent=False)
    return markov_step_log_likelihood(group, emission, source)
