"""What every inference run records, shared by ``sample``, ``sample_smc`` and ``fit_pathfinder``.

The posterior values at a batch of unconstrained positions (free variables,
deterministics, and discrete latents drawn back where they were summed out)
and the attributes that identify the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mixgraph import marginal
from mixgraph.draws import constrained_draws

__all__ = ["posterior_values", "run_attributes"]


def posterior_values(model: Any, compiled: Any, positions: np.ndarray, var_names: list[str] | None,
                     idata_kwargs: dict) -> dict[str, np.ndarray]:
    """Constrained values at ``positions`` (shape ``(chain, draw, dim)``), by variable name.

    Parameters
    ----------
    compiled : CompiledLogp
        Its ``layout`` maps the flat positions to the value variables.
    var_names : list of str, optional
        Keep only these (an unknown name is a ValueError).
    idata_kwargs : dict
        ``recover_seed`` and ``marginal_logp`` are read for summed-out latents.
    """
    values = constrained_draws(model, compiled.layout, positions)
    if marginal.is_marginal(model):
        values.update(marginal.recovered_posterior(
            model, compiled.layout, positions, idata_kwargs.get("recover_seed"),
            include_logps=idata_kwargs.get("marginal_logp", False)))
    if var_names is not None:
        unknown = [name for name in var_names if name not in values]
        if unknown:
            raise ValueError(f"var_names {unknown} are not free variables or deterministics of the model")
        values = {name: values[name] for name in var_names}
    return values


def run_attributes(tune: int, began: float, compiled_at: float, sampled_at: float) -> dict[str, Any]:
    """Library versions, compile and sampling times (seconds) and the tuning steps of one run."""
    import numba
    import pytensor

    from mixgraph import __version__

    return {
        "inference_library": "mixgraph",
        "inference_library_version": __version__,
        "pytensor_version": pytensor.__version__,
        "numba_version": numba.__version__,
        "sampling_time": sampled_at - compiled_at,
        "compile_time": compiled_at - began,
        "tuning_steps": tune,
    }
