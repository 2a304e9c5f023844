"""Shared checks of distributions against ``scipy.stats``, driven by tables of cases.

A :class:`Case` is one distribution in one parameterisation: the class, a grid
of parameter sets (keyword arguments of ``.dist``), a factory returning the
frozen scipy distribution for the same keywords, and points inside, on the
edge of and outside the support. Test modules hold the tables and
parametrise the ``check_*`` functions below over them; other test modules
(multivariate distributions, mixtures) may reuse the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from scipy import stats

from mixgraph.logprob import logcdf, logp
from mixgraph.model import Model
from mixgraph.registry import DEFAULT_TRANSFORM, LOGCDF, MEAN, SUPPORT_POINT, VARIANCE, distribution_parameters

MODE = Mode(linker="py", optimizer="fast_compile")
LOGP_TOLERANCE = dict(rtol=1e-7, atol=1e-10)
LOGCDF_TOLERANCE = dict(rtol=1e-6, atol=1e-10)
GRADIENT_TOLERANCE = dict(rtol=1e-4, atol=1e-6)
DRAWS = 2000
SMALLEST_P_VALUE = 1e-3


@dataclass(frozen=True)
class Case:
    """One distribution in one parameterisation.

    Attributes
    ----------
    name : str
        Test id, e.g. ``"Normal-tau"``.
    distribution : type
        The mixgraph class.
    grid : sequence of dict
        Parameter sets (keywords of ``.dist``); the first is used where one suffices.
    reference : callable
        ``reference(**parameters)`` returns the frozen scipy distribution.
    values : array
        Points strictly inside the support, away from kinks (gradients are taken there).
    edges : array
        Points on or near the edge of the support (log-density and log-CDF only).
    outside : array
        Points outside the support: the log-density must be ``-inf``.
    invalid : sequence of (dict, str)
        Constant keywords that must raise, and the parameter name the error names.
    invalid_symbolic : sequence of dict
        Parameter sets that must give a ``-inf`` log-density when passed symbolically.
    integer_parameters : tuple of str
        Parameters that are integers (made symbolic as int64, not differentiated).
    transform : str or None
        Expected default transform name (``"log"``, ``"logodds"``, ``"interval"``) or None.
    batched : dict or None
        Keywords with a batch axis of length 3 (default: every scalar broadcast to (3,)).
    moments : bool
        Whether mean and variance are registered (they are compared to scipy).
    moment_grid : sequence of dict or None
        Parameter sets for the moment check, where the grid holds some at which
        a moment is undefined (default: the grid).
    discrete : bool
        Whether draws are compared by a chi-square test rather than Kolmogorov-Smirnov.
    """

    name: str
    distribution: type
    grid: Sequence[dict]
    reference: Callable[..., Any]
    values: np.ndarray
    edges: np.ndarray = field(default_factory=lambda: np.array([]))
    outside: np.ndarray = field(default_factory=lambda: np.array([]))
    invalid: Sequence[tuple[dict, str]] = ()
    invalid_symbolic: Sequence[dict] = ()
    integer_parameters: tuple[str, ...] = ()
    transform: str | None = None
    batched: dict | None = None
    moments: bool = True
    moment_grid: Sequence[dict] | None = None
    discrete: bool = False

    def __repr__(self) -> str:
        return self.name


def case_ids(cases: Sequence[Case]) -> list[str]:
    """Test ids for ``pytest.mark.parametrize``."""
    return [case.name for case in cases]


def compile_function(inputs: list, outputs: Any) -> Callable:
    """Compile cheaply (Python linker, fast rewrites): these graphs are tiny."""
    return pytensor.function(inputs, outputs, mode=MODE, on_unused_input="ignore")


def symbolic_parameters(case: Case) -> dict[str, pt.TensorVariable]:
    """One symbolic input per parameter of the case's first grid point."""
    symbols = {}
    for name, value in case.grid[0].items():
        dtype = "int64" if name in case.integer_parameters else "float64"
        symbols[name] = pt.tensor(name=name, dtype=dtype, shape=(None,) * np.ndim(value))
    return symbols


def _numeric(case: Case, parameters: dict) -> list[np.ndarray]:
    return [
        np.asarray(parameters[name], dtype="int64" if name in case.integer_parameters else "float64")
        for name in case.grid[0]
    ]


def _value_variable(case: Case) -> pt.TensorVariable:
    return pt.vector("value", dtype="int64" if case.discrete else "float64")


_COMPILED: dict = {}


def _symbolic_function(case: Case, quantity: Callable) -> Callable:
    """Compile ``quantity(rv, value)`` as a function of the value and the parameters (cached per case)."""
    key = (case.name, quantity.__name__)
    if key not in _COMPILED:
        symbols = symbolic_parameters(case)
        rv = case.distribution.dist(**symbols)
        value = _value_variable(case)
        _COMPILED[key] = (compile_function([value, *symbols.values()], quantity(rv, value)), value.dtype)
    function, dtype = _COMPILED[key]
    return lambda points, parameters: function(np.asarray(points, dtype=dtype), *_numeric(case, parameters))


def _reference_log_density(frozen: Any, points: np.ndarray, discrete: bool) -> np.ndarray:
    return frozen.logpmf(points) if discrete else frozen.logpdf(points)


def check_logp(case: Case) -> None:
    """The log-density equals scipy's over the grid, inside and on the edge of the support."""
    function = _symbolic_function(case, logp)
    points = np.concatenate([case.values, case.edges])
    for parameters in case.grid:
        expected = _reference_log_density(case.reference(**parameters), points, case.discrete)
        result = function(points, parameters)
        assert result.dtype == np.float64
        np.testing.assert_allclose(result, expected, **LOGP_TOLERANCE, err_msg=str(parameters))


def check_logp_outside_support(case: Case) -> None:
    """Points outside the support have log-density ``-inf`` (never NaN)."""
    function = _symbolic_function(case, logp)
    for parameters in case.grid:
        result = function(case.outside, parameters)
        assert np.all(np.isneginf(result)), (parameters, result)


def check_logcdf(case: Case) -> None:
    """The log-CDF equals scipy's over the grid, everywhere (outside points included)."""
    function = _symbolic_function(case, logcdf)
    points = np.concatenate([case.values, case.edges, case.outside])
    for parameters in case.grid:
        expected = case.reference(**parameters).logcdf(points)
        result = function(points, parameters)
        assert result.dtype == np.float64
        np.testing.assert_allclose(result, expected, **LOGCDF_TOLERANCE, err_msg=str(parameters))


def central_difference(function: Callable[[np.ndarray], float], point: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Gradient of a scalar function of an array by central finite differences."""
    point = np.asarray(point, dtype="float64")
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        shift = np.zeros_like(point)
        shift[index] = step * max(1.0, abs(point[index]))
        gradient[index] = (function(point + shift) - function(point - shift)) / (2 * shift[index])
    return gradient


def check_gradient_value(case: Case) -> None:
    """The gradient of the log-density in the value matches finite differences."""
    symbols = symbolic_parameters(case)
    rv = case.distribution.dist(**symbols)
    value = _value_variable(case)
    total = pt.sum(logp(rv, value))
    function = compile_function([value, *symbols.values()], [total, pytensor.grad(total, value)])
    for parameters in case.grid:
        numeric = _numeric(case, parameters)
        _, gradient = function(case.values, *numeric)
        expected = central_difference(lambda point: function(point, *numeric)[0], case.values)
        np.testing.assert_allclose(gradient, expected, **GRADIENT_TOLERANCE, err_msg=str(parameters))


def check_gradient_parameters(case: Case) -> None:
    """The gradient of the log-density in each real parameter matches finite differences."""
    symbols = symbolic_parameters(case)
    real = [name for name in symbols if name not in case.integer_parameters]
    assert real, f"{case.name} has no real-valued parameter to differentiate"
    rv = case.distribution.dist(**symbols)
    value = _value_variable(case)
    total = pt.sum(logp(rv, value))
    gradients = pytensor.grad(total, [symbols[name] for name in real])
    function = compile_function([value, *symbols.values()], [total, *gradients])
    points = np.asarray(case.values, dtype=value.dtype)
    names = list(symbols)
    for parameters in case.grid:
        numeric = _numeric(case, parameters)
        results = function(points, *numeric)
        for name, gradient in zip(real, results[1:]):
            position = names.index(name)

            def total_at(parameter, position=position):
                shifted = list(numeric)
                shifted[position] = parameter
                return function(points, *shifted)[0]

            expected = central_difference(total_at, numeric[position])
            np.testing.assert_allclose(gradient, expected, **GRADIENT_TOLERANCE, err_msg=f"d/d{name} at {parameters}")


def seeded_draws(rv: pt.TensorVariable, seed: int) -> np.ndarray:
    """Draw from ``rv`` with its shared generator reset to ``seed``."""
    rv.owner.inputs[0].set_value(np.random.default_rng(seed))
    return compile_function([], rv)()


def _chi_square_p_value(draws: np.ndarray, frozen: Any) -> float:
    support = np.arange(draws.min(), draws.max() + 1)
    observed = np.array([(draws == k).sum() for k in support], dtype=float)
    expected = frozen.pmf(support) * len(draws)
    below, above = frozen.cdf(support[0] - 1), frozen.sf(support[-1])
    observed = np.concatenate([[0.0], observed, [0.0]])
    expected = np.concatenate([[below * len(draws)], expected, [above * len(draws)]])
    # pool neighbouring cells until each expects at least 5 draws
    pooled_observed, pooled_expected, bin_observed, bin_expected = [], [], 0.0, 0.0
    for count, mass in zip(observed, expected):
        bin_observed, bin_expected = bin_observed + count, bin_expected + mass
        if bin_expected >= 5:
            pooled_observed.append(bin_observed)
            pooled_expected.append(bin_expected)
            bin_observed, bin_expected = 0.0, 0.0
    if pooled_expected:
        pooled_observed[-1] += bin_observed
        pooled_expected[-1] += bin_expected
    if len(pooled_expected) < 2:
        return 1.0 if np.all(draws == draws.flat[0]) and frozen.pmf(draws.flat[0]) == 1 else 0.0
    return stats.chisquare(pooled_observed, pooled_expected).pvalue


def check_draws(case: Case, seed: int = 20261122) -> None:
    """Draws agree with scipy: two-sample KS (continuous) or chi-square (discrete), fixed seeds."""
    for offset, parameters in enumerate(case.grid[:2]):
        rv = case.distribution.dist(**parameters, size=(DRAWS,))
        draws = seeded_draws(rv, seed + offset)
        assert draws.shape == (DRAWS,)
        frozen = case.reference(**parameters)
        if case.discrete:
            p_value = _chi_square_p_value(draws, frozen)
        else:
            reference = frozen.rvs(size=DRAWS, random_state=np.random.default_rng(seed + 1000 + offset))
            p_value = stats.ks_2samp(draws, reference).pvalue
        assert p_value > SMALLEST_P_VALUE, (parameters, p_value)


def _default_batched(case: Case) -> dict:
    if case.batched is not None:
        return case.batched
    return {name: np.full(3, value) for name, value in case.grid[0].items()}


def check_shapes(case: Case) -> None:
    """``size=`` gives the batch shape; ``shape=`` the full shape, with batched parameters."""
    parameters = case.grid[0]
    sized = case.distribution.dist(**parameters, size=(2, 5))
    shaped = case.distribution.dist(**_default_batched(case), shape=(4, 3))
    scalar = case.distribution.dist(**parameters)
    shapes = compile_function([], [sized.shape, shaped.shape, scalar.shape])()
    assert [tuple(shape) for shape in shapes] == [(2, 5), (4, 3), ()]
    assert compile_function([], logp(shaped, seeded_draws(shaped, 1)).shape)() .tolist() == [4, 3]


def check_invalid_constants(case: Case) -> None:
    """Invalid constants raise ``ValueError`` naming the parameter (and the variable, in a model)."""
    for keywords, name in case.invalid:
        with pytest.raises(ValueError, match=rf"\b{name}\b"):
            case.distribution.dist(**keywords)
        with Model(), pytest.raises(ValueError, match=rf"'the_variable'.*\b{name}\b"):
            case.distribution("the_variable", **keywords)


def check_invalid_symbolic(case: Case) -> None:
    """Invalid symbolic parameters give ``-inf``, not NaN, for the log-density (and log-CDF)."""
    density = _symbolic_function(case, logp)
    has_cdf = LOGCDF.lookup(case.distribution.dist(**case.grid[0]).owner.op) is not None
    cumulative = _symbolic_function(case, logcdf) if has_cdf else None
    for parameters in case.invalid_symbolic:
        for function in filter(None, (density, cumulative)):
            result = function(case.values, parameters)
            assert np.all(np.isneginf(result)), (parameters, result)


def check_support_point(case: Case) -> None:
    """The support point is finite, has the variable's shape and a finite log-density."""
    symbols = symbolic_parameters(case)
    rv = case.distribution.dist(**symbols, size=(2, 3))
    point = SUPPORT_POINT.get(rv.owner.op)(rv, *distribution_parameters(rv))
    function = compile_function(list(symbols.values()), [point, logp(rv, point)])
    for parameters in case.grid:
        value, density = function(*_numeric(case, parameters))
        assert value.shape == (2, 3) and value.dtype == rv.dtype
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(density)), (parameters, value, density)


def check_moments(case: Case) -> None:
    """Mean and variance equal scipy's; distributions without moments register none."""
    symbols = symbolic_parameters(case)
    rv = case.distribution.dist(**symbols)
    if not case.moments:
        assert MEAN.lookup(rv.owner.op) is None and VARIANCE.lookup(rv.owner.op) is None
        return
    inputs = distribution_parameters(rv)
    moments = [MEAN.get(rv.owner.op)(rv, *inputs), VARIANCE.get(rv.owner.op)(rv, *inputs)]
    function = compile_function(list(symbols.values()), moments)
    for parameters in case.moment_grid or case.grid:
        frozen = case.reference(**parameters)
        result = function(*_numeric(case, parameters))
        np.testing.assert_allclose(result, [frozen.mean(), frozen.var()], rtol=1e-7, err_msg=str(parameters))


def check_default_transform(case: Case) -> None:
    """The default transform has the expected kind and maps the support point to a finite value and back."""
    rv = case.distribution.dist(**case.grid[0], size=(3,))
    inputs = distribution_parameters(rv)
    rule = DEFAULT_TRANSFORM.lookup(rv.owner.op)
    transform = rule(*inputs) if rule is not None else None
    if case.transform is None:
        assert transform is None
        return
    assert transform is not None and transform.name == case.transform
    point = SUPPORT_POINT.get(rv.owner.op)(rv, *inputs)
    unconstrained = transform.forward(point, *inputs)
    back = transform.backward(unconstrained, *inputs)
    point_value, unconstrained_value, back_value = compile_function([], [point, unconstrained, back])()
    assert np.all(np.isfinite(unconstrained_value))
    np.testing.assert_allclose(back_value, point_value, rtol=1e-10)


ALL_CHECKS = [
    check_logp,
    check_logp_outside_support,
    check_logcdf,
    check_gradient_value,
    check_gradient_parameters,
    check_draws,
    check_shapes,
    check_invalid_constants,
    check_invalid_symbolic,
    check_support_point,
    check_moments,
    check_default_transform,
]


# Which checks apply to which rows: a row without, e.g., points outside its
# support is not given that check at all (rather than a skipped test).
APPLIES = {
    check_logp_outside_support: lambda case: len(case.outside) > 0,
    check_logcdf: lambda case: LOGCDF.lookup(case.distribution.dist(**case.grid[0]).owner.op) is not None,
    check_gradient_value: lambda case: not case.discrete,
    check_invalid_constants: lambda case: bool(case.invalid),
    check_invalid_symbolic: lambda case: bool(case.invalid_symbolic),
    check_gradient_parameters: lambda case: any(name not in case.integer_parameters for name in case.grid[0]),
}


def applicable(cases: list) -> list:
    """``pytest.param(case, check)`` for every check that applies to every case."""
    return [
        pytest.param(case, check, id=f"{case.name}-{check.__name__.removeprefix('check_')}")
        for case in cases
        for check in ALL_CHECKS
        if APPLIES.get(check, lambda case: True)(case)
    ]
