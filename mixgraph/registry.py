"""Registries of functions keyed by the type of a random variable's op.

Every per-distribution rule (log-density, log-CDF, inverse CDF, support point,
default transform, moments) is a function registered for an op type, so that
adding a distribution never touches a central ``if``/``elif`` chain. Lookup
walks the op type's method resolution order, so a subclass of an op inherits
its parent's rules unless it registers its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pytensor.graph.basic import Variable
from pytensor.tensor.random.op import RandomVariable

__all__ = [
    "OpRegistry",
    "distribution_parameters",
    "LOGP",
    "LOGCDF",
    "ICDF",
    "SUPPORT_POINT",
    "DEFAULT_TRANSFORM",
    "MEAN",
    "VARIANCE",
]


def distribution_parameters(variable: Variable) -> list[Variable]:
    """Return the distribution parameters of a random variable's node.

    Parameters
    ----------
    variable : Variable
        The output of a random-variable op (``rng`` and ``size`` are dropped).

    Returns
    -------
    list of Variable
        The parameters in the op's order.
    """
    node = variable.owner
    if node is None:
        raise TypeError(f"{variable} is not the output of a random variable")
    if isinstance(node.op, RandomVariable):
        return list(node.op.dist_params(node))
    return list(node.inputs)


class OpRegistry:
    """A table from op types to functions.

    Parameters
    ----------
    what : str
        What the registered functions compute, for error messages
        (``"log-density"``, ``"support point"``, ...).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._functions: dict[type, Callable[..., Any]] = {}
        self._takes_op: dict[type, bool] = {}

    def register(
        self, op_type: type, *, takes_op: bool = False
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the decorated function for ``op_type`` (and its subclasses).

        Parameters
        ----------
        op_type : type
            The op class.
        takes_op : bool
            If True the function receives the op instance as its first argument
            (for ops that carry structure, such as a mixture's components).
        """

        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            self._functions[op_type] = function
            self._takes_op[op_type] = takes_op
            return function

        return decorator

    def lookup(self, op: Any) -> Callable[..., Any] | None:
        """Return the function registered for ``type(op)`` or a parent, else None.

        A function registered with ``takes_op=True`` comes back with the op
        already bound as its first argument.
        """
        for klass in type(op).__mro__:
            if klass in self._functions:
                function = self._functions[klass]
                if self._takes_op[klass]:
                    return functools.partial(function, op)
                return function
        return None

    def get(self, op: Any) -> Callable[..., Any]:
        """Like :meth:`lookup`, but raise ``TypeError`` naming the op."""
        function = self.lookup(op)
        if function is None:
            raise TypeError(f"mixgraph has no {self.what} for {type(op).__name__}")
        return function


LOGP = OpRegistry("log-density")
LOGCDF = OpRegistry("log-CDF")
ICDF = OpRegistry("inverse CDF")
SUPPORT_POINT = OpRegistry("support point")
DEFAULT_TRANSFORM = OpRegistry("default transform")
MEAN = OpRegistry("mean")
VARIANCE = OpRegistry("variance")
