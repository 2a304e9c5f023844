"""mixgraph: Bayesian models with finite mixtures, compiled through PyTensor and Numba."""

__version__ = "0.1.0"

from mixgraph import math, transforms
from mixgraph.distributions import (
    Dirichlet,
    Distribution,
    Exponential,
    HalfNormal,
    LKJCholeskyCov,
    LKJCorr,
    Multinomial,
    MvNormal,
    Normal,
    expand_packed_triangular,
)
from mixgraph.logprob import icdf, logcdf, logp
from mixgraph.model import Data, Deterministic, Model, Potential, modelcontext, set_data
from mixgraph.forward import draw, sample_prior_predictive
from mixgraph.optimize import find_MAP
from mixgraph.sampling import sample
from mixgraph import datasets

__all__ = [
    "math",
    "transforms",
    "Dirichlet",
    "Distribution",
    "LKJCholeskyCov",
    "LKJCorr",
    "Multinomial",
    "MvNormal",
    "expand_packed_triangular",
    "Exponential",
    "HalfNormal",
    "Normal",
    "icdf",
    "logcdf",
    "logp",
    "Data",
    "Deterministic",
    "Model",
    "Potential",
    "modelcontext",
    "set_data",
    "draw",
    "sample_prior_predictive",
    "find_MAP",
    "sample",
    "datasets",
]
