"""An out-of-range component parameter makes a whole compound density -inf.

Swept over every mixture form (list, batched, NormalMixture) and every
zero-inflated and hurdle family, with the ``invalid_symbolic`` parameter sets
of the distribution tables. A value outside one component's support still only
removes that component, and gradients at valid parameters stay finite.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from scipy import stats

from checks import Case
from test_continuous import CASES as CONTINUOUS_CASES
from test_discrete import CASES as DISCRETE_CASES
from mixgraph.distributions.continuous import Normal
from mixgraph.distributions.continuous_bounded import Uniform
from mixgraph.distributions.mixture import Mixture, NormalMixture
from mixgraph.distributions.zero_inflated import (
    HurdleGamma, HurdleLogNormal, HurdleNegativeBinomial, HurdlePoisson,
    ZeroInflatedBinomial, ZeroInflatedNegativeBinomial, ZeroInflatedPoisson,
)
from mixgraph.logprob import logcdf, logp
from mixgraph.registry import LOGCDF

# The graphs as written, evaluated node by node: the values checked here do not
# depend on the rewrites (4x cheaper than FAST_COMPILE, whose rewrites dominate).
# One test below runs the same check through the rewritten, Numba-compiled path.
MODE = Mode(linker="py", optimizer=None)
WEIGHTS = np.array([0.4, 0.6])


def _scalar_cases(cases):
    return [case for case in cases if case.invalid_symbolic and all(np.ndim(v) == 0 for v in case.grid[0].values())]


CASES = {case.name: case for case in _scalar_cases(CONTINUOUS_CASES) + _scalar_cases(DISCRETE_CASES)}


def _symbols(case: Case) -> dict:
    return {
        name: pt.scalar(name, dtype="int64" if name in case.integer_parameters else "float64")
        for name in case.grid[0]
    }


def _list_mixture(case, symbols):
    return Mixture.dist(w=WEIGHTS, comp_dists=[case.distribution.dist(**symbols), case.distribution.dist(**case.grid[0])])


def _batched_mixture(case, symbols):
    stacked = {name: pt.stack([symbol, pt.as_tensor(case.grid[0][name], dtype=symbol.dtype)]) for name, symbol in symbols.items()}
    return Mixture.dist(w=WEIGHTS, comp_dists=case.distribution.dist(**stacked))


FORMS = {"list": _list_mixture, "batched": _batched_mixture}


def _compile(quantities, symbols, mode=MODE):
    """One function of the symbols, compiled once and called at every parameter set."""
    function = pytensor.function(list(symbols.values()), quantities, mode=mode, on_unused_input="ignore")
    return lambda parameters: function(*_inputs_for(symbols, parameters).values())


def _quantities(rv, value):
    quantities = [logp(rv, value)]
    if LOGCDF.lookup(rv.owner.op) is not None:
        quantities.append(logcdf(rv, value))
    return quantities


def _check(rv, values, symbols, case_like_valid, invalid_sets, mode=MODE):
    value = pt.as_tensor(values)
    quantities = _quantities(rv, value)
    float_symbols = [s for s in symbols.values() if s.dtype.startswith("float")]
    gradients = pytensor.grad(pt.sum(quantities[0]), float_symbols) if float_symbols else []
    # the densities and the gradients in one function: one compilation per row
    evaluate = _compile(quantities + gradients, symbols, mode)
    valid = evaluate(case_like_valid)
    assert all(np.all(np.isfinite(result)) for result in valid), valid  # the check below can fail
    for parameters in invalid_sets:
        results = evaluate(parameters)[: len(quantities)]
        for result in results:
            assert np.all(np.isneginf(result)), (parameters, result)


def _inputs_for(symbols, parameters):
    return {symbol: np.asarray(parameters[name], dtype=symbol.dtype) for name, symbol in symbols.items()}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("name", list(CASES))
def test_mixture_with_invalid_symbolic_component_parameter_is_neginf(name, form):
    case = CASES[name]
    symbols = _symbols(case)
    rv = FORMS[form](case, symbols)
    _check(rv, case.values, symbols, case.grid[0], case.invalid_symbolic)


def test_rewritten_numba_compiled_mixture_with_invalid_component_parameter_is_neginf():
    """The sampler's path: every rewrite, then Numba (one row, with two real parameters)."""
    case = CASES["Gamma"]
    symbols = _symbols(case)
    rv = _list_mixture(case, symbols)
    _check(rv, case.values, symbols, case.grid[0], case.invalid_symbolic, mode="NUMBA")


def test_normal_mixture_with_invalid_symbolic_sigma_is_neginf():
    sigma = pt.dscalar("sigma")
    rv = NormalMixture.dist(w=WEIGHTS, mu=[0.0, 2.0], sigma=pt.stack([sigma, 1.0]))
    _check(rv, np.array([-1.0, 0.5, 3.0]), {"sigma": sigma}, {"sigma": 1.5}, CASES["Normal"].invalid_symbolic)


def test_nested_mixture_with_invalid_inner_parameter_is_neginf():
    sigma = pt.dscalar("sigma")
    inner = Mixture.dist(w=WEIGHTS, comp_dists=[Normal.dist(0.0, sigma), Normal.dist(3.0, 1.0)])
    rv = Mixture.dist(w=WEIGHTS, comp_dists=[inner, Normal.dist(-2.0, 1.0)])
    _check(rv, np.array([-1.0, 0.5, 3.0]), {"sigma": sigma}, {"sigma": 1.5}, [{"sigma": -1.0}])


def test_value_outside_one_component_support_still_weights_it_zero():
    upper = pt.dscalar("upper")
    rv = Mixture.dist(w=WEIGHTS, comp_dists=[Uniform.dist(0.0, upper), Normal.dist(0.0, 1.0)])
    value = pt.dscalar("value")
    density, gradient = pytensor.function(
        [value, upper], [logp(rv, value), pytensor.grad(logp(rv, value), upper)], mode=MODE
    )(3.0, 1.0)
    np.testing.assert_allclose(density, np.log(0.6) + stats.norm.logpdf(3.0), rtol=1e-12)
    assert gradient == 0.0
    assert np.isneginf(pytensor.function([value, upper], logp(rv, value), mode=MODE)(0.5, -1.0))


# (class, the base distribution's table case, parameter values it takes from that case)
COUNT_FAMILIES = {
    "ZeroInflatedPoisson": (ZeroInflatedPoisson, "Poisson"),
    "ZeroInflatedNegativeBinomial": (ZeroInflatedNegativeBinomial, "NegativeBinomial"),
    "ZeroInflatedBinomial": (ZeroInflatedBinomial, "Binomial"),
    "HurdlePoisson": (HurdlePoisson, "Poisson"),
    "HurdleNegativeBinomial": (HurdleNegativeBinomial, "NegativeBinomial"),
    "HurdleGamma": (HurdleGamma, "Gamma"),
    "HurdleLogNormal": (HurdleLogNormal, "LogNormal"),
}


@pytest.mark.parametrize("name", list(COUNT_FAMILIES))
def test_zero_inflated_and_hurdle_with_invalid_symbolic_base_parameter_are_neginf(name):
    cls, base_name = COUNT_FAMILIES[name]
    case = CASES[base_name]
    symbols = _symbols(case)
    rv = cls.dist(psi=0.7, **symbols)
    # zero (the point mass) included: it must be -inf too when the base is invalid
    values = np.concatenate([[0], case.values]).astype(case.values.dtype)
    _check(rv, values, symbols, case.grid[0], case.invalid_symbolic)


def test_zero_inflated_poisson_example_from_the_issue():
    mu = pt.dscalar("mu")
    assert np.isneginf(logp(ZeroInflatedPoisson.dist(psi=0.5, mu=mu), 0).eval({mu: -1.0}))
