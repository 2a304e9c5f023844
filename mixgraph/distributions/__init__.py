"""Distributions: each a small class plus functions registered for its op."""

from mixgraph.distributions.base import Distribution
from mixgraph.distributions.continuous import Exponential, HalfNormal, Normal
from mixgraph.distributions.lkj import LKJCholeskyCov, LKJCorr, expand_packed_triangular
from mixgraph.distributions.multivariate import Dirichlet, Multinomial, MvNormal

__all__ = [
    "Distribution",
    "Dirichlet",
    "Exponential",
    "HalfNormal",
    "LKJCholeskyCov",
    "LKJCorr",
    "Multinomial",
    "MvNormal",
    "Normal",
    "expand_packed_triangular",
]
