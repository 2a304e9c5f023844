"""What the chain kernel carries and is compiled for: its settings, its state, and their Numba types.

:data:`LOGP_SIGNATURE` is the signature every model's log-density is compiled
for, and :data:`LOGP_FUNCTION_TYPE` the first-class function type the kernels
(:mod:`mixgraph.mcmc.kernel`, and SMC's, Pathfinder's) take it as, so that a
new model never adds a specialisation of a kernel.
"""

from typing import NamedTuple

import numba
import numpy as np
from numba import types

from mixgraph.mcmc.adaptation import DualAveragingState, MomentsState
from mixgraph.mcmc.mass_matrix import DrawWindow
from mixgraph.mcmc.metrics import Metric

__all__ = [
    "ADAPTATION_MODES",
    "CHAIN_STATE_TYPE",
    "ESTIMATE_FUNCTION_TYPE",
    "ESTIMATE_SIGNATURE",
    "FLOAT_MATRIX",
    "FLOAT_VECTOR",
    "INT_VECTOR",
    "LOGP_FUNCTION_TYPE",
    "LOGP_SIGNATURE",
    "METRIC_KINDS",
    "RNG_TYPE",
    "SETTINGS_TYPE",
    "STAT_NAMES",
    "ChainState",
    "SamplerSettings",
]

LOGP_SIGNATURE = numba.float64(
    numba.float64[::1], numba.float64[::1], numba.float64[::1], numba.int64[::1]
)
"""``logp_fn(position, grad_out, float_data, int_data) -> logp``."""

LOGP_FUNCTION_TYPE = types.FunctionType(LOGP_SIGNATURE)

ADAPTATION_MODES = {"nutpie": 0, "stan": 1}

METRIC_KINDS = {"diag": 0, "dense": 1, "low_rank": 2}

STAT_NAMES = (
    "lp",
    "acceptance_rate",
    "step_size",
    "step_size_bar",
    "tree_depth",
    "n_steps",
    "diverging",
    "energy",
    "energy_error",
    "max_energy_error",
    "reached_max_treedepth",
)
"""Columns of the ``stats_out`` array written by :func:`run_chain`, in order."""


class SamplerSettings(NamedTuple):
    """Constant settings of a run (floats and ints only, so one compiled type)."""

    n_tune: int
    target_accept: float
    max_tree_depth: int
    max_energy_error: float
    adaptation_mode: int  # ADAPTATION_MODES value
    gamma: float
    t0: float
    kappa: float
    metric_kind: int  # METRIC_KINDS value
    window_capacity: int  # rows of the draw window (0 for the diagonal metric)
    metric_regularisation: float  # low rank: nutpie's mass_matrix_gamma
    eigenvalue_cutoff: float  # low rank: nutpie's mass_matrix_eigval_cutoff


class ChainState(NamedTuple):
    """Everything a chain carries from one iteration (or chunk) to the next."""

    iteration: int
    position: np.ndarray
    logp: float
    logp_grad: np.ndarray
    step_size: float
    metric: Metric
    metric_changed: bool  # the metric has been re-estimated at least once
    dual_averaging: DualAveragingState
    foreground: MomentsState
    background: MomentsState
    window: DrawWindow


def _example_chain_state() -> ChainState:
    vector = np.zeros(1)
    matrix = np.zeros((1, 1))
    moments = MomentsState(0, vector, vector, vector, vector)
    dual_averaging = DualAveragingState(0, 0.0, 0.0, 0.0, 0.0)
    metric = Metric(vector, matrix, vector, vector)
    return ChainState(0, vector, 0.0, vector, 1.0, metric, False, dual_averaging, moments,
                      moments, DrawWindow(matrix, matrix, 0, 0, 0))


def _example_settings() -> SamplerSettings:
    return SamplerSettings(0, 0.8, 10, 1000.0, 0, 0.05, 10.0, 0.75, 0, 0, 1e-5, 100.0)


CHAIN_STATE_TYPE = numba.typeof(_example_chain_state())
SETTINGS_TYPE = numba.typeof(_example_settings())
RNG_TYPE = numba.typeof(np.random.default_rng(0))
FLOAT_VECTOR = numba.float64[::1]
INT_VECTOR = numba.int64[::1]
FLOAT_MATRIX = numba.float64[:, ::1]

METRIC_TYPE = numba.typeof(_example_chain_state().metric)
ESTIMATE_SIGNATURE = METRIC_TYPE(FLOAT_MATRIX, FLOAT_MATRIX, FLOAT_VECTOR, numba.float64,
                                 numba.float64)
"""``estimate_fn(draws, grads, previous_scale, regularisation, eigenvalue_cutoff) -> Metric``.

A dense or low-rank estimate from the window's draws
(:data:`mixgraph.mcmc.mass_matrix.WINDOW_ESTIMATES`). The kernel calls it
through a pointer, so its code is compiled on its own, only for a run with
that metric, and is not part of the kernel's library."""

ESTIMATE_FUNCTION_TYPE = types.FunctionType(ESTIMATE_SIGNATURE)
