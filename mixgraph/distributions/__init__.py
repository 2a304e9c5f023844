"""Distributions: each a small class plus functions registered for its op."""

import sys

from mixgraph import transforms

# PyMC's spelling: ``mg.distributions.transforms.ordered``, and
# ``from mixgraph.distributions.transforms import ordered``, reach mixgraph.transforms itself.
sys.modules[f"{__name__}.transforms"] = transforms

from mixgraph.distributions.base import Distribution
from mixgraph.distributions.continuous import Exponential, HalfNormal, Laplace, Logistic, Normal
from mixgraph.distributions.flat import Flat, HalfFlat
from mixgraph.distributions.continuous_bounded import Beta, TruncatedNormal, Uniform
from mixgraph.distributions.discrete import Bernoulli, Binomial, Geometric, NegativeBinomial, Poisson
from mixgraph.distributions.dirichlet_multinomial import DirichletMultinomial
from mixgraph.distributions.discrete_bounded import Categorical, DiracDelta, DiscreteUniform
from mixgraph.distributions.heavy_tailed import Cauchy, HalfCauchy, HalfStudentT, StudentT
from mixgraph.distributions.markov import DiscreteMarkovChain
from mixgraph.distributions.lkj import LKJCorr, expand_packed_triangular
from mixgraph.distributions.lkj_cholesky import LKJCholeskyCov
from mixgraph.distributions.mixture import Mixture, NormalMixture
from mixgraph.distributions.multivariate import Dirichlet, Multinomial, MvNormal
from mixgraph.distributions.positive import Gamma, InverseGamma, LogNormal, Lognormal, Weibull
from mixgraph.distributions.stick_breaking import StickBreakingWeights
from mixgraph.distributions.triangular import Triangular
from mixgraph.distributions.zero_inflated import (
    HurdleGamma,
    HurdleLogNormal,
    HurdleNegativeBinomial,
    HurdlePoisson,
    ZeroInflatedBinomial,
    ZeroInflatedNegativeBinomial,
    ZeroInflatedPoisson,
)

__all__ = [
    "transforms",
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "DiracDelta", "Dirichlet", "DirichletMultinomial",
    "DiscreteMarkovChain", "DiscreteUniform", "Distribution", "Exponential", "Flat", "Gamma", "Geometric", "HalfCauchy",
    "HalfFlat", "HalfNormal", "HalfStudentT", "InverseGamma", "LKJCholeskyCov", "LKJCorr",
    "Laplace", "LogNormal", "Lognormal", "Logistic", "Multinomial", "MvNormal", "NegativeBinomial", "Normal",
    "Mixture", "NormalMixture", "HurdleGamma", "HurdleLogNormal", "HurdleNegativeBinomial", "HurdlePoisson",
    "ZeroInflatedBinomial", "ZeroInflatedNegativeBinomial", "ZeroInflatedPoisson", "Poisson", "StickBreakingWeights", "StudentT", "Triangular", "TruncatedNormal", "Uniform", "Weibull", "expand_packed_triangular",
]
