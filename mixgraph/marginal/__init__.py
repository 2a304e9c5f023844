"""Finite discrete latent variables, summed out before compilation and recovered after sampling.

:func:`marginalize` builds the marginal model (:mod:`mixgraph.marginal.enumerate`);
:func:`recover_latents` draws the latents from their exact conditional
posterior at each posterior draw (:mod:`mixgraph.marginal.recover`).
"""

from mixgraph.marginal.enumerate import MAX_JOINT_CONFIGURATIONS, discrete_latents, is_marginal, marginalize
from mixgraph.marginal.recover import (
    latent_probabilities,
    observed_log_likelihood,
    recover_latents,
    recovered_posterior,
)
from mixgraph.marginal.support import MarginalizationError

__all__ = [
    "MAX_JOINT_CONFIGURATIONS",
    "MarginalizationError",
    "discrete_latents",
    "is_marginal",
    "latent_probabilities",
    "marginalize",
    "observed_log_likelihood",
    "recover_latents",
    "recovered_posterior",
]
