"""Jittered chain starts around the initial point, and the error when none is finite."""

from __future__ import annotations

from typing import Any

import numpy as np

from mixgraph.compile import CompiledLogp, unflatten_vector
from mixgraph.diagnostics import initial_point_diagnostics
from mixgraph.point import point_logps

__all__ = ["INITIALIZATION_ATTEMPTS", "SamplingError", "finite_at", "jittered_starts"]

INITIALIZATION_ATTEMPTS = 20


class SamplingError(RuntimeError):
    """The sampler could not start (no finite log-density near the initial point)."""


def finite_at(compiled: CompiledLogp, position: np.ndarray) -> bool:
    gradient = np.zeros_like(position)
    logp = compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
    return bool(np.isfinite(logp) and np.all(np.isfinite(gradient)))


def jittered_starts(
    model: Any, compiled: CompiledLogp, start: np.ndarray, chains: int, seed: np.random.SeedSequence
) -> np.ndarray:
    """One start per chain: ``start`` plus uniform(-1, 1) jitter, retried until finite.

    Raises
    ------
    SamplingError
        Naming each variable whose log-density is not finite at the initial
        point, with its value, when no jitter gives a finite start.
    """
    rng = np.random.default_rng(seed)
    starts = np.empty((chains, start.size))
    for chain in range(chains):
        for _ in range(INITIALIZATION_ATTEMPTS):
            candidate = start + rng.uniform(-1.0, 1.0, size=start.size)
            if finite_at(compiled, candidate):
                starts[chain] = candidate
                break
        else:
            if finite_at(compiled, start):
                starts[chain] = start
                continue
            raise SamplingError(_initial_failure_message(model, compiled, start))
    return starts


def _initial_failure_message(model: Any, compiled: CompiledLogp, start: np.ndarray) -> str:
    point = unflatten_vector(start, compiled.layout)
    logps = point_logps(model, point)
    bad = {name: value for name, value in logps.items() if not np.isfinite(value)}
    lines = [f"  {name}: log-density {value}" for name, value in bad.items()]
    values = [f"  {name} = {np.array2string(np.asarray(value), threshold=6)}" for name, value in point.items()]
    causes = [f"  {sentence}" for sentence in initial_point_diagnostics(model, point)]
    return (
        "Initial evaluation of the model failed: the log-density or its gradient is not finite "
        f"at the initial point or at {INITIALIZATION_ATTEMPTS} jittered starts.\n"
        "Variables whose log-density is not finite:\n" + ("\n".join(lines) or "  (none: the gradient is not finite)")
        + ("\nFound at the initial point:\n" + "\n".join(causes) if causes else "")
        + "\nStarting values (unconstrained):\n" + "\n".join(values)
        + "\nGive initvals= inside each variable's support, or check the priors and data."
    )


