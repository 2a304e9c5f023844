"""Observed data outside a distribution's support are rejected when the variable is built.

Driven by the ``Case`` tables of the univariate distributions (their
``outside`` points must be rejected, their inside points and the edge points
where scipy's log-density is finite must be accepted), plus a table of
multivariate, mixture and zero-inflated rows.
"""

import re

import numpy as np
import pytest

import mixgraph as mg
import test_continuous
import test_discrete
from checks import case_ids
from mixgraph.distributions.support import SupportError

CASES = [case for case in test_continuous.CASES + test_discrete.CASES]
OUTSIDE_CASES = [case for case in CASES if len(case.outside)]


def _observed(case, points):
    return np.asarray(points, dtype="int64" if case.discrete else "float64")


def _reference_log_density(case, parameters, points):
    frozen = case.reference(**parameters)
    with np.errstate(all="ignore"):
        return frozen.logpmf(points) if case.discrete else frozen.logpdf(points)


def _build(case, parameters, points, name="y"):
    with mg.Model():
        case.distribution(name, **parameters, observed=_observed(case, points))


@pytest.mark.parametrize("case", OUTSIDE_CASES, ids=case_ids(OUTSIDE_CASES))
def test_outside_point_rejected_naming_variable_and_value(case):
    for parameters in case.grid:
        inside = case.values[np.isfinite(_reference_log_density(case, parameters, case.values))][0]
        for point in case.outside:
            with pytest.raises(SupportError) as error:
                _build(case, parameters, [inside, point], name="obs_y")
            message = str(error.value)
            assert "'obs_y'" in message and "1 value(s)" in message, message
            # a discrete DiracDelta with a float c has float values: 2 is shown as 2.0
            assert re.search(rf"[^0-9.]{re.escape(repr(point.item()))}(\.0)? at index 1", message), message


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_inside_and_finite_edge_points_accepted(case):
    """Accepted exactly where scipy's log-density is finite (an infinite pole is rejected)."""
    points = np.concatenate([case.values, case.edges])
    for parameters in case.grid:
        finite = np.isfinite(_reference_log_density(case, parameters, points))
        _build(case, parameters, points[finite])
        for point in points[~finite]:
            with pytest.raises(SupportError, match=re.escape(repr(_observed(case, [point])[0].item()))):
                _build(case, parameters, [point])


def _symbolic(case, parameters):
    """The parameters as Data containers: unknown to the support check, as in a real model."""
    return {
        name: mg.Data(f"parameter_{name}", np.asarray(value, dtype="int64" if name in case.integer_parameters else "float64"))
        for name, value in parameters.items()
    }


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_symbolic_parameters_never_reject_points_inside(case):
    points = np.concatenate([case.values, case.edges])
    for parameters in case.grid:
        finite = np.isfinite(_reference_log_density(case, parameters, points))
        with mg.Model():
            case.distribution("y", **_symbolic(case, parameters), observed=_observed(case, points[finite]))


# Parameter-independent bounds are checked with symbolic parameters too; bounds
# that are themselves symbolic are not (the last rows).
SYMBOLIC_ROWS = {
    "Poisson negative count": (mg.Poisson, dict(mu=2.0), [-1], True),
    "NegativeBinomial negative": (mg.NegativeBinomial, dict(mu=2.0, alpha=1.0), [-3], True),
    "Geometric zero": (mg.Geometric, dict(p=0.3), [0], True),
    "Bernoulli 2": (mg.Bernoulli, dict(p=0.3), [2], True),
    "Gamma negative": (mg.Gamma, dict(alpha=2.0, beta=1.0), [-0.5], True),
    "Exponential negative": (mg.Exponential, dict(lam=2.0), [-0.5], True),
    "HalfNormal negative": (mg.HalfNormal, dict(sigma=1.0), [-0.5], True),
    "Beta above 1": (mg.Beta, dict(alpha=2.0, beta=2.0), [1.5], True),
    "LogNormal zero": (mg.LogNormal, dict(mu=0.0, sigma=1.0), [0.0], True),
    "Normal inf": (mg.Normal, dict(mu=0.0, sigma=1.0), [np.inf], True),
    "Beta at 0, alpha unknown": (mg.Beta, dict(alpha=2.0, beta=2.0), [0.0], False),
    "Uniform above a symbolic upper bound": (mg.Uniform, dict(lower=0.0, upper=1.0), [2.0], False),
}


@pytest.mark.parametrize("row", list(SYMBOLIC_ROWS))
def test_symbolic_parameters_check_bounds_that_do_not_depend_on_them(row):
    distribution, parameters, observed, rejected = SYMBOLIC_ROWS[row]
    with mg.Model():
        symbolic = {name: mg.Data(f"parameter_{name}", value) for name, value in parameters.items()}
        if not rejected:
            distribution("y", **symbolic, observed=observed)
            return
        with pytest.raises(SupportError, match=r"Variable 'y': 1 value\(s\).*" + re.escape(repr(np.asarray(observed).item()))):
            distribution("y", **symbolic, observed=observed)


def test_uniform_checks_its_constant_bound_when_the_other_is_symbolic():
    with mg.Model():
        upper = mg.HalfNormal("upper", 1.0)
        with pytest.raises(SupportError, match=r"-0\.5 at index 0"):
            mg.Uniform("y", lower=0.0, upper=upper, observed=[-0.5, 0.2])


def _weights():
    return mg.Dirichlet("w", a=np.ones(2))


# name -> (builder of the model's variable, expected fragment of the message); None: accepted
MULTIVARIATE_ROWS = {
    "Dirichlet row off the simplex": (lambda: mg.Dirichlet("y", a=np.ones(3), observed=[[0.2, 0.3, 0.5], [0.5, 0.5, 0.5]]), "1 row(s)"),
    "Dirichlet negative entry": (lambda: mg.Dirichlet("y", a=np.ones(3), observed=[[-0.2, 0.7, 0.5]]), "[-0.2  0.7  0.5] at index 0"),
    "Dirichlet symbolic a, off the simplex": (lambda: mg.Dirichlet("y", a=mg.HalfNormal("a", 1.0, shape=3), observed=[[0.5, 0.5, 0.5]]), "1 row(s)"),
    "Dirichlet on the simplex": (lambda: mg.Dirichlet("y", a=np.ones(3), observed=[[0.2, 0.3, 0.5]]), None),
    "Multinomial total off n": (lambda: mg.Multinomial("y", n=5, p=[0.2, 0.8], observed=[[2, 3], [2, 4]]), "[2 4] at index 1"),
    "Multinomial negative count, p symbolic": (lambda: mg.Multinomial("y", n=5, p=_weights(), observed=[[-1, 6]]), "[-1  6] at index 0"),
    "Multinomial in support": (lambda: mg.Multinomial("y", n=5, p=[0.2, 0.8], observed=[[2, 3], [0, 5]]), None),
    "MvNormal inf": (lambda: mg.MvNormal("y", mu=np.zeros(2), cov=np.eye(2), observed=[[0.0, np.inf]]), "1 row(s)"),
    "LKJCorr entry above 1": (lambda: mg.LKJCorr("y", n=3, eta=mg.HalfNormal("eta", 1.0), observed=[[0.2, 1.5, 0.0]]), "1 row(s)"),
    "LKJCorr not positive definite": (lambda: mg.LKJCorr("y", n=3, eta=mg.HalfNormal("eta", 1.0), observed=[[0.9, 0.9, -0.9]]), "1 row(s)"),
    "LKJCorr valid": (lambda: mg.LKJCorr("y", n=3, eta=2.0, observed=[[0.2, 0.1, -0.3]]), None),
    "Mixture outside every component": (lambda: mg.Mixture("y", w=_weights(), comp_dists=[mg.Poisson.dist(1.0), mg.Geometric.dist(0.5)], observed=[0, 2, -1]), "-1 at index 2"),
    "Mixture inside one component": (lambda: mg.Mixture("y", w=_weights(), comp_dists=[mg.Poisson.dist(1.0), mg.Geometric.dist(0.5)], observed=[0, 2]), None),
    "Mixture of Beta and Gamma, constant": (lambda: mg.Mixture("y", w=[0.5, 0.5], comp_dists=[mg.Beta.dist(2.0, 2.0), mg.Gamma.dist(2.0, 1.0)], observed=[0.5, 3.0, -0.1]), "-0.1 at index 2"),
    "Mixture, symbolic components": (lambda: mg.Mixture("y", w=_weights(), comp_dists=[mg.Gamma.dist(mg.HalfNormal("a", 1.0), 1.0), mg.Exponential.dist(mg.HalfNormal("b", 1.0))], observed=[1.0, -2.0]), "-2.0 at index 1"),
    "Batched mixture outside": (lambda: mg.Mixture("y", w=_weights(), comp_dists=mg.Poisson.dist(mu=np.array([1.0, 3.0])), observed=[1, -4]), "-4 at index 1"),
    "NormalMixture inf": (lambda: mg.NormalMixture("y", w=_weights(), mu=np.zeros(2), sigma=np.ones(2), observed=[0.0, -np.inf]), "-inf at index 1"),
    "ZeroInflatedPoisson negative": (lambda: mg.ZeroInflatedPoisson("y", psi=0.5, mu=mg.HalfNormal("mu", 1.0), observed=[0, 3, -1]), "-1 at index 2"),
    "ZeroInflatedBinomial above n": (lambda: mg.ZeroInflatedBinomial("y", psi=0.5, n=4, p=0.3, observed=[0, 5]), "5 at index 1"),
    "ZeroInflatedNegativeBinomial zeros": (lambda: mg.ZeroInflatedNegativeBinomial("y", psi=0.5, mu=2.0, alpha=1.0, observed=[0, 0, 4]), None),
    "HurdlePoisson negative": (lambda: mg.HurdlePoisson("y", psi=0.5, mu=mg.HalfNormal("mu", 1.0), observed=[0, -2]), "-2 at index 1"),
    "HurdleGamma negative": (lambda: mg.HurdleGamma("y", psi=0.5, alpha=2.0, beta=1.0, observed=[0.0, 1.0, -1.0]), "-1.0 at index 2"),
    "HurdleLogNormal zero and positive": (lambda: mg.HurdleLogNormal("y", psi=0.5, mu=0.0, sigma=1.0, observed=[0.0, 1.0]), None),
    "HurdleNegativeBinomial negative": (lambda: mg.HurdleNegativeBinomial("y", psi=0.5, mu=2.0, alpha=1.0, observed=[-1]), "-1 at index 0"),
}


@pytest.mark.parametrize("row", list(MULTIVARIATE_ROWS))
def test_multivariate_mixture_and_zero_inflated_support(row):
    build, fragment = MULTIVARIATE_ROWS[row]
    with mg.Model():
        if fragment is None:
            build()
            return
        with pytest.raises(SupportError) as error:
            build()
    message = str(error.value)
    assert "Variable 'y'" in message and fragment in message, message
