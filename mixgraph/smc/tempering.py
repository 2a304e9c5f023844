"""Adaptive tempering: the next inverse temperature, and the log marginal likelihood.

The tempered targets are :math:`\\pi_\\beta(x) \\propto p(x) L(x)^\\beta`, from
the prior (:math:`\\beta = 0`) to the posterior (:math:`\\beta = 1`). With
equally weighted particles at :math:`\\beta_t`, moving to :math:`\\beta_{t+1}`
gives particle :math:`i` the incremental weight
:math:`w_i = L(x_i)^{\\beta_{t+1} - \\beta_t}`, and the next temperature is the
one whose weights have an effective sample size of ``threshold`` times the
number of particles (Ching and Chen 2007, section 3.2, "TMCMC"; Jasra, Stephens,
Doucet and Tsagaris 2011).
"""

import numpy as np
from numba import njit

__all__ = ["effective_sample_size", "log_mean_exp", "next_inverse_temperature"]

#: Bisection stops when the interval of inverse temperatures is this narrow.
BISECTION_TOLERANCE = 1e-12
BISECTION_MAX_ITERATIONS = 200


@njit(nogil=True, cache=True, error_model="numpy")
def log_mean_exp(log_values):
    """:math:`\\log \\frac{1}{n} \\sum_i e^{v_i}`, computed without overflow."""
    largest = np.max(log_values)
    if not np.isfinite(largest):
        return largest
    return largest + np.log(np.mean(np.exp(log_values - largest)))


@njit(nogil=True, cache=True, error_model="numpy")
def effective_sample_size(log_weights):
    """Kish's effective sample size :math:`(\\sum w)^2 / \\sum w^2` of unnormalised log weights."""
    largest = np.max(log_weights)
    if not np.isfinite(largest):
        return 0.0
    weights = np.exp(log_weights - largest)
    return np.sum(weights) ** 2 / np.sum(weights ** 2)


@njit(nogil=True, cache=True, error_model="numpy")
def _tempered_ess(log_likelihoods, increment):
    # A particle whose likelihood is -inf gets weight 0 at any positive increment.
    return effective_sample_size(increment * log_likelihoods)


@njit(nogil=True, cache=True, error_model="numpy")
def next_inverse_temperature(log_likelihoods, beta, threshold):
    """The next :math:`\\beta` in ``(beta, 1]``: the ESS of the incremental weights is ``threshold * n``.

    The ESS of :math:`w_i = e^{(\\beta' - \\beta) \\ell_i}` falls from ``n`` at
    :math:`\\beta' = \\beta` as :math:`\\beta'` grows; bisection finds the
    :math:`\\beta'` where it equals ``threshold * n`` (Ching and Chen 2007). If
    even :math:`\\beta' = 1` keeps the ESS above it, the next step is 1.

    Parameters
    ----------
    log_likelihoods : ndarray of shape (n,)
        Log-likelihood of each (equally weighted) particle.
    beta : float
        The current inverse temperature, in ``[0, 1)``.
    threshold : float
        Target ESS as a fraction of the number of particles, in ``(0, 1)``.

    Returns
    -------
    float
    """
    target = threshold * log_likelihoods.shape[0]
    if _tempered_ess(log_likelihoods, 1.0 - beta) >= target:
        return 1.0
    low, high = beta, 1.0
    for _ in range(BISECTION_MAX_ITERATIONS):
        middle = 0.5 * (low + high)
        if _tempered_ess(log_likelihoods, middle - beta) >= target:
            low = middle
        else:
            high = middle
        if high - low < BISECTION_TOLERANCE:
            break
    # ``low`` keeps the ESS at or above the target; never return beta itself.
    return low if low > beta else high
