"""Distributions: each a small class plus functions registered for its op."""

from mixgraph.distributions.base import Distribution
from mixgraph.distributions.continuous import Exponential, HalfNormal, Normal

__all__ = ["Distribution", "Exponential", "HalfNormal", "Normal"]
