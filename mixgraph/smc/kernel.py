"""One stage of Sequential Monte Carlo: reweight, resample, mutate.

:func:`smc_stage` moves the particles from the tempered target at
:math:`\\beta_t` to the one at :math:`\\beta_{t+1}` (Del Moral, Doucet and Jasra
2006, section 3.3):

1. choose :math:`\\beta_{t+1}` so that the incremental weights keep an ESS of
   ``threshold`` times the particles (:mod:`mixgraph.smc.tempering`);
2. add the log mean incremental weight to the log marginal likelihood
   (Del Moral et al. 2006, section 3.2.1, the estimate of :math:`Z_{t+1}/Z_t`);
3. fit the Gaussian proposal to the weighted particles, then resample
   systematically (:mod:`mixgraph.smc.resampling`);
4. mutate with a kernel that leaves :math:`\\pi_{\\beta_{t+1}}` invariant
   (:mod:`mixgraph.smc.mutation`), repeated until the particles have
   decorrelated from their start: while more than 90% of the coordinates'
   unsigned correlations with the start still fall by over
   ``correlation_threshold`` (PyMC's IMH rule), at least as many steps as give
   each particle probability ``move_probability`` of moving at the stage's
   acceptance rate so far (PyMC 3's ``p_acc_rate`` rule), at most ``max_steps``.

The entry points are compiled for the first-class function type of
:mod:`mixgraph.mcmc.kernel`, so that a new model does not recompile them, and
cached on disk. They compile on first use (:mod:`mixgraph.mcmc.lazy`), not
at ``import mixgraph``. This module knows nothing of models.
"""

from typing import NamedTuple

import numba
import numpy as np
from numba import njit

from mixgraph.mcmc.state import FLOAT_VECTOR, INT_VECTOR, LOGP_FUNCTION_TYPE, RNG_TYPE
from mixgraph.mcmc.lazy import lazy_entry_point
from mixgraph.smc.mutation import current_proposal_logps, hmc_step, imh_step
from mixgraph.smc.proposal import fit_gaussian, tempered_logp, unsigned_correlations
from mixgraph.smc.resampling import systematic_resampling
from mixgraph.smc.tempering import effective_sample_size, log_mean_exp, next_inverse_temperature

__all__ = ["KERNELS", "SMCSettings", "SMCState", "StageInfo", "init_smc", "smc_stage"]

KERNELS = {"imh": 0, "hmc": 1}


class SMCState(NamedTuple):
    """The particles at inverse temperature ``beta``, equally weighted."""

    particles: np.ndarray  # (n, dim)
    prior_logps: np.ndarray  # (n,)
    likelihood_logps: np.ndarray  # (n,)
    beta: float
    log_marginal_likelihood: float  # log Z_beta, accumulated so far
    acceptance_rate: float  # of the last mutation (1.0 before the first)
    step_size: float  # HMC's, carried from stage to stage


class SMCSettings(NamedTuple):
    """Constant settings of a run (floats and ints only, so one compiled type)."""

    threshold: float
    correlation_threshold: float
    move_probability: float
    max_steps: int
    kernel: int  # KERNELS value
    leapfrog_steps: int
    target_accept: float  # HMC's step-size target


class StageInfo(NamedTuple):
    """What one stage did."""

    beta: float
    acceptance_rate: float
    n_steps: int
    log_increment: float
    ess: float  # of the incremental weights, before resampling


def _example_state() -> SMCState:
    return SMCState(np.zeros((1, 1)), np.zeros(1), np.zeros(1), 0.0, 0.0, 1.0, 1.0)


STATE_TYPE = numba.typeof(_example_state())
SETTINGS_TYPE = numba.typeof(SMCSettings(0.5, 0.01, 0.85, 100, 0, 10, 0.65))
INFO_TYPE = numba.typeof(StageInfo(0.0, 0.0, 0, 0.0, 0.0))
_FUNCTIONS = (LOGP_FUNCTION_TYPE, FLOAT_VECTOR, INT_VECTOR, LOGP_FUNCTION_TYPE, FLOAT_VECTOR, INT_VECTOR)


@lazy_entry_point(numba.types.Tuple((FLOAT_VECTOR, FLOAT_VECTOR))(*_FUNCTIONS, numba.float64[:, ::1]),
                  nogil=True, cache=True, error_model="numpy")
def init_smc(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int,
             particles):
    """The prior and likelihood log-densities of every particle (``-inf`` where not finite)."""
    count, dim = particles.shape
    prior_logps, likelihood_logps = np.empty(count), np.empty(count)
    grad, scratch = np.empty(dim), np.empty(dim)
    for i in range(count):
        _, prior_logps[i], likelihood_logps[i] = tempered_logp(
            prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int,
            particles[i], 0.0, grad, scratch)
    return prior_logps, likelihood_logps


@njit(nogil=True, cache=True, error_model="numpy")
def _minimum_steps(acceptance_rate, move_probability):
    """Steps after which a particle has moved with probability ``move_probability``."""
    if acceptance_rate <= 0.0:
        return 1 << 30  # capped by max_steps
    if acceptance_rate >= 1.0:
        return 1
    return int(np.ceil(np.log(1.0 - move_probability) / np.log(1.0 - acceptance_rate)))


@njit(nogil=True, cache=True, error_model="numpy")
def _mutate(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int,
            rng, beta, proposal, particles, prior_logps, likelihood_logps, state, settings):
    """Repeat the mutation kernel until the particles decorrelate; return the counts."""
    count = particles.shape[0]
    reference = particles.copy()
    previous = np.full(particles.shape[1], 2.0)
    proposal_logps = current_proposal_logps(proposal, particles)
    step_size = state.step_size
    accepted, steps = 0, 0
    while steps < settings.max_steps:
        if settings.kernel == 0:
            moved = imh_step(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float,
                             likelihood_int, rng, beta, proposal, particles, prior_logps,
                             likelihood_logps, proposal_logps)
        else:
            moved = hmc_step(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float,
                             likelihood_int, rng, beta, step_size, proposal.variances,
                             settings.leapfrog_steps, particles, prior_logps, likelihood_logps)
            # Multiplicative step-size update toward the target acceptance rate
            # (a heuristic in the spirit of Buchholz et al. 2021, section 3).
            step_size *= np.exp(moved / count - settings.target_accept)
        accepted += moved
        steps += 1
        correlations = unsigned_correlations(reference, particles)
        decorrelating = np.mean((previous - correlations) > settings.correlation_threshold) > 0.9
        previous = correlations
        # The acceptance rate of this stage so far sets the least number of steps.
        minimum = _minimum_steps(accepted / (steps * count), settings.move_probability)
        if steps >= minimum and not decorrelating:
            break
    return accepted, steps, step_size


@lazy_entry_point(numba.types.Tuple((STATE_TYPE, INFO_TYPE))(*_FUNCTIONS, RNG_TYPE, STATE_TYPE,
                                                              SETTINGS_TYPE),
                  nogil=True, cache=True, error_model="numpy")
def smc_stage(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int,
              rng, state, settings):
    """Reweight to the next inverse temperature, resample, mutate (see the module docstring).

    Parameters
    ----------
    prior_fn, likelihood_fn : LOGP_FUNCTION_TYPE
        ``(position, grad_out, float_data, int_data) -> float``.
    prior_float, prior_int, likelihood_float, likelihood_int : ndarray
        Their data buffers, passed through.
    rng : numpy.random.Generator
        This run's own generator, advanced in place.
    state : SMCState
        Equally weighted particles at ``state.beta < 1``.
    settings : SMCSettings

    Returns
    -------
    SMCState, StageInfo
    """
    beta = next_inverse_temperature(state.likelihood_logps, state.beta, settings.threshold)
    log_weights = (beta - state.beta) * state.likelihood_logps
    log_increment = log_mean_exp(log_weights)
    ess = effective_sample_size(log_weights)
    proposal = fit_gaussian(state.particles, log_weights)
    ancestors = systematic_resampling(rng, log_weights)
    particles = np.ascontiguousarray(state.particles[ancestors])
    prior_logps = state.prior_logps[ancestors].copy()
    likelihood_logps = state.likelihood_logps[ancestors].copy()
    accepted, steps, step_size = _mutate(
        prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int, rng,
        beta, proposal, particles, prior_logps, likelihood_logps, state, settings)
    acceptance_rate = accepted / (steps * particles.shape[0])
    new_state = SMCState(particles, prior_logps, likelihood_logps, beta,
                         state.log_marginal_likelihood + log_increment, acceptance_rate, step_size)
    return new_state, StageInfo(beta, acceptance_rate, steps, log_increment, ess)
