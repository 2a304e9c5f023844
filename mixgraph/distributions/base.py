"""The ``Distribution`` base class: named variables and ``.dist()``.

``Normal("x", mu, sigma)`` inside a model builds the random variable with
``Normal.dist(mu, sigma, ...)`` and registers it under the name ``"x"``;
``Normal.dist(...)`` alone returns an unnamed variable that belongs to no
model (a mixture component, or something to draw from). Subclasses only
convert their PyMC-style parameters into the parameters of their op and call
:meth:`Distribution.build`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.tensor import TensorVariable

from mixgraph.distributions.support import check_observed_support
from mixgraph.model import UNSET, modelcontext
from mixgraph.validation import check_initial_value_shapes
from mixgraph.shapes import ShapeLike, as_shape_tuple, resolve_shape, shape_to_size, static_value

__all__ = ["Distribution", "ParameterError", "check_constant", "as_parameter"]


class ParameterError(ValueError):
    """A parameter given as a constant is outside its allowed range."""


def as_parameter(value: Any, dtype: str = "float64") -> TensorVariable:
    """Turn a user parameter into a tensor; strings are rejected with a hint."""
    if isinstance(value, str):
        raise TypeError(
            f"got the string {value!r} where a parameter was expected. `.dist()` makes an "
            f"unnamed variable: drop the name, or call the class with the name inside a model."
        )
    if isinstance(value, Variable):
        return value if dtype is None or value.dtype == dtype or dtype != "float64" else pt.cast(value, dtype)
    return pt.as_tensor(np.asarray(getattr(value, "values", value), dtype=dtype))


def _constant_value(value: Any) -> np.ndarray | None:
    if isinstance(value, Constant):
        return np.asarray(value.data)
    if isinstance(value, Variable):
        try:
            return np.asarray(pt.get_underlying_scalar_constant_value(value))
        except Exception:  # symbolic: checked at run time by check_parameters
            return None
    return np.asarray(value)


def check_constant(name: str, value: Any, condition: Callable[[np.ndarray], Any], requirement: str) -> None:
    """Raise :class:`ParameterError` if a constant parameter breaks its constraint.

    Symbolic parameters pass; their constraint is enforced in the
    log-density, which becomes ``-inf`` (see ``logprob.check_parameters``).
    """
    array = _constant_value(value)
    if array is None:
        return
    if not np.all(condition(array)):
        shown = np.array2string(np.asarray(array), threshold=8)
        raise ParameterError(f"parameter {name} must be {requirement}, got {shown}")


def _observed_dtype_checked(name: str, array: np.ndarray, discrete: bool) -> np.ndarray:
    if np.isnan(array).any() if array.dtype.kind == "f" else False:
        raise ValueError(
            f"Variable '{name}': the observed data contain {int(np.isnan(array).sum())} NaN "
            f"value(s). Missing-data imputation is not supported yet: drop those entries."
        )
    if discrete:
        if array.dtype.kind == "f" and not np.all(np.equal(np.mod(array, 1), 0)):
            raise TypeError(
                f"Variable '{name}' is discrete, but its observed data contain non-integer "
                f"values such as {array[np.mod(array, 1) != 0].flat[0].item()!r}. Pass counts as integers."
            )
        return array.astype(np.int64)
    return array.astype(np.float64)


def _reject_name(dist: Callable) -> Callable:
    @functools.wraps(dist)
    def guarded(cls: type, *args: Any, **kwargs: Any) -> TensorVariable:
        if args and isinstance(args[0], str):
            raise TypeError(
                f"{cls.__name__}.dist() makes an unnamed variable, but got the name {args[0]!r}. "
                f"Drop the name, or call {cls.__name__}({args[0]!r}, ...) inside a model."
            )
        return dist(cls, *args, **kwargs)

    return guarded


class Distribution:
    """Base class of every mixgraph distribution.

    Subclasses set ``rv_op`` (a PyTensor random-variable op instance) and
    define a classmethod ``dist`` with PyMC's parameter names.
    """

    rv_op: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Guard every subclass's `dist` against a name passed by mistake, before
        # its own parameter handling runs (which would give a confusing error).
        super().__init_subclass__(**kwargs)
        if "dist" in cls.__dict__:
            cls.dist = classmethod(_reject_name(cls.__dict__["dist"].__func__))

    def __new__(
        cls,
        name: str,
        *args: Any,
        dims: Sequence[str] | str | None = None,
        observed: Any = None,
        initval: Any = None,
        transform: Any = UNSET,
        default_transform: Any = UNSET,
        shape: ShapeLike = None,
        size: ShapeLike = None,
        model: Any = None,
        **kwargs: Any,
    ) -> TensorVariable:
        if not isinstance(name, str):
            raise TypeError(
                f"{cls.__name__}(...) needs a name as its first argument; for an unnamed "
                f"variable use {cls.__name__}.dist(...)."
            )
        try:
            model = modelcontext(model)
        except TypeError:
            raise TypeError(
                f"{cls.__name__}({name!r}, ...) was created outside any model. Create it inside "
                f"`with mg.Model():`, or use {cls.__name__}.dist(...) for an unnamed variable."
            ) from None
        if "testval" in kwargs:
            raise TypeError(
                f"{cls.__name__} '{name}': testval= is PyMC's old name of the starting value; "
                f"write initval= instead."
            )
        observed_variable, observed_shape = cls._prepare_observed(name, observed, model)
        shape, size, dims = resolve_shape(
            name, shape=shape, size=size, dims=dims, observed_shape=observed_shape, model=model
        )
        try:
            rv = cls.dist(*args, shape=shape, size=size, **kwargs)
        except ParameterError as error:
            raise ValueError(f"{cls.__name__} '{name}': {error}") from None
        except ValueError as error:
            raise ValueError(f"{cls.__name__} '{name}': {error}") from error
        if initval is not None and observed is None:
            rv.name = name
            check_initial_value_shapes({rv: np.asarray(initval)}, "initval")
        if observed_variable is not None:
            cls._check_observed_support(name, rv, observed, observed_variable, model)
        return model.register_rv(
            rv, name, observed=observed_variable, dims=dims, initval=initval,
            transform=transform, default_transform=default_transform,
        )

    @classmethod
    def _check_observed_support(cls, name: str, rv: TensorVariable, observed: Any, observed_variable: Any, model: Any) -> None:
        """Reject observed data outside the support now; for a Data container, also at each set_data."""
        container = observed if isinstance(observed, SharedVariable) else observed_variable
        discrete = cls.is_discrete()

        def check(array: np.ndarray, where: str = "observed data") -> None:
            array = _observed_dtype_checked(name, np.asarray(array), discrete)
            check_observed_support(name, rv, array, cls.__name__, where=where)

        check(container.get_value())
        if isinstance(observed, SharedVariable):
            model.observed_data_checks[model._prefix + name] = (container, check)

    @classmethod
    def is_discrete(cls) -> bool:
        """Whether the distribution's values are integers."""
        return cls.rv_op is not None and cls.rv_op.dtype.startswith("int")

    @classmethod
    def _prepare_observed(cls, name: str, observed: Any, model: Any) -> tuple:
        if observed is None:
            return None, None
        if isinstance(observed, SharedVariable):
            if observed not in model.data_vars:
                raise TypeError(f"Variable '{name}': observed= takes arrays or Data containers")
            dims = model.named_vars_to_dims.get(observed.name)
            if dims is not None:
                shape = tuple(model.dim_lengths[dim] for dim in dims)
            else:
                shape = tuple(observed.shape[axis] for axis in range(observed.ndim))
            array = observed.get_value()
            _observed_dtype_checked(name, array, cls.is_discrete())
            if cls.is_discrete() and array.dtype.kind == "f":
                return pt.cast(observed, "int64"), shape
            return observed, shape
        if isinstance(observed, Variable):
            raise TypeError(
                f"Variable '{name}': observed= must be data (an array or a Data container), "
                f"not a symbolic expression."
            )
        array = np.asarray(getattr(observed, "values", observed))
        if array.dtype == object:
            raise TypeError(f"Variable '{name}': observed data of kind object cannot be used")
        array = _observed_dtype_checked(name, array.astype(np.float64) if array.dtype.kind == "b" else array, cls.is_discrete())
        shared = pytensor.shared(array, name=f"{name}_observed", shape=(None,) * array.ndim)
        return shared, array.shape

    @classmethod
    def dist(cls, *args: Any, **kwargs: Any) -> TensorVariable:
        """Return an unnamed random variable (subclasses define the parameters)."""
        raise TypeError(f"{cls.__name__} does not define dist()")

    @classmethod
    def build(
        cls, parameters: Sequence[Any], *, shape: ShapeLike = None, size: ShapeLike = None,
        rv_op: Any = None,
    ) -> TensorVariable:
        """Make the random variable from the op's parameters and a shape or size."""
        op = rv_op if rv_op is not None else cls.rv_op
        shape, size = as_shape_tuple(shape), as_shape_tuple(size)
        if shape is not None and size is not None:
            raise ValueError("give shape= or size=, not both")
        if shape is not None:
            size = shape_to_size(shape, op.ndim_supp)
        parameters = [pt.as_tensor(parameter) for parameter in parameters]
        if size is not None:
            cls._check_parameters_fit_size(op, parameters, cls._shown(size))
        rng = pytensor.shared(np.random.default_rng())
        size_tensor = None if size is None else pt.as_tensor([pt.as_tensor(length, dtype="int64") for length in size]) if size else pt.as_tensor(np.zeros(0, dtype="int64"))
        try:
            _, rv = op(*parameters, size=size_tensor, rng=rng, return_next_rng=True)
        except ValueError as error:
            raise ValueError(
                f"{cls.__name__}: the parameters' shapes "
                f"{[tuple(pt.as_tensor(p).type.shape) for p in parameters]} do not fit "
                f"size {cls._shown(size)}: {error}"
            ) from None
        if shape is not None:
            cls._check_support_shape(rv, shape)
        return rv

    @classmethod
    def _check_parameters_fit_size(cls, op: Any, parameters: list, size: tuple) -> None:
        for parameter, core_ndim in zip(parameters, op.ndims_params):
            batch_shape = parameter.type.shape[: parameter.type.ndim - core_ndim]
            fits = len(batch_shape) <= len(size) and all(
                length in (None, 1) or wanted in ("?", length)
                for length, wanted in zip(reversed(batch_shape), reversed(size))
            )
            if not fits:
                raise ValueError(
                    f"{cls.__name__}: the parameters' shapes "
                    f"{[tuple(p.type.shape) for p in parameters]} do not fit size {size} (batch "
                    f"shape {tuple(batch_shape)} cannot broadcast to {size}). Give a shape that "
                    f"the parameters broadcast to, or reshape the parameters."
                )

    @staticmethod
    def _shown(shape: tuple | None) -> tuple | None:
        if shape is None:
            return None
        return tuple(static_value(length) if static_value(length) is not None else "?" for length in shape)

    @classmethod
    def _check_support_shape(cls, rv: TensorVariable, shape: tuple) -> None:
        wanted = cls._shown(shape)
        actual = rv.type.shape
        if len(actual) != len(wanted) or any(
            a is not None and w != "?" and a != w for a, w in zip(actual, wanted)
        ):
            raise ValueError(
                f"{cls.__name__}: shape {wanted} was asked for, but the parameters give "
                f"support shape {tuple(actual[len(actual) - cls.rv_op.ndim_supp:])}; make the "
                f"last {cls.rv_op.ndim_supp} entries of shape match the parameters."
            )
