"""The one place where ``shape=``, ``size=``, ``dims=`` and ``observed=`` meet.

PyMC's conventions: ``shape`` is the full shape of the variable, support
dimensions included; ``size`` is the batch shape only; ``dims`` names every
dimension (support included) through the model's coords; ``observed`` fixes
the shape when nothing else does. Whatever the user gives is turned into one
full shape (a tuple of ints and symbolic lengths) and then one ``size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.tensor.basic import get_vector_length

__all__ = ["ShapeLike", "as_shape_tuple", "resolve_shape", "shape_to_size", "static_value"]

ShapeLike = int | Sequence[Any] | None


def as_shape_tuple(shape: ShapeLike) -> tuple | None:
    """Turn ``3``, ``(3,)``, ``[3, n]`` or None into a tuple (or None)."""
    if shape is None:
        return None
    if isinstance(shape, Variable) and shape.type.ndim == 1:
        return _lengths_of_shape_vector(shape)
    if isinstance(shape, (int, np.integer)) or isinstance(shape, Variable):
        return (shape,)
    return tuple(shape)


def _lengths_of_shape_vector(shape: Variable) -> tuple:
    """``x.shape`` (a symbolic vector) as a tuple of its symbolic entries."""
    if not shape.type.dtype.startswith(("int", "uint")):
        raise TypeError(f"a shape must hold integers, got a vector of {shape.type.dtype} ({shape})")
    try:
        length = get_vector_length(shape)
    except ValueError:
        raise ValueError(
            f"the shape {shape} is a vector of unknown length; give a tuple of lengths, "
            f"e.g. shape=(x.shape[0],)"
        ) from None
    return tuple(shape[axis] for axis in range(length))


def static_value(length: Any) -> int | None:
    """The current integer value of a length: an int, a shared scalar or a constant."""
    if isinstance(length, (int, np.integer)):
        return int(length)
    if isinstance(length, SharedVariable):
        return int(length.get_value())
    try:
        return int(pt.get_underlying_scalar_constant_value(length))
    except Exception:  # a symbolic length with no value yet
        return None


def _describe(shape: tuple) -> tuple:
    return tuple(static_value(length) if static_value(length) is not None else "?" for length in shape)


def _shape_from_dims(name: str, dims: tuple, model: Any) -> tuple:
    unknown = [dim for dim in dims if dim not in model.dim_lengths]
    if unknown:
        raise ValueError(
            f"Variable '{name}': dims {unknown} are not coords of the model (known: "
            f"{sorted(model.dim_lengths)}). Add them with Model(coords={{{unknown[0]!r}: "
            f"values}}) or model.add_coord({unknown[0]!r}, values)."
        )
    return tuple(model.dim_lengths[dim] for dim in dims)


def _check_same(name: str, what: str, shape: tuple, other: str, other_shape: tuple) -> None:
    mine, theirs = _describe(shape), _describe(other_shape)
    if len(mine) != len(theirs) or any(
        a != b for a, b in zip(mine, theirs) if a != "?" and b != "?"
    ):
        raise ValueError(
            f"Variable '{name}': {what} {mine} disagrees with {other} {theirs}. "
            f"Make them agree, or give only one of them."
        )


def resolve_shape(
    name: str,
    *,
    shape: ShapeLike = None,
    size: ShapeLike = None,
    dims: Sequence[str] | str | None = None,
    observed_shape: tuple | None = None,
    model: Any = None,
) -> tuple[tuple | None, tuple | None, tuple | None]:
    """Combine the shape arguments of a named variable.

    Parameters
    ----------
    name : str
        The variable's name, for error messages.
    shape, size : int, sequence or None
        As in PyMC; at most one of them.
    dims : str, sequence of str or None
        Dimension names, resolved through ``model.dim_lengths``.
    observed_shape : tuple, optional
        The shape of the observed data (ints or symbolic lengths).
    model : Model, optional
        Needed when ``dims`` is given.

    Returns
    -------
    shape, size : tuple or None
        At most one is not None; pass them on to ``.dist()``.
    dims : tuple of str or None
    """
    shape, size = as_shape_tuple(shape), as_shape_tuple(size)
    dims = (dims,) if isinstance(dims, str) else (tuple(dims) if dims is not None else None)
    if shape is not None and size is not None:
        raise ValueError(f"Variable '{name}': give shape= or size=, not both.")
    if dims is not None:
        dims_shape = _shape_from_dims(name, dims, model)
        if shape is not None:
            _check_same(name, "shape", shape, f"the lengths of dims {dims}", dims_shape)
        if size is not None and len(size) > len(dims):
            raise ValueError(f"Variable '{name}': size {size} has more axes than dims {dims}.")
        shape, size = dims_shape, None
    if observed_shape is not None:
        if shape is not None:
            what = f"the lengths of dims {dims}" if dims is not None else "shape"
            _check_same(name, what, shape, "the observed data's shape", observed_shape)
        elif size is None:
            shape = tuple(observed_shape)
    return shape, size, dims


def shape_to_size(shape: tuple | None, ndim_supp: int) -> tuple | None:
    """The batch part of a full shape: drop the ``ndim_supp`` support axes."""
    if shape is None:
        return None
    if ndim_supp == 0:
        return tuple(shape)
    if len(shape) < ndim_supp:
        raise ValueError(
            f"shape {tuple(shape)} has fewer axes than the {ndim_supp} support dimension(s)"
        )
    return tuple(shape[: len(shape) - ndim_supp])
