"""Transforms: round trips and log-Jacobians against numerical Jacobians."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from mixgraph import transforms
from mixgraph.point import QUICK_MODE

# (transform, unconstrained test point, parameters passed as *inputs)
CASES = {
    "log": (transforms.log, np.array([-1.3, 0.2, 2.5]), ()),
    "logodds": (transforms.logodds, np.array([-4.0, 0.1, 3.0]), ()),
    "interval": (transforms.interval(-2.0, 5.0), np.array([-3.0, 0.0, 1.7]), ()),
    "interval-lower": (transforms.interval(lower=1.5), np.array([-1.0, 0.3]), ()),
    "interval-upper": (transforms.interval(upper=-1.5), np.array([-1.0, 0.3]), ()),
    "interval-symbolic": (
        transforms.IntervalTransform(bounds=lambda lower, upper: (lower, upper)),
        np.array([-0.5, 0.9]),
        (np.array(-1.0), np.array(3.0)),
    ),
    "simplex": (transforms.simplex, np.array([0.3, -1.2, 0.8]), ()),
    "ordered": (transforms.ordered, np.array([-1.0, 0.5, -0.3, 1.1]), ()),
    "log-ordered": (transforms.Chain([transforms.log, transforms.ordered]), np.array([-1.0, 0.5, -0.3]), ()),
}


def _functions(transform, inputs):
    value = pt.dvector("value")
    symbolic_inputs = [pt.as_tensor(array) for array in inputs]
    backward = pytensor.function([value], transform.backward(value, *symbolic_inputs), mode=QUICK_MODE)
    forward = pytensor.function([value], transform.forward(value, *symbolic_inputs), mode=QUICK_MODE)
    log_jac = pytensor.function([value], pt.sum(transform.log_jac_det(value, *symbolic_inputs)), mode=QUICK_MODE)
    return forward, backward, log_jac


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip(name):
    transform, point, inputs = CASES[name]
    forward, backward, _ = _functions(transform, inputs)
    np.testing.assert_allclose(forward(backward(point)), point, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_log_jacobian_matches_numerical_jacobian(name):
    transform, point, inputs = CASES[name]
    _, backward, log_jac = _functions(transform, inputs)
    step = 1e-6
    columns = []
    for index in range(point.size):
        offset = np.zeros_like(point)
        offset[index] = step
        columns.append((backward(point + offset) - backward(point - offset)) / (2 * step))
    jacobian = np.stack(columns, axis=1)
    if name == "simplex":  # the free coordinates are the first K-1 of the K components
        jacobian = jacobian[:-1]
    if transform.ndim_reduced == 0:
        expected = np.sum(np.log(np.abs(np.diag(jacobian))))
        assert np.allclose(jacobian, np.diag(np.diag(jacobian)), atol=1e-8)
    else:
        expected = np.linalg.slogdet(jacobian)[1]
    assert log_jac(point) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_backward_lands_in_support():
    point = np.linspace(-30, 30, 7)
    _, backward, _ = _functions(transforms.interval(-2.0, 5.0), ())
    assert np.all((backward(point) >= -2.0) & (backward(point) <= 5.0))
    _, backward, _ = _functions(transforms.ordered, ())
    assert np.all(np.diff(backward(np.array([0.0, -3.0, 2.0]))) > 0)
    _, backward, _ = _functions(transforms.simplex, ())
    simplex_point = backward(np.array([700.0, -700.0]))
    assert np.all(np.isfinite(simplex_point)) and simplex_point.sum() == pytest.approx(1.0)


def test_simplex_of_one_category_is_the_point_one():
    # K = 1 (a one-component mixture in a loop over K): no free coordinate, x = [1], log |J| = 0
    forward, backward, log_jac = _functions(transforms.simplex, ())
    empty = np.zeros(0)
    np.testing.assert_array_equal(backward(empty), [1.0])
    assert forward(np.array([1.0])).shape == (0,)
    assert log_jac(empty) == 0.0


def test_one_component_dirichlet_mixture_is_the_component():
    import scipy.stats as stats

    import mixgraph as mg
    from mixgraph.compile import compile_numba_logp, flat_layout
    from mixgraph.point import initial_point

    observed = np.array([-0.4, 0.3, 1.9, 0.8])
    with mg.Model() as model:
        weights = mg.Dirichlet("w", a=np.ones(1))
        mg.NormalMixture("y", w=weights, mu=np.array([0.5]), sigma=1.0, observed=observed)
        mg.Normal("x", 0.0, 1.0)
    layout = flat_layout(initial_point(model, None), [value.name for value in model.value_vars])
    assert layout.size == 1  # w has no free coordinate
    compiled = compile_numba_logp(model, layout)
    position, gradient = np.array([0.2]), np.zeros(1)
    logp = compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
    expected = stats.norm(0.5, 1.0).logpdf(observed).sum() + stats.norm().logpdf(0.2)
    assert logp == pytest.approx(expected, rel=1e-12)
    assert gradient[0] == pytest.approx(-0.2, rel=1e-12)


def test_transform_names():
    assert transforms.Chain([transforms.log, transforms.ordered]).name == "log_ordered"
    assert transforms.simplex.ndim_reduced == 1


def test_ordered_support_point_start_is_spread_but_user_initval_is_not():
    """Equal support points of an ordered vector start at unit steps around their mean;
    a user's tied initval is an error naming the variable."""
    import mixgraph as mg
    from mixgraph.point import initial_point

    with mg.Model() as model:
        mg.Exponential("lam", lam=0.1, shape=2, transform=transforms.ordered)
        mg.Normal("mu", 20.0, 10.0, shape=(2, 3), transform=transforms.ordered)
    point = initial_point(model)
    # log(10) - 0.5 and log(10) + 0.5: log-gap 1 -> exp(0) = 1 in the ordered coordinates
    assert point["lam_log_ordered__"] == pytest.approx([np.log(10.0) - 0.5, 0.0])
    assert point["mu_ordered__"] == pytest.approx(np.tile([19.0, 0.0, 0.0], (2, 1)))
    with mg.Model() as tied:
        mg.Normal("nu", 0.0, 1.0, shape=3, transform=transforms.ordered, initval=[0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="nu_ordered__.*strictly increasing"):
        initial_point(tied)


def test_transforms_reachable_under_pymc_name():
    """``mg.distributions.transforms`` (PyMC's path) is mixgraph.transforms itself, also for import statements."""
    import mixgraph as mg
    import mixgraph.distributions.transforms as under_distributions
    from mixgraph.distributions.transforms import ordered

    assert mg.distributions.transforms is transforms and under_distributions is transforms
    assert ordered is transforms.ordered and mg.distributions.transforms.simplex is transforms.simplex
    with mg.Model() as model:
        mg.Normal("mu", mu=0.0, sigma=1.0, shape=3, transform=mg.distributions.transforms.ordered)
    assert model.rvs_to_transforms[model["mu"]] is transforms.ordered
