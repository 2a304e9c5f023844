"""mixgraph: Bayesian models with finite mixtures, compiled through PyTensor and Numba."""

from mixgraph import math, transforms
from mixgraph.distributions import Distribution, Exponential, HalfNormal, Normal
from mixgraph.logprob import icdf, logcdf, logp
from mixgraph.model import Data, Deterministic, Model, Potential, modelcontext, set_data

__all__ = [
    "math",
    "transforms",
    "Distribution",
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
]
