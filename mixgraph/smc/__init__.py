"""Sequential Monte Carlo kernels: adaptive tempering, systematic resampling, mutation.

Pure Numba functions over small named tuples, beside :mod:`mixgraph.mcmc`;
nothing here knows a model. The prior and the likelihood come in as two
compiled log-densities ``(position, grad_out, float_data, int_data) -> float``.
"""

from mixgraph.smc.driver import MAX_STAGES, SMCFunctions, SMCRunsResult, run_smc_chains
from mixgraph.smc.kernel import KERNELS, SMCSettings, SMCState, StageInfo, init_smc, smc_stage
from mixgraph.smc.resampling import systematic_resampling
from mixgraph.smc.tempering import effective_sample_size, log_mean_exp, next_inverse_temperature

__all__ = [
    "KERNELS",
    "MAX_STAGES",
    "SMCFunctions",
    "SMCRunsResult",
    "SMCSettings",
    "SMCState",
    "StageInfo",
    "effective_sample_size",
    "init_smc",
    "log_mean_exp",
    "next_inverse_temperature",
    "run_smc_chains",
    "smc_stage",
    "systematic_resampling",
]
