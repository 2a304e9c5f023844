"""The model: a context manager that collects named variables.

``with Model() as model:`` puts ``model`` on a thread-local stack; every named
distribution, ``Data``, ``Deterministic`` and ``Potential`` created inside the
block registers itself in the innermost model. Nested models prefix their
variables' names (``"inner::x"``) and store them in the outermost model, so
the outermost one always holds the whole joint distribution.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.tensor import TensorVariable

from mixgraph import point as point_functions
from mixgraph import transforms as transform_module
from mixgraph import validation
from mixgraph.data_checks import (add_data_dims, as_data_array, check_observed_lengths, checked_new_value,
                                  new_dim_lengths)
from mixgraph.registry import DEFAULT_TRANSFORM, distribution_parameters

__all__ = ["Model", "modelcontext", "Data", "Deterministic", "Potential", "set_data", "UNSET"]

UNSET = object()
_STACK = threading.local()


def _stack() -> list:
    if not hasattr(_STACK, "models"):
        _STACK.models = []
    return _STACK.models


def modelcontext(model: Model | None = None) -> Model:
    """Return ``model`` if given, else the innermost model of the ``with`` stack.

    Raises
    ------
    TypeError
        If no model is given and none is on the stack.
    """
    if model is not None:
        return model
    stack = _stack()
    if not stack:
        raise TypeError(
            "No model on the context stack. Create variables inside `with mg.Model():`, "
            "or use `.dist()` for a variable that belongs to no model."
        )
    return stack[-1]


class Model:
    """A Bayesian model, built by creating variables inside ``with Model():``.

    Parameters
    ----------
    coords : dict, optional
        Dimension name -> coordinate values (or None for a dimension whose
        length comes later, from ``Data``).
    name : str
        Prefix of the names of variables created in this (nested) model.

    Examples
    --------
    >>> import mixgraph as mg
    >>> with mg.Model(coords={"obs": range(3)}) as model:
    ...     mu = mg.Normal("mu", 0, 1)
    ...     y = mg.Normal("y", mu, 1, observed=[0.1, -0.3, 0.2], dims="obs")
    """

    def __init__(self, coords: dict | None = None, name: str = "") -> None:
        stack = _stack()
        self.parent: Model | None = stack[-1] if stack else None
        self.name = name
        self._prefix = (self.parent._prefix if self.parent else "") + (f"{name}::" if name else "")
        if self.parent is None:
            self.named_vars: dict[str, TensorVariable] = {}
            self.named_vars_to_dims: dict[str, tuple] = {}
            self.coords: dict[str, tuple | None] = {}
            self.dim_lengths: dict[str, SharedVariable] = {}
            self.free_RVs: list[TensorVariable] = []
            self.observed_RVs: list[TensorVariable] = []
            self.deterministics: list[TensorVariable] = []
            self.potentials: list[TensorVariable] = []
            self.data_vars: list[SharedVariable] = []
            self.rvs_to_values: dict[TensorVariable, TensorVariable] = {}
            self.rvs_to_transforms: dict[TensorVariable, Any] = {}
            self.rvs_to_initial_values: dict[TensorVariable, Any] = {}
            # observed variable name -> (its Data container, a check of new data), see set_data
            self.observed_data_checks: dict[str, tuple[SharedVariable, Callable]] = {}
        else:
            root = self.parent.root
            for attribute in (
                "named_vars named_vars_to_dims coords dim_lengths free_RVs observed_RVs "
                "deterministics potentials data_vars rvs_to_values rvs_to_transforms "
                "rvs_to_initial_values observed_data_checks"
            ).split():
                setattr(self, attribute, getattr(root, attribute))
        self.add_coords(coords or {})

    @property
    def root(self) -> Model:
        """The outermost model, which holds every variable."""
        return self.parent.root if self.parent is not None else self

    def __enter__(self) -> Model:
        _stack().append(self)
        return self

    def __exit__(self, *exc_info) -> None:
        _stack().pop()

    def __getitem__(self, name: str) -> TensorVariable:
        for candidate in (self._prefix + name, name):
            if candidate in self.named_vars:
                return self.named_vars[candidate]
        raise KeyError(f"no variable named {name!r} in the model (has: {sorted(self.named_vars)})")

    # ------------------------------------------------------------------ coords
    def add_coord(self, name: str, values: Sequence | None = None, *, length: int | None = None) -> None:
        """Add a dimension with coordinate ``values`` (or only a ``length``)."""
        if values is not None:
            values = tuple(np.asarray(values).tolist()) if not isinstance(values, tuple) else values
            if length is not None and length != len(values):
                raise ValueError(f"coord {name!r}: length {length} but {len(values)} values")
            length = len(values)
        if name in self.coords and self.coords[name] is not None and values is not None:
            if tuple(self.coords[name]) != tuple(values):
                raise ValueError(f"coord {name!r} already exists with other values")
        self.coords[name] = values
        if length is not None:
            if name in self.dim_lengths:
                self.dim_lengths[name].set_value(np.int64(length))
            else:
                self.dim_lengths[name] = pytensor.shared(np.int64(length), name=f"{name}_length")

    def add_coords(self, coords: dict) -> None:
        """Add several coords at once (``{name: values}``)."""
        for name, values in coords.items():
            self.add_coord(name, values)

    # ------------------------------------------------------------ registration
    def _register_name(self, name: str, variable: TensorVariable, dims: tuple | None) -> str:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a variable's name must be a non-empty string, got {name!r}")
        full_name = self._prefix + name
        if full_name in self.named_vars:
            raise ValueError(
                f"Variable name {full_name!r} is already used in this model; pick another name."
            )
        variable.name = full_name
        self.named_vars[full_name] = variable
        if dims is not None:
            self.named_vars_to_dims[full_name] = dims
        return full_name

    def register_rv(
        self,
        rv: TensorVariable,
        name: str,
        *,
        observed: TensorVariable | None = None,
        dims: tuple | None = None,
        initval: Any = None,
        transform: Any = UNSET,
        default_transform: Any = UNSET,
    ) -> TensorVariable:
        """Register a random variable built by a distribution's ``.dist()``."""
        full_name = self._register_name(name, rv, dims)
        if observed is not None:
            self.observed_RVs.append(rv)
            self.rvs_to_values[rv] = observed
            self.rvs_to_transforms[rv] = None
            return rv
        if default_transform is UNSET:
            default = DEFAULT_TRANSFORM.lookup(rv.owner.op)
            default_transform = default(*distribution_parameters(rv)) if default else None
            if isinstance(default_transform, transform_module.NoDefaultTransform):
                if transform is UNSET or transform is None:
                    warnings.warn(f"Variable '{full_name}': {default_transform.reason}", UserWarning, stacklevel=4)
                default_transform = None
        if transform is UNSET or transform is None:
            chosen = default_transform
        elif default_transform is not None:
            chosen = transform_module.Chain([default_transform, transform])
        else:
            chosen = transform
        self.free_RVs.append(rv)
        self.rvs_to_transforms[rv] = chosen
        self.rvs_to_initial_values[rv] = initval
        self.rvs_to_values[rv] = self._make_value_variable(rv, full_name, chosen)
        return rv

    @staticmethod
    def _make_value_variable(rv: TensorVariable, name: str, transform: Any) -> TensorVariable:
        if transform is None:
            value = rv.type()
            value.name = name
            return value
        unconstrained = transform.forward(rv, *distribution_parameters(rv))
        value = pt.tensor(
            dtype=unconstrained.dtype, shape=(None,) * unconstrained.ndim,
            name=f"{name}_{transform.name}__",
        )
        return value

    def register_deterministic(self, name: str, expression: TensorVariable, dims: tuple | None) -> None:
        """Register ``expression`` as a deterministic named ``name``."""
        self._register_name(name, expression, dims)
        self.deterministics.append(expression)

    def register_potential(self, name: str, expression: TensorVariable, dims: tuple | None) -> None:
        """Register ``expression`` as a term added to the joint log-density."""
        self._register_name(name, expression, dims)
        self.potentials.append(expression)

    def register_data(self, name: str, variable: SharedVariable, dims: tuple | None) -> None:
        """Register a ``Data`` container."""
        self._register_name(name, variable, dims)
        self.data_vars.append(variable)

    # ------------------------------------------------------------ read access
    @property
    def value_vars(self) -> list[TensorVariable]:
        """Value variables of the free random variables, in registration order."""
        return [self.rvs_to_values[rv] for rv in self.free_RVs]

    @property
    def basic_RVs(self) -> list[TensorVariable]:
        """Free then observed random variables."""
        return self.free_RVs + self.observed_RVs

    @property
    def unobserved_value_vars(self) -> list[TensorVariable]:
        """Alias of :attr:`value_vars`, as in PyMC."""
        return self.value_vars

    # ------------------------------------------------------- log-density
    def logp(self, vars: Any = None, *, jacobian: bool = True, sum: bool = True) -> TensorVariable | list:
        """The log-density as a PyTensor graph in the value variables.

        ``vars``: random variables, potentials or their names whose terms are
        included (all by default), as in PyMC.
        """
        return point_functions.select_logp(self, vars, jacobian=jacobian, sum=sum)

    def compile_logp(
        self, vars: Any = None, *, jacobian: bool = True, sum: bool = True, mode: Any = None
    ) -> Any:
        """Compiled log-density of ``vars`` (all by default), taking a point dict of value variables.

        ``mode`` is a PyTensor compile mode; ``"FAST_COMPILE"`` compiles in
        milliseconds for one-off evaluations (the default is Numba).
        """
        return point_functions.compile_logp(self, vars, jacobian=jacobian, sum=sum, mode=mode)

    def compile_fn(
        self, outs: Any, *, inputs: list | None = None, point_fn: bool = True, mode: Any = None
    ) -> Any:
        """Compile ``outs`` (a variable or a list) as a function of a point dict, as PyMC's.

        ``inputs`` defaults to the value variables ``outs`` depend on;
        ``point_fn=False`` takes the inputs positionally.
        """
        return point_functions.compile_fn(self, outs, inputs=inputs, point_fn=point_fn, mode=mode)

    def compile_dlogp(self, *, jacobian: bool = True, mode: Any = None) -> Any:
        """Compiled gradient, taking a point dict and returning one (``mode`` as in :meth:`compile_logp`)."""
        return point_functions.compile_dlogp(self, jacobian=jacobian, mode=mode)

    def compile_logp_dlogp(self, *, jacobian: bool = True, mode: Any = None) -> Any:
        """Compiled log-density and gradient, taking a point dict (``mode`` as in :meth:`compile_logp`)."""
        return point_functions.compile_logp_dlogp(self, jacobian=jacobian, mode=mode)

    def d2logp(self, vars: Any = None, *, jacobian: bool = True, negate_output: bool = True) -> TensorVariable:
        """The (negated) Hessian of the log-density in ``vars``' value variables, as PyMC's."""
        return point_functions.d2logp(self, vars, jacobian=jacobian, negate_output=negate_output)

    def compile_d2logp(self, vars: Any = None, *, jacobian: bool = True, negate_output: bool = True,
                       mode: Any = None) -> Any:
        """Compiled :meth:`d2logp`, taking a point dict and returning the matrix."""
        return point_functions.compile_d2logp(self, vars, jacobian=jacobian, negate_output=negate_output, mode=mode)

    def initial_point(self, random_seed: Any = None) -> dict[str, np.ndarray]:
        """Initial values (unconstrained) of the value variables.

        ``random_seed`` is accepted for PyMC compatibility; the initial point is
        deterministic (support points or ``initval``); the sampler adds jitter.
        """
        validation.as_seed_sequence(random_seed)  # a seed of the wrong type is an error
        return point_functions.initial_point(self)

    def point_logps(self, point: dict | None = None) -> dict[str, float]:
        """Each variable's log-density at ``point`` (default: the initial point)."""
        return point_functions.point_logps(self, point)

    def __repr__(self) -> str:
        lines = [f"Model({self.name!r}) with {len(self.free_RVs)} free and "
                 f"{len(self.observed_RVs)} observed variables"]
        for rv in self.basic_RVs:
            lines.append(f"  {rv.name} ~ {type(rv.owner.op).__name__}")
        return "\n".join(lines)


def _as_dims(dims: Sequence[str] | str | None) -> tuple | None:
    if dims is None:
        return None
    return (dims,) if isinstance(dims, str) else tuple(dims)


def Data(
    name: str, value: Any, *, dims: Sequence[str] | str | None = None, model: Model | None = None
) -> SharedVariable:
    """A named container of data that :func:`set_data` can swap later.

    Parameters
    ----------
    name : str
        Name in the model and in the ``constant_data`` group.
    value : array_like
        The data. Integer data stay integer; everything else becomes float64.
    dims : str or sequence of str, optional
        One name per axis. A dim that is not yet a coord is added with the
        data's length along that axis (and changes with :func:`set_data`).

    Returns
    -------
    SharedVariable
    """
    model = modelcontext(model)
    array = as_data_array(name, value)
    dims = _as_dims(dims)
    add_data_dims(model, name, dims, array.shape)
    variable = pytensor.shared(array, name=name, shape=(None,) * array.ndim)
    model.register_data(name, variable, dims)
    return variable


def set_data(new_data: dict, model: Model | None = None, *, coords: dict | None = None) -> None:
    """Swap the values of ``Data`` containers without rebuilding the model.

    The lengths of their dims follow the new values; ``coords`` gives new
    coordinate values for those dims (otherwise they become ``None``, read as
    ``0..n-1``). Everything is checked before anything changes: each value's
    dtype (non-integer values in an integer container are an error, not
    truncated), NaN and infinite values, the lengths of the dims shared by
    several containers or by observed data, and the support of every observed
    variable whose container changes.
    """
    model = modelcontext(model)
    coords = coords or {}
    arrays = {name: checked_new_value(model, name, value) for name, value in new_data.items()}
    new_lengths = new_dim_lengths(model, arrays)
    check_observed_lengths(model, arrays, new_lengths)
    for observed_name, (container, check) in model.observed_data_checks.items():
        if container.name in arrays:
            check(arrays[container.name], where=f"new data of Data {container.name!r}")
    for name, array in arrays.items():
        variable = model[name]
        variable.set_value(array)
        for axis, dim in enumerate(model.named_vars_to_dims.get(variable.name, ())):
            model.coords[dim] = tuple(coords[dim]) if dim in coords else None
            model.dim_lengths[dim].set_value(np.int64(array.shape[axis]))
    for dim, values in coords.items():
        if dim not in model.coords:
            model.add_coord(dim, values)


def Deterministic(
    name: str, expression: Any, *, dims: Sequence[str] | str | None = None, model: Model | None = None
) -> TensorVariable:
    """A named function of other variables, recorded in the posterior."""
    model = modelcontext(model)
    expression = pt.as_tensor(expression)
    expression = pt.identity(expression) if expression.name else expression
    model.register_deterministic(name, expression, _as_dims(dims))
    return expression


def Potential(
    name: str, expression: Any, *, dims: Sequence[str] | str | None = None, model: Model | None = None
) -> TensorVariable:
    """A term added to the model's joint log-density."""
    model = modelcontext(model)
    expression = pt.as_tensor(expression)
    expression = pt.identity(expression) if expression.name else expression
    model.register_potential(name, expression, _as_dims(dims))
    return expression
