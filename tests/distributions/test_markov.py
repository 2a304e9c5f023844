"""DiscreteMarkovChain (path log-density, draws, errors) and the forward-algorithm ops (values, gradients, Numba)."""

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special

import mixgraph as mg
from mixgraph.distributions.markov_forward import (
    forward_numpy,
    gradient_numpy,
    hmm_log_likelihood,
    hmm_posterior_marginals,
)
from mixgraph.distributions.markov_forward_batched import (
    batched_hmm_log_likelihood,
    batched_hmm_posterior_marginals,
    hmm_step_log_likelihoods,
    step_log_likelihoods_numpy,
)

P_SHARED = np.array([[0.7, 0.2, 0.1], [0.25, 0.5, 0.25], [0.05, 0.15, 0.8]])
INIT = np.array([0.5, 0.3, 0.2])
P_VARYING = np.random.default_rng(3).dirichlet(np.ones(3), size=(4, 3))  # T = 5


def _hand_log_path(path, init, transitions):
    total = np.log(init[path[0]])
    for t in range(1, len(path)):
        matrix = transitions if transitions.ndim == 2 else transitions[t - 1]
        total += np.log(matrix[path[t - 1], path[t]])
    return total


PATH_CASES = {
    "shared-P": (P_SHARED, INIT, np.array([0, 0, 1, 2, 2])),
    "shared-P-uniform-init": (P_SHARED, None, np.array([2, 1, 0, 0, 1])),
    "time-varying-P": (P_VARYING, INIT, np.array([1, 2, 2, 0, 1])),
    "one-step": (P_SHARED, INIT, np.array([1])),
}


@pytest.mark.parametrize("case", PATH_CASES)
def test_path_log_density_equals_the_hand_computation(case):
    transitions, init, path = PATH_CASES[case]
    init_dist = None if init is None else mg.Categorical.dist(p=init)
    chain = mg.DiscreteMarkovChain.dist(P=transitions, init_dist=init_dist, shape=(len(path),))
    expected = _hand_log_path(path, np.full(3, 1 / 3) if init is None else init, transitions)
    np.testing.assert_allclose(mg.logp(chain, path).eval(), expected, rtol=1e-12)


@pytest.mark.parametrize("path", [np.array([0, 3, 1, 0, 0]), np.array([-1, 0, 1, 0, 0])])
def test_path_outside_the_states_has_log_density_minus_infinity(path):
    chain = mg.DiscreteMarkovChain.dist(P=P_SHARED, init_dist=mg.Categorical.dist(p=INIT), shape=(5,))
    assert mg.logp(chain, path).eval() == -np.inf


@pytest.mark.parametrize("bad", [np.array([[0.5, 0.6], [0.5, 0.5]]), np.array([[1.2, -0.2], [0.5, 0.5]])])
def test_symbolic_transition_rows_off_the_simplex_give_minus_infinity(bad):
    transitions = pt.dmatrix("P")
    chain = mg.DiscreteMarkovChain.dist(P=transitions, init_dist=mg.Categorical.dist(p=[0.5, 0.5]), shape=(3,))
    function = pytensor.function([transitions], mg.logp(chain, np.array([0, 1, 1])), mode="FAST_COMPILE")
    assert function(bad) == -np.inf
    np.testing.assert_allclose(function(np.array([[0.5, 0.5], [0.1, 0.9]])), np.log(0.5 * 0.5 * 0.9))


def _transition_counts(paths, states):
    counts = np.zeros((states, states))
    np.add.at(counts, (paths[:, :-1].ravel(), paths[:, 1:].ravel()), 1)
    return counts


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_draws_have_the_transition_frequencies_of_P(engine):
    steps = 60
    chain = mg.DiscreteMarkovChain.dist(P=P_SHARED, init_dist=mg.Categorical.dist(p=INIT), steps=steps - 1)
    if engine == "numba":
        paths = np.asarray(mg.draw(chain, draws=400, random_seed=5))
    else:
        rng = np.random.default_rng(5)
        paths = np.stack([chain.owner.op.rng_fn(rng, steps - 1, INIT, P_SHARED, None) for _ in range(400)])
    assert paths.shape == (400, steps) and paths.dtype == np.int64
    counts = _transition_counts(paths, 3)
    totals = counts.sum(axis=1, keepdims=True)
    frequencies = counts / totals
    standard_errors = np.sqrt(P_SHARED * (1 - P_SHARED) / totals)  # binomial, per row (paths are long)
    assert np.all(np.abs(frequencies - P_SHARED) < 4.5 * standard_errors)
    first = np.bincount(paths[:, 0], minlength=3) / 400
    assert np.all(np.abs(first - INIT) < 4.5 * np.sqrt(INIT * (1 - INIT) / 400))


def test_time_varying_draws_follow_each_matrix():
    # Deterministic matrices: the path is fixed by them.
    flip, stay = np.array([[0.0, 1.0], [1.0, 0.0]]), np.eye(2)
    chain = mg.DiscreteMarkovChain.dist(P=np.stack([flip, stay, flip, flip]), init_dist=mg.Categorical.dist(p=[1.0, 0.0]))
    np.testing.assert_array_equal(np.asarray(mg.draw(chain, draws=3, random_seed=1)), [[0, 1, 1, 0, 1]] * 3)


# ---------------------------------------------------------------- the forward algorithm
def _brute_force_log_marginal(log_init, log_transitions, emission):
    steps, states = emission.shape
    totals = []
    for path in itertools.product(range(states), repeat=steps):
        total = log_init[path[0]] + emission[0, path[0]]
        for t in range(1, steps):
            matrix = log_transitions if log_transitions.ndim == 2 else log_transitions[t - 1]
            total += matrix[path[t - 1], path[t]] + emission[t, path[t]]
        totals.append(total)
    return special.logsumexp(totals)


def _hmm_inputs(time_varying, seed=0, steps=6, states=2):
    rng = np.random.default_rng(seed)
    log_init = np.log(rng.dirichlet(np.ones(states)))
    shape = (steps - 1, states) if time_varying else (states,)
    log_transitions = np.log(rng.dirichlet(np.ones(states), size=shape))
    emission = rng.normal(scale=2.0, size=(steps, states))
    return log_init, log_transitions, emission


def _compiled(time_varying, mode):
    log_init, emission = pt.dvector("log_init"), pt.dmatrix("emission")
    log_transitions = pt.dtensor3("log_P") if time_varying else pt.dmatrix("log_P")
    value = hmm_log_likelihood(log_init, log_transitions, emission)
    gradients = pytensor.grad(value, [log_init, log_transitions, emission])
    marginals = hmm_posterior_marginals(log_init, log_transitions, emission)
    return pytensor.function([log_init, log_transitions, emission], [value, *gradients, marginals], mode=mode)


FORWARD_CASES = [(time_varying, mode) for time_varying in (False, True) for mode in ("FAST_COMPILE", "NUMBA")]


@pytest.fixture(scope="module")
def compiled_functions():
    return {(time_varying, mode): _compiled(time_varying, mode) for time_varying, mode in FORWARD_CASES}


@pytest.mark.parametrize("time_varying, mode", FORWARD_CASES)
def test_log_marginal_equals_brute_force_over_all_64_paths(compiled_functions, time_varying, mode):
    for seed in range(3):
        inputs = _hmm_inputs(time_varying, seed)
        value = compiled_functions[time_varying, mode](*inputs)[0]
        np.testing.assert_allclose(value, _brute_force_log_marginal(*inputs), rtol=1e-12)


def _central_difference(function, point, step=1e-6):
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        up, down = point.copy(), point.copy()
        up[index] += step
        down[index] -= step
        gradient[index] = (function(up) - function(down)) / (2 * step)
    return gradient


@pytest.mark.parametrize("time_varying, mode", FORWARD_CASES)
def test_gradient_matches_finite_differences_of_the_brute_force(compiled_functions, time_varying, mode):
    inputs = list(_hmm_inputs(time_varying, seed=7))
    _, *gradients, marginals = compiled_functions[time_varying, mode](*inputs)
    for position, gradient in enumerate(gradients):
        def moved(value, position=position):
            changed = list(inputs)
            changed[position] = value
            return _brute_force_log_marginal(*changed)

        np.testing.assert_allclose(gradient, _central_difference(moved, inputs[position]), atol=1e-7)
    np.testing.assert_allclose(marginals, gradients[2], rtol=1e-12)
    np.testing.assert_allclose(marginals.sum(axis=1), 1.0, rtol=1e-12)


def test_numba_and_perform_agree_on_a_long_series(compiled_functions):
    for time_varying in (False, True):
        inputs = _hmm_inputs(time_varying, seed=2, steps=300, states=2)
        inputs = (inputs[0], inputs[1], inputs[2] * 20.0)  # emissions spread over hundreds of nats
        python_results = compiled_functions[time_varying, "FAST_COMPILE"](*inputs)
        numba_results = compiled_functions[time_varying, "NUMBA"](*inputs)
        assert np.isfinite(python_results[0])
        for python_result, numba_result in zip(python_results, numba_results):
            np.testing.assert_allclose(numba_result, python_result, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(python_results[0], forward_numpy(*inputs), rtol=1e-13)


IMPOSSIBLE_CASES = {
    # state 1 cannot start and state 0 cannot emit at t = 0: no path
    "no-path": (np.array([0.0, -np.inf]), np.log([[0.5, 0.5], [0.5, 0.5]]), np.array([[-np.inf, 0.0], [0.0, 0.0]])),
    "nan-emission": (np.log([0.5, 0.5]), np.log([[0.5, 0.5], [0.5, 0.5]]), np.array([[np.nan, np.nan], [0.0, 0.0]])),
}


@pytest.mark.parametrize("case", IMPOSSIBLE_CASES)
@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
def test_impossible_data_give_minus_infinity_and_zero_gradients(compiled_functions, case, mode):
    value, *gradients, _ = compiled_functions[False, mode](*IMPOSSIBLE_CASES[case])
    assert value == -np.inf
    for gradient in gradients:
        assert np.all(gradient == 0.0)


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
def test_zero_probabilities_give_finite_values_and_no_nan_gradients(compiled_functions, mode):
    log_init = np.array([0.0, -np.inf])
    with np.errstate(divide="ignore"):
        log_transitions = np.log([[0.0, 1.0], [0.5, 0.5]])
    emission = np.random.default_rng(1).normal(size=(6, 2))
    value, *gradients, _ = compiled_functions[False, mode](log_init, log_transitions, emission)
    np.testing.assert_allclose(value, _brute_force_log_marginal(log_init, log_transitions, emission), rtol=1e-12)
    assert all(np.all(np.isfinite(gradient)) for gradient in gradients)
    assert gradients[1][0, 0] == 0.0 and gradients[0][1] == 0.0


def test_numpy_gradient_is_the_reference_of_the_ops():
    inputs = _hmm_inputs(True, seed=4)
    for reference, computed in zip(gradient_numpy(*inputs), _compiled(True, "FAST_COMPILE")(*inputs)[1:4], strict=True):
        np.testing.assert_allclose(computed, reference, rtol=1e-13)


# ---------------------------------------------------------------- errors
def _build(**kwargs):
    with mg.Model():
        mg.DiscreteMarkovChain("z", **kwargs)


ERROR_CASES = {
    "P and logit_P": (dict(P=P_SHARED, logit_P=P_SHARED, shape=(4,)), "give P or logit_P"),
    "no length": (dict(P=P_SHARED), "give the chain's length: shape=(T,)"),
    "shape and steps disagree": (dict(P=P_SHARED, shape=(4,), steps=5), "disagree: a chain of T values has steps = T - 1"),
    "empty shape": (dict(P=P_SHARED, shape=()), "shape=() has no time axis"),
    "batched P for another batch": (dict(P=np.stack([P_SHARED] * 3), shape=(2, 4)), "P has batch shape (3,), which does not broadcast to the chains' batch shape (2,)"),
    "P with too many axes": (dict(P=np.stack([np.stack([P_VARYING] * 2)] * 2), shape=(4, 5)), "P of shape (2, 2, 4, 3, 3) does not fit chains of batch shape (4,)"),
    "batched time-varying P for another batch": (dict(P=np.stack([P_VARYING] * 2), shape=(4, 5)), "P has batch shape (2,), which does not broadcast to the chains' batch shape (4,)"),
    "batched time-varying P with T matrices": (dict(P=np.stack([np.stack([P_SHARED] * 5)] * 2), shape=(2, 5)), "Pass P[:, 1:]"),
    "four-axis P without a batch": (dict(P=np.stack([P_VARYING] * 2)), "or give shape=(..., T) for a batch of chains"),
    "P not square": (dict(P=np.full((2, 3), 1 / 3), shape=(4,)), "got shape (2, 3)"),
    "P a vector": (dict(P=np.full(3, 1 / 3), shape=(4,)), "P must be one (K, K) transition matrix"),
    "P with T matrices": (dict(P=np.stack([P_SHARED] * 5), shape=(5,)), "Pass P[1:]"),
    "P with too few matrices": (dict(P=np.stack([P_SHARED] * 2), shape=(5,)), "needs T - 1 = 4 matrices"),
    "P rows off the simplex": (dict(P=np.array([[0.5, 0.6], [0.5, 0.5]]), shape=(4,)), "parameter P must be non-negative with rows summing to 1"),
    "negative P": (dict(P=np.array([[1.5, -0.5], [0.5, 0.5]]), shape=(4,)), "parameter P must be non-negative"),
    "init not Categorical": (dict(P=P_SHARED, init_dist=mg.Normal.dist(0, 1), shape=(4,)), "init_dist must be a Categorical.dist(p=...) over the K states, got TensorVariable of NormalRV"),
    "init not a variable": (dict(P=P_SHARED, init_dist=[0.2, 0.8], shape=(4,)), "init_dist must be a Categorical.dist(p=...) over the K states, got list"),
    "init with other K": (dict(P=P_SHARED, init_dist=mg.Categorical.dist(p=[0.5, 0.5]), shape=(4,)), "init_dist has 2 categories but P has 3 states"),
    "init batched": (dict(P=P_SHARED, init_dist=mg.Categorical.dist(p=INIT, shape=(2,)), shape=(4,)), "init_dist must be one Categorical (shape ())"),
    "init for another batch": (dict(P=P_SHARED, init_dist=mg.Categorical.dist(p=INIT, shape=(3,)), shape=(2, 4)), "init_dist has batch shape (3,), which does not broadcast to the chains' batch shape (2,)"),
    "init p for another batch": (dict(P=P_SHARED, init_dist=mg.Categorical.dist(p=np.stack([INIT] * 3)), shape=(2, 4)), "init_dist has batch shape (3,)"),
    "second order with a matrix": (dict(P=P_SHARED, shape=(4,), n_lags=2), "P must be (K,) * 3 transition probabilities for n_lags=2, got shape (3, 3)"),
    "second order not cubic": (dict(P=np.full((2, 3, 3), 1 / 3), shape=(4,), n_lags=2), "P must be (K,) * 3 transition probabilities for n_lags=2, got shape (2, 3, 3)"),
    "too many lagged states": (dict(P=np.full((5,) * 5, 0.2), shape=(6,), n_lags=4), "K**n_lags = 625 lagged states, more than MAX_LAGGED_STATES = 256"),
    "zero lags": (dict(P=P_SHARED, shape=(4,), n_lags=0), "n_lags=0: give a whole number of lags, at least 1"),
    "chain shorter than its order": (dict(P=np.full((2, 2, 2), 0.5), shape=(1,), n_lags=2), "needs at least 2 values, got length 1"),
    "steps with lags disagree": (dict(P=np.full((2, 2, 2), 0.5), shape=(5,), steps=4, n_lags=2), "steps = T - n_lags = T - 2"),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_errors_name_the_variable_and_the_fix(case):
    kwargs, message = ERROR_CASES[case]
    with pytest.raises(ValueError) as error:
        _build(**kwargs)
    assert "DiscreteMarkovChain 'z'" in str(error.value)
    assert message in str(error.value)


def test_logit_P_is_a_row_softmax():
    logits = np.log(P_SHARED) + 1.7
    chain = mg.DiscreteMarkovChain.dist(logit_P=logits, init_dist=mg.Categorical.dist(p=INIT), shape=(5,))
    path = np.array([0, 1, 1, 2, 0])
    np.testing.assert_allclose(mg.logp(chain, path).eval(), _hand_log_path(path, INIT, P_SHARED), rtol=1e-12)


def test_observed_chain_outside_the_states_is_rejected():
    with mg.Model():
        with pytest.raises(ValueError, match="'z'"):
            mg.DiscreteMarkovChain("z", P=P_SHARED, init_dist=mg.Categorical.dist(p=INIT), observed=np.array([0, 1, 3, 1]))


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
def test_tiny_normalising_constants_do_not_underflow(compiled_functions, mode):
    # transitions of 1e-180 at every step: two consecutive scales multiply below the smallest double
    steps = 40
    log_init = np.log([0.5, 0.5])
    log_transitions = np.log([[1 - 1e-180, 1e-180], [1e-180, 1 - 1e-180]])
    emission = np.zeros((steps, 2))
    emission[::2, 1] = -3000.0
    emission[1::2, 0] = -3000.0
    value = compiled_functions[False, mode](log_init, log_transitions, emission)[0]
    # best path alternates: log 0.5 + (steps - 1) * log(1e-180); the other paths are far smaller
    np.testing.assert_allclose(value, np.log(0.5) + (steps - 1) * np.log(1e-180), rtol=1e-10)


# ---------------------------------------------------------------- batches of chains and higher orders
def _hand_log_lagged_path(path, init, transitions, lags):
    """First ``lags`` states from ``init``, then ``P[z_{t-m}, ..., z_t]``; ``transitions`` (T - 1, K, K) if time-varying."""
    total = np.sum(np.log(init[path[:lags]]))
    for t in range(lags, len(path)):
        if transitions.ndim == 3 and lags == 1:
            total += np.log(transitions[t - 1][path[t - 1], path[t]])
        else:
            total += np.log(transitions[tuple(path[t - lags: t + 1])])
    return total


P_TWO = np.array([[0.9, 0.1], [0.3, 0.7]])
P_SECOND_ORDER = np.random.default_rng(5).dirichlet(np.ones(3), size=(3, 3))
P_THIRD_ORDER = np.random.default_rng(6).dirichlet(np.ones(2), size=(2, 2, 2, 2))  # a batch of 2 chains
P_VARYING_BATCH = np.random.default_rng(7).dirichlet(np.ones(3), size=(2, 4, 3))

# case: (P, init p, shape, n_lags, per-chain P and init (as used by the hand computation))
BATCH_CASES = {
    "batch, shared P": (P_SHARED, INIT, (2, 5), 1, lambda b: (P_SHARED, INIT)),
    "batch, P and init per chain": (np.stack([P_SHARED, P_SHARED.T / P_SHARED.T.sum(1, keepdims=True)]),
                                    np.stack([INIT, INIT[::-1]]), (2, 5), 1,
                                    lambda b: ([P_SHARED, P_SHARED.T / P_SHARED.T.sum(1, keepdims=True)][b],
                                               [INIT, INIT[::-1]][b])),
    "batch, time-varying P per chain": (P_VARYING_BATCH, INIT, (2, 5), 1, lambda b: (P_VARYING_BATCH[b], INIT)),
    "batch, time-varying P shared": (P_VARYING[None], INIT, (2, 5), 1, lambda b: (P_VARYING, INIT)),
    "second order": (P_SECOND_ORDER, INIT, (5,), 2, lambda b: (P_SECOND_ORDER, INIT)),
    "third order, batch": (P_THIRD_ORDER, np.array([0.3, 0.7]), (2, 6), 3,
                           lambda b: (P_THIRD_ORDER[b], np.array([0.3, 0.7]))),
}


@pytest.mark.parametrize("case", BATCH_CASES)
def test_batched_and_higher_order_path_log_density_equals_the_hand_computation(case):
    transitions, init, shape, lags, per_chain = BATCH_CASES[case]
    chain = mg.DiscreteMarkovChain.dist(P=transitions, init_dist=mg.Categorical.dist(p=init), shape=shape, n_lags=lags)
    assert tuple(chain.type.shape) == shape
    states = init.shape[-1]
    paths = np.random.default_rng(2).integers(0, states, size=shape)
    computed = mg.logp(chain, paths).eval()
    batch = paths.reshape((-1, shape[-1]))
    expected = [_hand_log_lagged_path(path, *per_chain(b)[::-1], lags) for b, path in enumerate(batch)]
    np.testing.assert_allclose(computed, np.reshape(expected, shape[:-1]), rtol=1e-12)


def _lagged_counts(paths, states, lags):
    counts = np.zeros((states,) * (lags + 1))
    windows = np.stack([paths[:, lag: paths.shape[1] - lags + lag] for lag in range(lags + 1)], axis=-1)
    np.add.at(counts, tuple(windows.reshape(-1, lags + 1).T), 1)
    return counts


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_second_order_draws_have_the_frequencies_of_P(engine):
    steps = 60
    chain = mg.DiscreteMarkovChain.dist(P=P_SECOND_ORDER, init_dist=mg.Categorical.dist(p=INIT), steps=steps - 2,
                                        n_lags=2)
    if engine == "numba":
        paths = np.asarray(mg.draw(chain, draws=400, random_seed=5))
    else:
        rng = np.random.default_rng(5)
        paths = np.stack([chain.owner.op.rng_fn(rng, steps - 2, INIT, P_SECOND_ORDER, None) for _ in range(400)])
    assert paths.shape == (400, steps)
    counts = _lagged_counts(paths, 3, 2)
    totals = counts.sum(axis=-1, keepdims=True)
    standard_errors = np.sqrt(P_SECOND_ORDER * (1 - P_SECOND_ORDER) / totals)
    assert np.all(np.abs(counts / totals - P_SECOND_ORDER) < 4.5 * standard_errors)
    for t in range(2):  # the first two states: independent draws of init_dist
        first = np.bincount(paths[:, t], minlength=3) / 400
        assert np.all(np.abs(first - INIT) < 4.5 * np.sqrt(INIT * (1 - INIT) / 400))


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_batched_draws_follow_each_chains_own_P(engine):
    transitions = np.stack([P_TWO, P_TWO[::-1]])  # chain 1 has the rows swapped
    chain = mg.DiscreteMarkovChain.dist(P=transitions, init_dist=mg.Categorical.dist(p=[0.5, 0.5]), shape=(2, 80))
    if engine == "numba":
        paths = np.asarray(mg.draw(chain, draws=200, random_seed=3))
    else:
        rng = np.random.default_rng(3)
        paths = np.stack([chain.owner.op.rng_fn(rng, 79, np.array([0.5, 0.5]), transitions, (2,)) for _ in range(200)])
    assert paths.shape == (200, 2, 80)
    for b in range(2):
        counts = _transition_counts(paths[:, b], 2)
        totals = counts.sum(axis=1, keepdims=True)
        standard_errors = np.sqrt(transitions[b] * (1 - transitions[b]) / totals)
        assert np.all(np.abs(counts / totals - transitions[b]) < 4.5 * standard_errors)


# ---------------------------------------------------------------- the batched forward op and per-step terms
def _batched_inputs(time_varying, seed=0, chains=2, steps=4, states=2):
    rng = np.random.default_rng(seed)
    log_init = np.log(rng.dirichlet(np.ones(states), size=chains))
    log_transitions = np.log(rng.dirichlet(np.ones(states), size=(chains, steps - 1 if time_varying else 1, states)))
    emission = rng.normal(scale=2.0, size=(chains, steps, states))
    return log_init, log_transitions, emission


def _brute_force_batch(log_init, log_transitions, emission):
    return sum(_brute_force_log_marginal(log_init[b], log_transitions[b] if log_transitions.shape[1] > 1
                                         else log_transitions[b, 0], emission[b]) for b in range(emission.shape[0]))


BATCHED_MODES = ["FAST_COMPILE", "NUMBA"]


@pytest.fixture(scope="module")
def batched_functions():
    log_init, log_transitions, emission = pt.dmatrix("log_init"), pt.tensor4("log_P", dtype="float64"), pt.dtensor3("e")
    value = batched_hmm_log_likelihood(log_init, log_transitions, emission)
    outputs = [value, *pytensor.grad(value, [log_init, log_transitions, emission]),
               batched_hmm_posterior_marginals(log_init, log_transitions, emission),
               hmm_step_log_likelihoods(log_init, log_transitions, emission)]
    return {mode: pytensor.function([log_init, log_transitions, emission], outputs, mode=mode) for mode in BATCHED_MODES}


@pytest.mark.parametrize("time_varying", [False, True])
@pytest.mark.parametrize("mode", BATCHED_MODES)
def test_batched_op_is_the_sum_over_chains_of_brute_force_and_its_gradient_matches(batched_functions, time_varying, mode):
    inputs = list(_batched_inputs(time_varying, seed=11))
    value, *gradients, marginals, steps = batched_functions[mode](*inputs)
    np.testing.assert_allclose(value, _brute_force_batch(*inputs), rtol=1e-12)
    for position, gradient in enumerate(gradients):
        def moved(changed_value, position=position):
            changed = list(inputs)
            changed[position] = changed_value
            return _brute_force_batch(*changed)

        np.testing.assert_allclose(gradient, _central_difference(moved, inputs[position]), atol=1e-7)
    np.testing.assert_allclose(marginals, gradients[2], rtol=1e-12)
    assert steps.shape == (2, 4)
    np.testing.assert_allclose(steps.sum(), value, rtol=1e-12)


@pytest.mark.parametrize("mode", BATCHED_MODES)
def test_step_log_likelihoods_are_one_step_ahead_predictive_densities(batched_functions, mode):
    # log p(y_0..y_t) - log p(y_0..y_{t-1}), each by brute force over the paths of the prefix
    inputs = _batched_inputs(True, seed=12, steps=5)
    steps = batched_functions[mode](*inputs)[-1]
    for b in range(2):
        prefixes = [_brute_force_log_marginal(inputs[0][b], inputs[1][b, : t], inputs[2][b, : t + 1]) if t > 0 else
                    special.logsumexp(inputs[0][b] + inputs[2][b, 0]) for t in range(5)]
        np.testing.assert_allclose(steps[b], np.diff(prefixes, prepend=0.0), rtol=1e-11)
        np.testing.assert_allclose(steps[b], step_log_likelihoods_numpy(inputs[0][b], inputs[1][b], inputs[2][b]),
                                   rtol=1e-12)


@pytest.mark.parametrize("mode", BATCHED_MODES)
def test_an_impossible_chain_gives_minus_infinity_from_its_first_impossible_step(batched_functions, mode):
    log_init, log_transitions, emission = _batched_inputs(False, seed=13)
    emission = emission.copy()
    emission[1, 2] = -np.inf  # chain 1 cannot emit y_2 from any state
    value, *gradients, _, steps = batched_functions[mode](log_init, log_transitions, emission)
    assert value == -np.inf and np.all(np.isfinite(steps[0])) and np.all(np.isfinite(steps[1, :2]))
    assert np.all(steps[1, 2:] == -np.inf)
    assert all(np.all(np.isfinite(gradient)) for gradient in gradients)
