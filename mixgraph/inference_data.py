"""The one module that builds ArviZ objects.

Draws arrive as dicts of numpy arrays with leading (chain, draw) axes; this
module attaches the model's coords and dims and calls ``arviz.from_dict``.
ArviZ is imported lazily (it takes seconds to import).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["model_coords", "model_dims", "observed_data", "constant_data", "to_inference_data", "add_run_statistics"]


def model_coords(model: Any) -> dict[str, np.ndarray]:
    """Coordinate values of every dim (``0..n-1`` where none were given)."""
    coords = {}
    for name, values in model.coords.items():
        if values is None and name in model.dim_lengths:
            values = np.arange(int(model.dim_lengths[name].get_value()))
        if values is not None:
            coords[name] = np.asarray(values)
    return coords


def model_dims(model: Any, names: list[str] | None = None) -> dict[str, list[str]]:
    """Dims of the named variables (all named variables by default)."""
    names = list(model.named_vars_to_dims) if names is None else names
    return {name: list(model.named_vars_to_dims[name]) for name in names if name in model.named_vars_to_dims}


def _latent_logp_dims(model: Any, group: dict, dims: dict) -> dict[str, list[str]]:
    """Dims of ``lp_<latent>`` (``idata_kwargs={"marginal_logp": True}``): the latent's, then ``lp_<latent>_dim``.

    Only where ``<latent>`` has dims and ``lp_<latent>`` is not a model variable
    of its own; its last axis holds the latent's values (states, components).
    """
    found = {}
    for name, values in group.items():
        latent_dims = model.named_vars_to_dims.get(name[len("lp_"):]) if name.startswith("lp_") else None
        if not latent_dims or name in model.named_vars or name in dims:
            continue
        if np.ndim(values) == len(latent_dims) + 3:  # chain, draw, the latent's axes, its values
            found[name] = [*latent_dims, f"{name}_dim"]
    return found


def observed_data(model: Any) -> dict[str, np.ndarray]:
    """The observed data of every observed variable, by variable name."""
    data = {}
    for rv in model.observed_RVs:
        value = model.rvs_to_values[rv]
        shared = value if hasattr(value, "get_value") else value.owner.inputs[0]
        data[rv.name] = np.asarray(shared.get_value())
    return data


def constant_data(model: Any) -> dict[str, np.ndarray]:
    """The current values of the model's ``Data`` containers."""
    return {variable.name: np.asarray(variable.get_value()) for variable in model.data_vars}


def to_inference_data(model: Any, *, attrs: dict | None = None, **groups: dict | None) -> Any:
    """Build ``arviz.InferenceData`` from groups of ``{name: (chain, draw, ...) array}``.

    Parameters
    ----------
    model : Model
        Supplies coords and dims.
    attrs : dict, optional
        Attributes stored on every group.
    **groups
        ``posterior=``, ``sample_stats=``, ``prior=``, ``observed_data=`` ...
        exactly the keyword arguments of ``arviz.from_dict``.
    """
    import arviz

    present = {key: value for key, value in groups.items() if value}
    names = {name for group in present.values() for name in group}
    dims = model_dims(model, [name for name in names if name in model.named_vars_to_dims])
    for group in present.values():
        dims.update(_latent_logp_dims(model, group, dims))
    coords = model_coords(model)
    group_attrs = {f"{group}_attrs": dict(attrs) for group in ("posterior", "sample_stats") if group in present and attrs}
    save_warmup = any(group.startswith("warmup_") for group in present)
    return arviz.from_dict(**present, coords=coords, dims=dims, save_warmup=save_warmup, **group_attrs)


def add_run_statistics(idata: Any, group: str, variables: dict[str, tuple[tuple[str, ...], np.ndarray]]) -> Any:
    """Add variables whose dims are not ``(chain, draw, ...)`` to ``group`` of ``idata``.

    For statistics of whole runs, e.g. an SMC run's log marginal likelihood
    (dims ``("chain",)``) or its tempering schedule (``("chain", "stage")``).

    Parameters
    ----------
    idata : arviz.InferenceData
    group : str
        An existing group, e.g. ``"sample_stats"``.
    variables : dict
        Name -> ``(dims, array)``; ``"chain"`` takes the group's chain coordinate.
    """
    import xarray

    dataset = getattr(idata, group)
    for name, (dims, values) in variables.items():
        coords = {dim: dataset.coords[dim].values for dim in dims if dim in dataset.coords}
        dataset[name] = xarray.DataArray(np.asarray(values), dims=dims, coords=coords)
    return idata
