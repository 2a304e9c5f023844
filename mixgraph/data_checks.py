"""Checks of the values given to ``Data`` and ``set_data``, made before anything changes.

Each new value is checked on its own (dtype, NaN and infinite values), then
against the others and the observed variables that share its dims (lengths).
The support of observed data is checked by the hooks that distributions
register in ``model.observed_data_checks`` (see ``distributions/support.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.tensor import TensorVariable

__all__ = ["add_data_dims", "as_data_array", "checked_new_value", "new_dim_lengths", "check_observed_lengths"]


def as_data_array(name: str, value: Any) -> np.ndarray:
    """``value`` as an array: integers stay int64, everything else becomes float64."""
    array = np.asarray(getattr(value, "values", value))
    if array.dtype.kind in "biu":
        return array.astype(np.int64)
    if array.dtype.kind != "f":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"Data '{name}': cannot convert {array.dtype} data to numbers") from error
    return array.astype(np.float64)


def add_data_dims(model: Any, name: str, dims: tuple | None, shape: tuple) -> None:
    """Check ``Data`` ``name``'s dims against its shape and the model's dim lengths; add the new dims.

    A dim that is not yet a coord is added with the data's length along that
    axis; one that is must already have that length.
    """
    if dims is None:
        return
    if len(dims) != len(shape):
        raise ValueError(f"Data '{name}': {len(dims)} dims {dims} for an array of shape {shape}; "
                         f"give one dim name per axis.")
    for dim, length in zip(dims, shape):
        if dim not in model.dim_lengths:
            model.add_coord(dim, length=length)
            continue
        current = int(model.dim_lengths[dim].get_value())
        if current != length:
            raise ValueError(f"Data '{name}': dim {dim!r} has length {current} in the model's coords, "
                             f"but the data have length {length} along that axis.")


def checked_new_value(model: Any, name: str, value: Any) -> np.ndarray:
    """The new value of container ``name``, in the container's dtype, or an error naming it."""
    variable = model[name]
    if variable not in model.data_vars:
        raise TypeError(f"set_data: {name!r} is not a Data container of the model")
    array = as_data_array(name, value)
    old = variable.get_value()
    if array.ndim != old.ndim:
        raise ValueError(
            f"set_data: Data {name!r} has {old.ndim} axes; the new value has shape {array.shape}"
        )
    if array.dtype.kind == "f":
        _reject_non_finite(name, array)
    if old.dtype.kind in "iu" and array.dtype.kind == "f":
        fractional = np.mod(array, 1) != 0
        if fractional.any():
            raise TypeError(
                f"set_data: Data {name!r} holds integers, but the new value has "
                f"{int(fractional.sum())} non-integer value(s) such as {array[fractional].flat[0].item()!r} "
                f"(at index {_first_index(fractional)}), which would be truncated. Pass integers, "
                f"or create the container with float data."
            )
    return array.astype(old.dtype)


def _first_index(mask: np.ndarray) -> Any:
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return index[0] if len(index) == 1 else index


def _reject_non_finite(name: str, array: np.ndarray) -> None:
    for label, mask in (("NaN", np.isnan(array)), ("infinite", np.isinf(array))):
        if mask.any():
            where = [tuple(int(i) for i in index) for index in np.argwhere(mask)[:5]]
            shown = [w[0] if len(w) == 1 else w for w in where]
            raise ValueError(
                f"set_data: Data {name!r}: the new value has {int(mask.sum())} {label} value(s), at "
                f"index {', '.join(map(str, shown))}{', ...' if mask.sum() > 5 else ''}. Drop or "
                f"replace them{': mixgraph does not impute missing data' if label == 'NaN' else ''}."
            )


def new_dim_lengths(model: Any, arrays: dict) -> dict[str, tuple[int, str]]:
    """Dim -> (new length, container that sets it); containers given together must agree."""
    lengths: dict[str, tuple[int, str]] = {}
    for name, array in arrays.items():
        for axis, dim in enumerate(model.named_vars_to_dims.get(model[name].name, ())):
            length = int(array.shape[axis])
            if dim in lengths and lengths[dim][0] != length:
                raise ValueError(
                    f"set_data: Data {lengths[dim][1]!r} and {name!r} share dim {dim!r}, but the new "
                    f"values have lengths {lengths[dim][0]} and {length} along it. Give them the same length."
                )
            lengths[dim] = (length, name)
    return lengths


def _observed_data_array(model: Any, rv: TensorVariable) -> tuple[np.ndarray, str | None]:
    """An observed variable's current data and the name of its Data container (or None)."""
    data = model.rvs_to_values[rv]
    source = data if isinstance(data, SharedVariable) else next(
        (item for item in (data.owner.inputs if data.owner else []) if isinstance(item, SharedVariable)), None
    )
    container = source.name if source is not None and source in model.data_vars else None
    return (source.get_value() if source is not None else None), container


def check_observed_lengths(model: Any, arrays: dict, new_lengths: dict) -> None:
    """Each observed variable along a dim whose length changes must get data of that length."""
    for rv in model.observed_RVs:
        rv_name = rv.name
        current, container = _observed_data_array(model, rv)
        if current is None:
            continue
        data = arrays.get(container, current)
        for axis, dim in enumerate(model.named_vars_to_dims.get(rv_name, ()) or ()):
            if dim not in new_lengths or axis >= np.ndim(data) or data.shape[axis] == new_lengths[dim][0]:
                continue
            length, setter = new_lengths[dim]
            fix = (
                f"pass the new observed data too, in the same call: set_data({{{setter!r}: ..., {container!r}: ...}})"
                if container is not None
                else f"make the observed data of {rv_name!r} a Data container with dims and pass both in one set_data call"
            )
            raise ValueError(
                f"set_data: Data {setter!r} gives dim {dim!r} length {length}, but the observed variable "
                f"{rv_name!r}, which shares that dim, has data of length {data.shape[axis]} along it; {fix}."
            )
