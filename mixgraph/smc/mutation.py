"""Mutation kernels: moves that leave the tempered target :math:`p(x) L(x)^\\beta` invariant.

Independent Metropolis-Hastings with the Gaussian fitted to the particles
(PyMC's default SMC kernel, "IMH"), and a short Hamiltonian Monte Carlo
trajectory with a diagonal metric from the particles' variances (Buchholz,
Chopin and Jacob 2021, "Adaptive tuning of Hamiltonian Monte Carlo within
Sequential Monte Carlo"). One call moves every particle once and returns
the number of accepted moves.
"""

import numpy as np
from numba import njit

from mixgraph.smc.proposal import proposal_log_density, tempered_logp

__all__ = ["imh_step", "hmc_step"]


@njit(nogil=True, cache=True, error_model="numpy")
def imh_step(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int,
             rng, beta, proposal, particles, prior_logps, likelihood_logps, proposal_logps):
    """One independent Metropolis-Hastings move of every particle, in place.

    A proposal :math:`x' \\sim q` independent of the current :math:`x` is
    accepted with probability
    :math:`\\min(1, \\pi_\\beta(x') q(x) / (\\pi_\\beta(x) q(x')))`
    (Tierney 1994, section 2.3.3). ``proposal_logps`` holds :math:`\\log q(x_i)`
    of the current particles and is updated with them.
    """
    count, dim = particles.shape
    grad, scratch = np.empty(dim), np.empty(dim)
    accepted = 0
    for i in range(count):
        standard = rng.standard_normal(dim)
        candidate = proposal.mean + proposal.cholesky @ standard
        candidate_q = -0.5 * np.dot(standard, standard)
        target, prior, likelihood = tempered_logp(prior_fn, prior_float, prior_int, likelihood_fn,
                                                  likelihood_float, likelihood_int, candidate, beta,
                                                  grad, scratch)
        if target == -np.inf:
            continue
        current = prior_logps[i] + beta * likelihood_logps[i]
        log_ratio = (target - candidate_q) - (current - proposal_logps[i])
        if np.log(rng.random()) < log_ratio:
            particles[i] = candidate
            prior_logps[i], likelihood_logps[i], proposal_logps[i] = prior, likelihood, candidate_q
            accepted += 1
    return accepted


@njit(nogil=True, cache=True, error_model="numpy")
def current_proposal_logps(proposal, particles):
    """:math:`\\log q(x_i)` for every particle (same constant as :func:`imh_step`'s)."""
    result = np.empty(particles.shape[0])
    for i in range(particles.shape[0]):
        result[i] = proposal_log_density(proposal, particles[i])
    return result


@njit(nogil=True, cache=True, error_model="numpy")
def _trajectory(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int,
                beta, position, momentum, grad, step_size, inverse_mass, leapfrog_steps):
    """Leapfrog integration (Neal 2011, section 5.2.3.3) of the tempered target."""
    scratch = np.empty(position.shape[0])
    target, prior, likelihood = -np.inf, -np.inf, -np.inf
    momentum = momentum + 0.5 * step_size * grad
    for step in range(leapfrog_steps):
        position = position + step_size * inverse_mass * momentum
        target, prior, likelihood = tempered_logp(prior_fn, prior_float, prior_int, likelihood_fn,
                                                  likelihood_float, likelihood_int, position, beta,
                                                  grad, scratch)
        if target == -np.inf:
            break
        scale = 0.5 if step == leapfrog_steps - 1 else 1.0
        momentum = momentum + scale * step_size * grad
    return position, momentum, target, prior, likelihood


@njit(nogil=True, cache=True, error_model="numpy")
def hmc_step(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int,
             rng, beta, step_size, inverse_mass, leapfrog_steps, particles, prior_logps,
             likelihood_logps):
    """One HMC move of every particle, in place (metric ``diag(1 / inverse_mass)``)."""
    count, dim = particles.shape
    grad, scratch = np.empty(dim), np.empty(dim)
    accepted = 0
    for i in range(count):
        start = particles[i].copy()
        current, _, _ = tempered_logp(prior_fn, prior_float, prior_int, likelihood_fn,
                                      likelihood_float, likelihood_int, start, beta, grad, scratch)
        momentum = rng.standard_normal(dim) / np.sqrt(inverse_mass)
        kinetic = 0.5 * np.sum(inverse_mass * momentum ** 2)
        position, momentum, target, prior, likelihood = _trajectory(
            prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int, beta,
            start, momentum, grad, step_size, inverse_mass, leapfrog_steps)
        if target == -np.inf:
            continue
        log_ratio = target - 0.5 * np.sum(inverse_mass * momentum ** 2) - current + kinetic
        if np.log(rng.random()) < log_ratio:
            particles[i] = position
            prior_logps[i], likelihood_logps[i] = prior, likelihood
            accepted += 1
    return accepted
