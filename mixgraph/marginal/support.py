"""Which free discrete variables can be enumerated, and over which values.

A free variable with an integer (or boolean) dtype is *discrete*. Those whose
support is finite and known before sampling (Bernoulli, Categorical with a
known number of categories, DiscreteUniform and Binomial with constant
bounds) are summed out of the joint log-density by enumeration; any other
discrete free variable gets a :class:`MarginalizationError` naming it and the
fixes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pytensor.graph.traversal import ancestors
from pytensor.tensor import TensorVariable
from pytensor.tensor.random import basic as random_ops
from pytensor.tensor.random.op import RandomVariable

from mixgraph.distributions.discrete_bounded import DiscreteUniformRV
from mixgraph.distributions.markov import DiscreteMarkovChainRV
from mixgraph.registry import distribution_parameters

__all__ = ["MarginalizationError", "is_discrete", "finite_support", "MAX_SUPPORT_SIZE"]

MAX_SUPPORT_SIZE = 4096
"""The largest support (per element) that is enumerated."""


class MarginalizationError(ValueError):
    """A free discrete variable that cannot be summed out of the log-density."""


def is_discrete(rv: TensorVariable) -> bool:
    """Whether ``rv`` takes integer (or boolean) values."""
    return str(rv.dtype).startswith(("int", "uint", "bool"))


def _constant_value(rv: TensorVariable, parameter: TensorVariable, what: str) -> np.ndarray:
    """The value of a parameter that must not depend on any random variable."""
    random = [
        variable for variable in ancestors([parameter])
        if variable.owner is not None and isinstance(variable.owner.op, RandomVariable)
    ]
    if random:
        names = sorted({variable.name or type(variable.owner.op).__name__ for variable in random})
        raise MarginalizationError(
            f"Variable '{rv.name}': its {what} depends on the random variable(s) {names}, so its support "
            f"is not known before sampling and it cannot be summed out. Give a constant {what}, or write "
            f"the likelihood as a Mixture."
        )
    return np.asarray(parameter.eval())


INFINITE_FAMILIES = ("Poisson", "NegativeBinomial", "Geometric")
FAMILY_NAMES = {"NegBinomial": "NegativeBinomial", "Mixture": "Mixture (e.g. zero-inflated)"}


def _infinite_support_error(rv: TensorVariable) -> MarginalizationError:
    family = type(rv.owner.op).__name__.removesuffix("RV")
    family = FAMILY_NAMES.get(family, family)
    if not any(name.lower() in family.lower() for name in INFINITE_FAMILIES):
        return MarginalizationError(
            f"Variable '{rv.name}' is a free discrete {family} variable, which cannot be summed out "
            f"automatically (only Bernoulli, Categorical, DiscreteUniform, DiscreteMarkovChain and Binomial "
            f"with constant n can), and NUTS cannot sample it. Fixes: rewrite it with one of those families, or write the "
            f"likelihood that depends on it as a Mixture (mg.Mixture)."
        )
    return MarginalizationError(
        f"Variable '{rv.name}' is a free {family} variable: a discrete variable with infinite support "
        f"cannot be summed out of the log-density, and NUTS cannot sample it. Fixes: give it a bounded "
        f"family (Categorical, DiscreteUniform, Binomial with constant n, Bernoulli), or write the "
        f"likelihood that depends on it as a Mixture (mg.Mixture) and drop the latent variable."
    )


def _categorical_support(rv: TensorVariable, p: TensorVariable) -> np.ndarray:
    categories = p.type.shape[-1]
    if categories is None:
        categories = int(_constant_value(rv, p.shape[-1], "number of categories (length of p)"))
    return np.arange(int(categories))


def _bounded_support(rv: TensorVariable, lower: Any, upper: Any, what: str) -> np.ndarray:
    low = int(np.min(_constant_value(rv, lower, what) if not isinstance(lower, int) else lower))
    high = int(np.max(_constant_value(rv, upper, what)))
    return np.arange(low, high + 1)


def finite_support(rv: TensorVariable) -> np.ndarray:
    """Every value a free discrete variable can take (the union over its elements).

    Raises
    ------
    MarginalizationError
        For a family with infinite support, a support that depends on another
        random variable, or a support of more than :data:`MAX_SUPPORT_SIZE` values.
    """
    op = rv.owner.op
    parameters = distribution_parameters(rv)
    if isinstance(op, random_ops.BernoulliRV):
        support = np.arange(2)
    elif isinstance(op, random_ops.CategoricalRV):
        support = _categorical_support(rv, parameters[0])
    elif isinstance(op, DiscreteUniformRV):
        support = _bounded_support(rv, parameters[0], parameters[1], "lower and upper bounds")
    elif isinstance(op, DiscreteMarkovChainRV):
        support = _categorical_support(rv, parameters[1])
    elif isinstance(op, random_ops.BinomialRV):
        support = _bounded_support(rv, 0, parameters[0], "number of trials n")
    else:
        raise _infinite_support_error(rv)
    if support.size > MAX_SUPPORT_SIZE:
        raise MarginalizationError(
            f"Variable '{rv.name}' has {support.size} possible values, more than the {MAX_SUPPORT_SIZE} "
            f"that are enumerated. Use fewer categories or a smaller range, or write the likelihood as a "
            f"Mixture."
        )
    return support.astype(rv.dtype)
