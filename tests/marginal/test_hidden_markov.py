"""Hidden Markov models: the chain summed out by the forward algorithm, its paths recovered by FFBS."""

import itertools
import textwrap

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import special

import mixgraph as mg
from fresh_process import checked_result, register_fresh_process_script
from mixgraph.marginal import MarginalizationError
from mixgraph.marginal.markov import recover_markov

T, K = 6, 2
Y = np.array([-1.2, -0.8, 1.1, 1.4, -0.3, 1.9])
COVARIATE = np.linspace(-1.0, 1.0, T)
RNG = np.random.default_rng(8)


def _shared_model():
    with mg.Model() as model:
        transitions = mg.Dirichlet("P", a=np.ones((K, K)))
        mu = mg.Normal("mu", 0.0, 2.0, shape=K)
        sigma = mg.HalfNormal("sigma", 1.0)
        chain = mg.DiscreteMarkovChain("z", P=transitions, init_dist=mg.Categorical.dist(p=[0.4, 0.6]), shape=(T,))
        mg.Normal("y", mu[chain], sigma, observed=Y)
    return model


def _time_varying_model():
    # A Markov-switching regression: the switching probabilities depend on a covariate.
    with mg.Model() as model:
        intercept = mg.Normal("intercept", 0.0, 1.0, shape=(K, K))
        slope = mg.Normal("slope", 0.0, 1.0, shape=(K, K))
        logits = intercept + slope * pt.as_tensor(COVARIATE[1:])[:, None, None]
        mu = mg.Normal("mu", 0.0, 2.0, shape=K)
        chain = mg.DiscreteMarkovChain("z", logit_P=logits, init_dist=mg.Categorical.dist(p=[0.5, 0.5]), shape=(T,))
        mg.Normal("y", mu[chain], 0.8, observed=Y)
    return model


MODELS = {"shared-P": _shared_model, "time-varying-P": _time_varying_model}


def _random_points(model, count):
    point = model.initial_point()
    return [{name: RNG.normal(size=np.shape(value)) for name, value in point.items()} for _ in range(count)]


@pytest.mark.parametrize("case", MODELS)
def test_marginal_log_density_equals_the_sum_over_all_64_paths(case):
    model = MODELS[case]()
    marginal = mg.marginalize(model)
    assert [rv.name for rv in marginal.free_RVs] == [rv.name for rv in model.free_RVs if rv.name != "z"]
    joint_logp = model.compile_logp(mode="FAST_COMPILE")
    marginal_logp = marginal.compile_logp(mode="FAST_COMPILE")
    paths = list(itertools.product(range(K), repeat=T))
    for point in _random_points(marginal, 4):
        brute_force = special.logsumexp([joint_logp({**point, "z": np.array(path)}) for path in paths])
        np.testing.assert_allclose(marginal_logp(point), brute_force, rtol=1e-11)


def _central_difference(function, point, step=1e-6):
    gradient = {}
    for name, value in point.items():
        gradient[name] = np.zeros_like(value)
        for index in np.ndindex(np.shape(value)):
            up, down = {**point, name: np.array(value, dtype=float)}, {**point, name: np.array(value, dtype=float)}
            up[name][index] += step
            down[name][index] -= step
            gradient[name][index] = (function(up) - function(down)) / (2 * step)
    return gradient


# Numba (mode None) once: the shared-P model's Numba gradient is also what `sample` runs below.
GRADIENT_CASES = [("shared-P", "FAST_COMPILE"), ("time-varying-P", "FAST_COMPILE"), ("time-varying-P", None)]


@pytest.mark.parametrize("case, mode", GRADIENT_CASES)
def test_gradient_of_the_marginal_matches_finite_differences_in_numba_and_python(case, mode):
    marginal = mg.marginalize(MODELS[case]())
    logp = marginal.compile_logp(mode="FAST_COMPILE")
    names = [value.name for value in marginal.value_vars]
    logp_dlogp = marginal.compile_logp_dlogp(mode=mode)
    for point in _random_points(marginal, 2):
        value, gradient = logp_dlogp(point)
        np.testing.assert_allclose(value, logp(point), rtol=1e-12)
        expected = _central_difference(logp, point)
        gradient = gradient if isinstance(gradient, dict) else dict(zip(names, gradient))
        for name in names:
            np.testing.assert_allclose(gradient[name], expected[name], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- FFBS against exact posteriors
def _exact_path_posterior(log_init, log_transitions, emission):
    paths = np.array(list(itertools.product(range(emission.shape[1]), repeat=emission.shape[0])))
    log_weights = []
    for path in paths:
        total = log_init[path[0]] + emission[0, path[0]]
        for t in range(1, len(path)):
            matrix = log_transitions if log_transitions.ndim == 2 else log_transitions[t - 1]
            total += matrix[path[t - 1], path[t]] + emission[t, path[t]]
        log_weights.append(total)
    log_weights = np.array(log_weights)
    return paths, np.exp(log_weights - special.logsumexp(log_weights))


FFBS_CASES = {"shared-P": (K, K), "time-varying-P": (T - 1, K, K), "three-states": (3, 3)}


@pytest.mark.parametrize("case", FFBS_CASES)
def test_ffbs_paths_and_smoothed_marginals_match_the_exact_posterior(case):
    shape = FFBS_CASES[case]
    states = shape[-1]
    steps = T if states == 2 else 4
    rng = np.random.default_rng(21)
    log_init = np.log(rng.dirichlet(np.ones(states)))
    log_transitions = np.log(rng.dirichlet(np.ones(states), size=shape[:-1] if case != "time-varying-P" else shape[:-1]))
    emission = rng.normal(size=(steps, states))
    paths, probabilities = _exact_path_posterior(log_init, log_transitions, emission)
    draws = 20000
    batch = (2, draws // 2)
    sampled, smoothed = recover_markov(
        np.broadcast_to(log_init, batch + log_init.shape), np.broadcast_to(log_transitions, batch + log_transitions.shape),
        np.broadcast_to(emission, batch + emission.shape), np.random.default_rng(3), include_logps=True)
    assert sampled.shape == batch + (steps,) and smoothed.shape == batch + (steps, states)
    exact_marginals = np.stack([[probabilities[paths[:, t] == k].sum() for k in range(states)] for t in range(steps)])
    np.testing.assert_allclose(np.exp(smoothed[0, 0]), exact_marginals, rtol=1e-10)
    # the joint law of the paths, not only its marginals: every path's frequency within MC error
    codes = np.ravel_multi_index(tuple(sampled.reshape(-1, steps).T), (states,) * steps)
    frequencies = np.bincount(codes, minlength=states ** steps) / draws
    order = np.ravel_multi_index(tuple(paths.T), (states,) * steps)
    standard_errors = np.sqrt(probabilities * (1 - probabilities) / draws)
    assert np.all(np.abs(frequencies[order] - probabilities) < 4.5 * standard_errors + 1e-4)


# ---------------------------------------------------------------- sampling end to end
@pytest.fixture(scope="module")
def sampled():
    model = _shared_model()
    with model:
        idata = mg.sample(draws=200, tune=200, chains=2, random_seed=4, progressbar=False,
                          idata_kwargs={"marginal_logp": True})
    return model, idata


def test_sample_recovers_integer_paths_and_smoothed_probabilities(sampled):
    model, idata = sampled
    posterior = idata.posterior
    assert posterior["z"].dtype == np.int64 and posterior["z"].shape == (2, 200, T)
    assert set(np.unique(posterior["z"].values)) <= {0, 1}
    probabilities = np.exp(posterior["lp_z"].values)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-12)
    # the recovered paths' state frequencies agree with the mean smoothed probabilities
    frequencies = (posterior["z"].values == 1).mean(axis=(0, 1))
    expected = probabilities[..., 1].mean(axis=(0, 1))
    # given each draw the indicator minus its probability has mean 0 and variance p (1 - p), independently
    variance = (probabilities[..., 1] * (1 - probabilities[..., 1])).mean(axis=(0, 1))
    assert np.all(np.abs(frequencies - expected) < 4.5 * np.sqrt(variance / 400) + 1e-12)


def test_component_probabilities_are_the_smoothed_marginals(sampled):
    model, idata = sampled
    probabilities = mg.component_probabilities(idata, "z", model=model)
    assert probabilities.shape == (2, 200, T, K)
    np.testing.assert_allclose(probabilities.values, np.exp(idata.posterior["lp_z"].values), rtol=1e-10)


def test_posterior_predictive_uses_the_recovered_paths(sampled):
    model, idata = sampled
    predictive = mg.sample_posterior_predictive(idata, model=model, random_seed=2).posterior_predictive["y"]
    assert predictive.shape == (2, 200, T)
    means = idata.posterior["mu"].values[np.arange(2)[:, None, None], np.arange(200)[None, :, None],
                                          idata.posterior["z"].values]
    residual = (predictive.values - means) / idata.posterior["sigma"].values[..., None]
    assert abs(residual.mean()) < 0.1 and abs(residual.std() - 1.0) < 0.07  # about 5 standard errors each


def test_element_wise_log_likelihood_is_refused_with_the_reason(sampled):
    model, idata = sampled
    with pytest.raises(MarginalizationError, match="does not split into one term per observation: its observations"):
        mg.compute_log_likelihood(idata, model=model)


@pytest.mark.slow
def test_two_state_hmm_with_dirichlet_rows_recovers_simulated_parameters():
    rng = np.random.default_rng(12)
    steps, transitions, means = 400, np.array([[0.92, 0.08], [0.12, 0.88]]), np.array([-1.0, 1.0])
    path = [0]
    for _ in range(steps - 1):
        path.append(rng.choice(2, p=transitions[path[-1]]))
    path = np.array(path)
    observed = rng.normal(means[path], 0.6)
    with mg.Model():
        rows = mg.Dirichlet("P", a=np.ones((2, 2)))
        mu = mg.Normal("mu", [-0.5, 0.5], 2.0, shape=2, transform=mg.transforms.ordered)
        sigma = mg.HalfNormal("sigma", 1.0)
        chain = mg.DiscreteMarkovChain("z", P=rows, init_dist=mg.Categorical.dist(p=[0.5, 0.5]), shape=(steps,))
        mg.Normal("y", mu[chain], sigma, observed=observed)
        idata = mg.sample(draws=300, tune=300, chains=2, random_seed=3, progressbar=False)
    posterior = idata.posterior
    for name, truth in {"P": transitions, "mu": means, "sigma": 0.6}.items():
        draws = posterior[name].values.reshape((-1,) + np.shape(truth))
        assert np.all(np.abs(draws.mean(axis=0) - truth) < 4 * draws.std(axis=0)), name
    assert (posterior["z"].values.mean(axis=(0, 1)).round() == path).mean() > 0.9


# ---------------------------------------------------------------- the compiled model is cached on disk
CACHED_HMM = textwrap.dedent(
    """
    import json, warnings
    import numpy as np
    import mixgraph as mg
    from mixgraph.compile import compile_numba_logp, flat_layout
    from mixgraph.point import initial_point

    observed = np.sin(np.arange(40.0))
    with mg.Model() as model:
        rows = mg.Dirichlet("P", a=np.ones((3, 3)))
        mu = mg.Normal("mu", 0.0, 2.0, shape=3)
        chain = mg.DiscreteMarkovChain("z", P=rows, shape=(40,))
        mg.Normal("y", mu[chain], 0.5, observed=observed)
    marginal = mg.marginalize(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        point = initial_point(marginal, None)
        layout = flat_layout(point, [value.name for value in marginal.value_vars])
        compiled = compile_numba_logp(marginal, layout)
        gradient = np.zeros(layout.size)
        logp = compiled.logp_fn(np.zeros(layout.size), gradient, compiled.float_data, compiled.int_data)
    stats = compiled.logp_fn.stats
    print(json.dumps({
        "logp": float(logp), "gradient": gradient.tolist(),
        "warnings": [str(warning.message) for warning in caught if "cache" in str(warning.message).lower()],
        "cache_hits": int(sum(stats.cache_hits.values())), "cache_misses": int(sum(stats.cache_misses.values())),
    }))
    """
)
register_fresh_process_script("hidden_markov", CACHED_HMM)


def test_hmm_log_density_and_gradient_load_from_disk_in_a_new_process(fresh_process_results):
    first, second = checked_result(fresh_process_results, "hidden_markov")
    assert first["warnings"] == [] and second["warnings"] == []
    assert np.isfinite(first["logp"]) and first["logp"] == second["logp"] and first["gradient"] == second["gradient"]
    assert second["cache_hits"] == 1 and second["cache_misses"] == 0


def test_a_chain_sharing_a_dependent_with_another_latent_is_a_clear_error():
    y = np.random.default_rng(0).normal(size=8)
    with mg.Model() as model:
        chain = mg.DiscreteMarkovChain("z", P=np.array([[0.9, 0.1], [0.2, 0.8]]), shape=(8,))
        shift = mg.Bernoulli("c", 0.5, shape=8)
        mu = mg.Normal("mu", 0.0, 1.0, shape=2)
        mg.Normal("y", mu[chain] + shift, 1.0, observed=y)
    with pytest.raises(mg.MarginalizationError, match=r"hidden Markov chain 'z' shares a dependent with the latent\(s\) \['c'\]"):
        mg.marginalize(model)
