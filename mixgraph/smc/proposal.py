"""Fitting the Gaussian proposal to the particles, and tempered log-densities.

The prior and the likelihood are two compiled functions with the signature of
:func:`mixgraph.compile.compile_numba_logp`'s ``logp_fn``::

    logp_fn(position, grad_out, float_data, int_data) -> float
"""

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["GaussianProposal", "fit_gaussian", "evaluate", "tempered_logp", "unsigned_correlations"]

#: Added to the diagonal of the fitted covariance (PyMC's SMC adds 1e-6 too).
COVARIANCE_JITTER = 1e-6


class GaussianProposal(NamedTuple):
    """A multivariate Normal fitted to the particles."""

    mean: np.ndarray  # (dim,)
    cholesky: np.ndarray  # (dim, dim), lower triangular
    inverse_cholesky: np.ndarray  # (dim, dim)
    variances: np.ndarray  # (dim,), the diagonal of the covariance


@njit(nogil=True, cache=True, error_model="numpy")
def fit_gaussian(particles, log_weights):
    """The weighted mean and covariance of the particles, as a :class:`GaussianProposal`."""
    count, dim = particles.shape
    weights = np.exp(log_weights - np.max(log_weights))
    weights = weights / np.sum(weights)
    mean = np.zeros(dim)
    for i in range(count):
        mean += weights[i] * particles[i]
    covariance = np.zeros((dim, dim))
    for i in range(count):
        centred = particles[i] - mean
        covariance += weights[i] * np.outer(centred, centred)
    for j in range(dim):
        covariance[j, j] += COVARIANCE_JITTER
    cholesky = np.linalg.cholesky(covariance)
    return GaussianProposal(mean, cholesky, np.linalg.inv(cholesky), np.diag(covariance).copy())


@njit(nogil=True, cache=True, error_model="numpy")
def proposal_log_density(proposal, position):
    """The proposal's log-density at ``position``, up to a constant shared by every point."""
    standardised = proposal.inverse_cholesky @ (position - proposal.mean)
    return -0.5 * np.dot(standardised, standardised)


@njit(nogil=True, cache=True, error_model="numpy")
def evaluate(logp_fn, float_data, int_data, position, grad_out):
    """``logp_fn`` at ``position``; any non-finite value (value or gradient) becomes ``-inf``."""
    value = logp_fn(position, grad_out, float_data, int_data)
    if not np.isfinite(value) or not np.all(np.isfinite(grad_out)):
        return -np.inf
    return value


@njit(nogil=True, cache=True, error_model="numpy")
def tempered_logp(prior_fn, prior_float, prior_int, likelihood_fn, likelihood_float, likelihood_int,
                  position, beta, grad_out, scratch):
    """``(prior + beta * likelihood, prior, likelihood)`` at ``position``; the gradient in ``grad_out``.

    The likelihood is not evaluated where the prior is ``-inf`` (outside its
    support, the likelihood's parameters may be invalid).
    """
    prior = evaluate(prior_fn, prior_float, prior_int, position, grad_out)
    if prior == -np.inf:
        return -np.inf, prior, -np.inf
    likelihood = evaluate(likelihood_fn, likelihood_float, likelihood_int, position, scratch)
    if likelihood == -np.inf:
        return -np.inf, prior, likelihood
    grad_out += beta * scratch
    return prior + beta * likelihood, prior, likelihood


@njit(nogil=True, cache=True, error_model="numpy")
def unsigned_correlations(reference, particles):
    """:math:`|r_j|`, the Pearson correlation of each coordinate ``j`` of two particle sets.

    A coordinate with no spread in either set counts as fully correlated (1).
    """
    count, dim = particles.shape
    result = np.ones(dim)
    for j in range(dim):
        first = reference[:, j] - np.mean(reference[:, j])
        second = particles[:, j] - np.mean(particles[:, j])
        norm = np.sqrt(np.sum(first ** 2) * np.sum(second ** 2))
        if norm > 0.0:
            result[j] = abs(np.sum(first * second) / norm)
    return result
