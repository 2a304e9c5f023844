"""Tests of the zero-inflated and hurdle families (issue 3, sections 5 and 7)."""

from __future__ import annotations

import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from scipy import stats

from mixgraph.distributions.zero_inflated import (
    HurdleGamma, HurdleLogNormal, HurdleNegativeBinomial, HurdlePoisson,
    ZeroInflatedBinomial, ZeroInflatedNegativeBinomial, ZeroInflatedPoisson,
)
from mixgraph.logprob import logp

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
MODE = Mode(linker="py", optimizer="fast_compile")
PSI = 0.7
VALUES = np.array([0, 1, 2, 5, 0, 9])

ZERO_INFLATED = {  # class, parameters, scipy base distribution
    "poisson": (ZeroInflatedPoisson, {"mu": 3.0}, stats.poisson(3.0)),
    "negative binomial": (ZeroInflatedNegativeBinomial, {"mu": 3.0, "alpha": 2.0}, stats.nbinom(2.0, 2.0 / 5.0)),
    "binomial": (ZeroInflatedBinomial, {"n": 10, "p": 0.3}, stats.binom(10, 0.3)),
}
HURDLE = {
    "poisson": (HurdlePoisson, {"mu": 3.0}, stats.poisson(3.0), True),
    "negative binomial": (HurdleNegativeBinomial, {"mu": 3.0, "alpha": 2.0}, stats.nbinom(2.0, 2.0 / 5.0), True),
    "gamma": (HurdleGamma, {"alpha": 2.0, "beta": 1.5}, stats.gamma(2.0, scale=1 / 1.5), False),
    "lognormal": (HurdleLogNormal, {"mu": 0.5, "sigma": 0.8}, stats.lognorm(0.8, scale=np.exp(0.5)), False),
}


def evaluate(*outputs):
    return pytensor.function([], list(outputs), mode=MODE)()


@pytest.mark.parametrize("case", list(ZERO_INFLATED))
def test_zero_inflated_logp(case):
    cls, parameters, base = ZERO_INFLATED[case]
    rv = cls.dist(psi=PSI, **parameters)
    result = evaluate(logp(rv, VALUES))[0]
    expected = np.where(VALUES == 0, np.log((1 - PSI) + PSI * base.pmf(0)), np.log(PSI) + base.logpmf(VALUES))
    np.testing.assert_allclose(result, expected, rtol=1e-10)
    assert result[0] == pytest.approx(np.log(0.3 + 0.7 * base.pmf(0)), rel=1e-12)  # y = 0 directly


@pytest.mark.parametrize("case", list(HURDLE))
def test_hurdle_logp_and_zero_fraction(case):
    cls, parameters, base, discrete = HURDLE[case]
    values = VALUES if discrete else np.array([0.0, 0.5, 1.0, 2.5, 0.0, 7.0])
    rv = cls.dist(psi=PSI, size=(4000,), **parameters)
    result = evaluate(logp(cls.dist(psi=PSI, **parameters), values))[0]
    assert result[0] == np.log(1 - PSI) and result[4] == np.log(1 - PSI)  # exactly log(1 - psi)
    positive = values > 0
    density = base.logpmf(values) - np.log(base.sf(0)) if discrete else base.logpdf(values)
    np.testing.assert_allclose(result[positive], np.log(PSI) + density[positive], rtol=1e-10)
    rng = rv.owner.inputs[0]
    rng.set_value(np.random.default_rng(11))
    sample = pytensor.function([], rv, mode=MODE)()
    assert abs(np.mean(sample == 0) - (1 - PSI)) < 0.025
    assert np.all(sample >= 0)
    if discrete:  # the positive part is the zero-truncated base
        positive_sample = sample[sample > 0]
        support = np.arange(1, 60)
        expected = base.pmf(support) / base.sf(0)
        counts = np.bincount(positive_sample, minlength=60)[1:60]
        assert stats.chisquare(counts[:12], expected[:12] / expected[:12].sum() * counts[:12].sum()).pvalue > 1e-3


@pytest.mark.parametrize("cls, parameters", [(HurdlePoisson, {}), (ZeroInflatedPoisson, {}), (HurdleGamma, {"alpha": 2.0})])
def test_gradient_finite_with_zeros_in_data(cls, parameters):
    psi, location = pt.scalar("psi"), pt.scalar("location")
    if cls is HurdleGamma:
        rv = cls.dist(psi=psi, beta=pt.exp(location), **parameters)
        data = np.array([0.0, 0.0, 1.5, 3.0])
    else:
        rv = cls.dist(psi=psi, mu=pt.exp(location))
        data = np.array([0, 0, 1, 4])
    total = pt.sum(logp(rv, data))
    value, *gradients = pytensor.function([psi, location], [total, *pytensor.grad(total, [psi, location])], mode=MODE)(0.6, 0.2)
    assert np.isfinite(value) and all(np.isfinite(g) for g in gradients)


def test_psi_checked_at_construction():
    with pytest.raises(ValueError, match="psi must be in \\[0, 1\\]"):
        ZeroInflatedPoisson.dist(psi=1.5, mu=1.0)
