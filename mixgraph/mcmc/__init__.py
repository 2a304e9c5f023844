"""The sampler core: NUTS with warm-up, compiled with Numba, independent of models.

The only entry point most callers need is :func:`run_chains`; a model hands it
an ``@njit`` log-density with the signature :data:`LOGP_SIGNATURE`.
"""

from mixgraph.mcmc.driver import ChainsResult, chain_generators, run_chains
from mixgraph.mcmc.state import LOGP_FUNCTION_TYPE, LOGP_SIGNATURE, STAT_NAMES

__all__ = [
    "LOGP_FUNCTION_TYPE",
    "LOGP_SIGNATURE",
    "STAT_NAMES",
    "ChainsResult",
    "chain_generators",
    "run_chains",
]
