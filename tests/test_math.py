"""mg.math.logsumexp: stable by construction, against scipy, inside scan."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from scipy.special import logsumexp as scipy_logsumexp

import mixgraph as mg

NO_REWRITES = Mode(linker="py", optimizer=None)
WITH_REWRITES = Mode(linker="py", optimizer="fast_run")
MODES = {"no rewrites": NO_REWRITES, "rewrites": WITH_REWRITES}
SCAN_MODES = {**MODES, "numba": "NUMBA"}

NEG_INF = -np.inf
INPUTS = {
    "moderate": np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -2.5]]),
    "huge": np.array([[1000.0, 1000.0, 999.0], [-1000.0, 710.0, 800.0]]),
    "very negative": np.array([[-1000.0, -1001.0, -2000.0], [-800.0, -800.0, -800.0]]),
    "some -inf": np.array([[NEG_INF, 1.0, 2.0], [NEG_INF, NEG_INF, -3.0]]),
    "a row of -inf": np.array([[NEG_INF, NEG_INF, NEG_INF], [1.0, NEG_INF, 1.0]]),
    "all -inf": np.full((2, 3), NEG_INF),
}
AXES = [None, 0, 1, -1, (0, 1)]


@pytest.mark.parametrize("mode", list(MODES), ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", list(INPUTS))
def test_logsumexp_matches_scipy(name, axis, keepdims, mode):
    x = pt.dmatrix("x")
    function = pytensor.function([x], mg.math.logsumexp(x, axis=axis, keepdims=keepdims), mode=MODES[mode])
    expected = scipy_logsumexp(INPUTS[name], axis=axis, keepdims=keepdims)
    actual = function(INPUTS[name])
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, rtol=1e-12)


def _finite_or_zero(values):
    return np.where(np.isfinite(values), values, 0.0)


def _finite_difference(function, x, step=1e-6):
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        if not np.isfinite(x[index]):
            continue
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        gradient[index] = (function(up) - function(down)) / (2 * step)
    return gradient


@pytest.mark.parametrize("mode", list(MODES), ids=str)
@pytest.mark.parametrize("name", list(INPUTS))
def test_logsumexp_gradient_finite_and_matches_finite_differences(name, mode):
    x = pt.dmatrix("x")
    # weights make the gradient depend on each row's softmax, not just sum to 1
    total = pt.sum(pt.as_tensor([1.0, 2.0]) * mg.math.logsumexp(x, axis=1))
    gradient = pytensor.function([x], pytensor.grad(total, x), mode=MODES[mode])(INPUTS[name])
    assert np.all(np.isfinite(gradient))
    # rows that are all -inf have gradient 0 by definition: drop them from the reference sum
    expected = _finite_difference(lambda v: np.sum([1.0, 2.0] * _finite_or_zero(scipy_logsumexp(v, axis=1))), INPUTS[name])
    np.testing.assert_allclose(gradient, expected, atol=1e-6)


def _forward_algorithm(log_initial, log_transition, log_emission):
    """log p(y_1..T) of a hidden Markov chain, with scan (Rabiner 1989, section III.A)."""

    def step(log_emission_t, log_alpha, log_transition):
        return log_emission_t + mg.math.logsumexp(log_alpha[:, None] + log_transition, axis=0)

    log_alphas, _ = pytensor.scan(
        step, sequences=[log_emission[1:]], outputs_info=[log_initial + log_emission[0]],
        non_sequences=[log_transition],
    )
    return mg.math.logsumexp(log_alphas[-1])


def _forward_numpy(log_initial, log_transition, log_emission):
    log_alpha = log_initial + log_emission[0]
    for log_emission_t in log_emission[1:]:
        log_alpha = log_emission_t + scipy_logsumexp(log_alpha[:, None] + log_transition, axis=0)
    return scipy_logsumexp(log_alpha)


@pytest.mark.parametrize("mode", list(SCAN_MODES), ids=str)
def test_logsumexp_inside_scan_forward_algorithm(mode):
    rng = np.random.default_rng(3)
    # emissions far in the tails (log-densities near -1000) and an impossible transition
    emission = -500.0 * rng.uniform(1.0, 3.0, size=(6, 3))
    transition = np.log(np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.3, 0.7]]))
    initial = np.log(np.array([0.5, 0.5, 0.0]))
    log_emission = pt.dmatrix("log_emission")
    log_transition = pt.dmatrix("log_transition")
    total = _forward_algorithm(pt.as_tensor(initial), log_transition, log_emission)
    function = pytensor.function(
        [log_emission, log_transition], [total, *pytensor.grad(total, [log_emission, log_transition])],
        mode=SCAN_MODES[mode],
    )
    value, emission_gradient, transition_gradient = function(emission, transition)
    np.testing.assert_allclose(value, _forward_numpy(initial, transition, emission), rtol=1e-12)
    assert np.all(np.isfinite(emission_gradient)) and np.all(np.isfinite(transition_gradient))
    expected = _finite_difference(lambda e: _forward_numpy(initial, transition, e), emission)
    np.testing.assert_allclose(emission_gradient, expected, atol=1e-5)
    expected = _finite_difference(lambda t: _forward_numpy(initial, t, emission), transition)
    np.testing.assert_allclose(transition_gradient, expected, atol=1e-5)


def test_pytensor_logsumexp_without_rewrites_overflows():
    """Why mg.math has its own: the plain graph is inf at large inputs without rewrites."""
    x = pt.dvector("x")
    plain = pytensor.function([x], pt.logsumexp(x), mode=NO_REWRITES)(np.array([1000.0, 1000.0]))
    assert not np.isfinite(plain)
    ours = pytensor.function([x], mg.math.logsumexp(x), mode=NO_REWRITES)(np.array([1000.0, 1000.0]))
    np.testing.assert_allclose(ours, 1000.0 + np.log(2.0))
