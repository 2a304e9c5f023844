"""Chain starts: multi-path Pathfinder, or jitter around the initial point.

Nothing here knows the sampler: it takes a compiled log-density and returns
starting positions (:mod:`mixgraph.compile`'s ``CompiledLogp``).
"""

from mixgraph.init.jitter import INITIALIZATION_ATTEMPTS, SamplingError, finite_at, jittered_starts
from mixgraph.init.multipath import MultiPathResult, PathfinderFailure, multi_path
from mixgraph.init.prior_draws import PriorDrawError, unconstrained_prior_draws

__all__ = [
    "INITIALIZATION_ATTEMPTS",
    "MultiPathResult",
    "PathfinderFailure",
    "multi_path",
    "PriorDrawError",
    "SamplingError",
    "finite_at",
    "jittered_starts",
    "unconstrained_prior_draws",
]
