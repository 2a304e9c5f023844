"""Tests of mean() and variance(): closed forms and Monte Carlo from draws."""

from __future__ import annotations

import warnings

import numpy as np
import pytensor
import pytest
from pytensor.compile.mode import Mode

from mixgraph.distributions.continuous import Normal
from mixgraph.distributions.discrete import Poisson
from mixgraph.distributions.mixture import Mixture
from mixgraph.distributions.multivariate import MvNormal
from mixgraph.distributions.zero_inflated import HurdlePoisson, ZeroInflatedPoisson
from mixgraph.moments import mean, variance

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
MODE = Mode(linker="py", optimizer="fast_compile")
W = np.array([0.3, 0.7])
MEANS = [np.array([-1.0, 2.0]), np.array([3.0, 0.5])]
COVS = [np.array([[1.0, 0.2], [0.2, 0.5]]), np.array([[0.3, 0.0], [0.0, 2.0]])]


def _mv_mean():
    return W[0] * MEANS[0] + W[1] * MEANS[1]


def _mv_cov():
    mu = _mv_mean()
    return sum(w * (c + np.outer(m - mu, m - mu)) for w, m, c in zip(W, MEANS, COVS))


CASES = {  # name -> (rv builder, closed-form mean, closed-form variance)
    "normal": (lambda: Normal.dist(1.5, 2.0, size=(2,)), np.full(2, 1.5), np.full(2, 4.0)),
    "normal mixture": (
        lambda: Mixture.dist(w=W, comp_dists=Normal.dist(mu=[-2.0, 1.0], sigma=[0.5, 1.5])),
        0.3 * -2 + 0.7 * 1.0,
        0.3 * (0.25 + 4) + 0.7 * (2.25 + 1) - (0.3 * -2 + 0.7) ** 2,
    ),
    "poisson mixture": (
        lambda: Mixture.dist(w=W, comp_dists=[Poisson.dist(2.0), Poisson.dist(8.0)]),
        0.3 * 2 + 0.7 * 8, 0.3 * (2 + 4) + 0.7 * (8 + 64) - (0.3 * 2 + 0.7 * 8) ** 2,
    ),
    "mvnormal mixture": (
        lambda: Mixture.dist(w=W, comp_dists=[MvNormal.dist(mu=m, cov=c) for m, c in zip(MEANS, COVS)]),
        _mv_mean(), _mv_cov(),
    ),
    "zero-inflated poisson": (lambda: ZeroInflatedPoisson.dist(psi=0.6, mu=4.0), 0.6 * 4, 0.6 * (4 + 16) - (0.6 * 4) ** 2),
    "hurdle poisson": (
        lambda: HurdlePoisson.dist(psi=0.6, mu=4.0),
        0.6 * 4 / (1 - np.exp(-4)), 0.6 * 20 / (1 - np.exp(-4)) - (0.6 * 4 / (1 - np.exp(-4))) ** 2,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_moments_closed_form_and_monte_carlo(case):
    build, expected_mean, expected_variance = CASES[case]
    rv = build()
    computed_mean, computed_variance = pytensor.function([], [mean(rv), variance(rv)], mode=MODE)()
    np.testing.assert_allclose(computed_mean, np.broadcast_to(expected_mean, computed_mean.shape), rtol=1e-12)
    np.testing.assert_allclose(computed_variance, np.broadcast_to(expected_variance, computed_variance.shape), rtol=1e-12)
    rng = rv.owner.inputs[0]
    rng.set_value(np.random.default_rng(2))
    function = pytensor.function([], rv, updates={rng: rv.owner.outputs[0]}, mode=MODE)
    sample = np.stack([function() for _ in range(20000)]).astype(float)
    standard_error = np.sqrt(np.diag(np.atleast_2d(computed_variance)) if np.ndim(computed_variance) == 2 and sample.ndim == 2 and case.startswith("mv") else computed_variance) / np.sqrt(len(sample))
    np.testing.assert_array_less(np.abs(sample.mean(axis=0) - computed_mean), 5 * standard_error)
    if sample.ndim == 2 and case.startswith("mv"):
        np.testing.assert_allclose(np.cov(sample.T), computed_variance, atol=0.1)
    else:
        np.testing.assert_allclose(sample.var(axis=0), computed_variance, rtol=0.05)
