"""Hidden Markov models: the chain summed out by the forward algorithm, its paths recovered by FFBS."""

import itertools
import textwrap

import arviz as az
import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import special, stats

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


Y_BATCH = np.array([[-1.2, -0.8, 1.1, 1.4], [0.3, 1.9, -0.5, 0.2]])  # B = 2 chains, T = 4


def _batch_model(transitions_shape, init_p=(0.4, 0.6)):
    with mg.Model() as model:
        transitions = mg.Dirichlet("P", a=np.ones(transitions_shape))
        mu = mg.Normal("mu", 0.0, 2.0, shape=K)
        sigma = mg.HalfNormal("sigma", 1.0)
        chain = mg.DiscreteMarkovChain("z", P=transitions, init_dist=mg.Categorical.dist(p=np.array(init_p)),
                                       shape=Y_BATCH.shape)
        mg.Normal("y", mu[chain], sigma, observed=Y_BATCH)
    return model


def _batch_time_varying_model():
    covariate = np.array([[-1.0, 0.0, 1.0], [0.5, -0.5, 2.0]])  # one series of covariates per chain
    with mg.Model() as model:
        intercept = mg.Normal("intercept", 0.0, 1.0, shape=(K, K))
        slope = mg.Normal("slope", 0.0, 1.0, shape=(K, K))
        logits = intercept + slope * pt.as_tensor(covariate)[:, :, None, None]  # (B, T - 1, K, K)
        mu = mg.Normal("mu", 0.0, 2.0, shape=K)
        chain = mg.DiscreteMarkovChain("z", logit_P=logits, init_dist=mg.Categorical.dist(p=[[0.5, 0.5], [0.2, 0.8]]),
                                       shape=Y_BATCH.shape)
        mg.Normal("y", mu[chain], 0.8, observed=Y_BATCH)
    return model


def _second_order_model(batch=False):
    observed = Y_BATCH if batch else Y[:5]
    with mg.Model() as model:
        transitions = mg.Dirichlet("P", a=np.ones(((2,) if batch else ()) + (K, K, K)))
        mu = mg.Normal("mu", 0.0, 2.0, shape=K)
        chain = mg.DiscreteMarkovChain("z", P=transitions, init_dist=mg.Categorical.dist(p=[0.3, 0.7]),
                                       shape=observed.shape, n_lags=2)
        mg.Normal("y", mu[chain], 0.7, observed=observed)
    return model


MODELS = {
    "shared-P": _shared_model, "time-varying-P": _time_varying_model,
    "batch-shared-P": lambda: _batch_model((K, K)), "batch-P-per-chain": lambda: _batch_model((2, K, K)),
    "batch-time-varying-P": _batch_time_varying_model,
    "second-order": _second_order_model, "second-order-batch": lambda: _second_order_model(batch=True),
}


def _random_points(model, count):
    point = model.initial_point()
    return [{name: RNG.normal(size=np.shape(value)) for name, value in point.items()} for _ in range(count)]


def _all_paths(shape):
    return [np.array(path).reshape(shape) for path in itertools.product(range(K), repeat=int(np.prod(shape)))]


@pytest.mark.parametrize("case", MODELS)
def test_marginal_log_density_equals_the_sum_over_all_paths(case):
    model = MODELS[case]()
    marginal = mg.marginalize(model)
    assert [rv.name for rv in marginal.free_RVs] == [rv.name for rv in model.free_RVs if rv.name != "z"]
    joint_logp = model.compile_logp(mode="FAST_COMPILE")
    marginal_logp = marginal.compile_logp(mode="FAST_COMPILE")
    paths = _all_paths(model.initial_point()["z"].shape)  # 64 (T = 6), 32 (T = 5) or 256 (2 chains, T = 4)
    for point in _random_points(marginal, 3):
        brute_force = special.logsumexp([joint_logp({**point, "z": path}) for path in paths])
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
GRADIENT_CASES = [("shared-P", "FAST_COMPILE"), ("time-varying-P", "FAST_COMPILE"), ("time-varying-P", None),
                  ("batch-P-per-chain", "FAST_COMPILE"), ("batch-P-per-chain", None), ("batch-shared-P", "FAST_COMPILE"),
                  ("batch-time-varying-P", None), ("second-order", "FAST_COMPILE"), ("second-order", None),
                  ("second-order-batch", "FAST_COMPILE")]  # each new Numba graph costs about a minute of cold compile


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


# ---------------------------------------------------------------- recovery of batches and higher orders
RECOVERY_CASES = {
    # constant P (per chain, shared, or of order 2); the free means are held at one value
    "batch-P-per-chain": dict(P=np.array([[[0.8, 0.2], [0.3, 0.7]], [[0.4, 0.6], [0.9, 0.1]]]), observed=Y_BATCH),
    "batch-shared-P": dict(P=np.array([[0.8, 0.2], [0.3, 0.7]]), observed=Y_BATCH),
    "second-order": dict(P=np.random.default_rng(4).dirichlet(np.ones(K), size=(K, K)), observed=Y[:5], n_lags=2),
    "second-order-batch": dict(P=np.random.default_rng(5).dirichlet(np.ones(K), size=(2, K, K)), observed=Y_BATCH,
                               n_lags=2),
}


def _recovery_model(case):
    options = dict(RECOVERY_CASES[case])
    observed = options.pop("observed")
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 2.0, shape=K)
        chain = mg.DiscreteMarkovChain("z", init_dist=mg.Categorical.dist(p=[0.3, 0.7]), shape=observed.shape, **options)
        mg.Normal("y", mu[chain], 0.9, observed=observed)
    return model


@pytest.mark.parametrize("case", RECOVERY_CASES)
def test_ffbs_of_batches_and_higher_orders_matches_the_exact_path_posterior(case):
    from mixgraph.compile import flat_layout
    from mixgraph.marginal import recover_latents

    model = _recovery_model(case)
    marginal = mg.marginalize(model)
    means = np.array([-0.7, 1.2])
    layout = flat_layout({"mu": means}, ["mu"])
    draws = 20000
    positions = np.broadcast_to(means, (2, draws // 2, 2)).copy()
    recovered = recover_latents(marginal, layout, positions, seed=9, include_logps=True)
    shape = model.initial_point()["z"].shape
    assert recovered["z"].shape == (2, draws // 2) + shape and recovered["lp_z"].shape == (2, draws // 2) + shape + (K,)
    joint_logp = model.compile_logp(mode="FAST_COMPILE")
    paths = _all_paths(shape)
    log_weights = np.array([joint_logp({"mu": means, "z": path}) for path in paths])
    probabilities = np.exp(log_weights - special.logsumexp(log_weights))
    exact_marginals = np.stack([np.tensordot(probabilities, np.stack(paths) == k, axes=1) for k in range(K)], axis=-1)
    np.testing.assert_allclose(np.exp(recovered["lp_z"][0, 0]), exact_marginals, rtol=1e-10)
    size = int(np.prod(shape))
    codes = np.ravel_multi_index(tuple(recovered["z"].reshape(-1, size).T), (K,) * size)
    frequencies = np.bincount(codes, minlength=K ** size) / draws
    order = np.ravel_multi_index(tuple(np.stack(paths).reshape(-1, size).T), (K,) * size)
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


def _prefix_log_marginal(log_init, log_transitions, emission):
    """``log p(y_0..y_t)`` for every ``t``, by brute force over the paths of each prefix."""
    prefixes = []
    for t in range(emission.shape[0]):
        paths = itertools.product(range(emission.shape[1]), repeat=t + 1)
        totals = [log_init[path[0]] + emission[0, path[0]] + sum(
            log_transitions[path[s - 1], path[s]] + emission[s, path[s]] for s in range(1, t + 1)) for path in paths]
        prefixes.append(special.logsumexp(totals))
    return np.array(prefixes)


def test_log_likelihood_is_the_one_step_ahead_predictive_density_per_time_step(sampled):
    model, idata = sampled
    log_likelihood = mg.compute_log_likelihood(idata, model=model, extend_inferencedata=False).log_likelihood["y"]
    assert log_likelihood.shape == (2, 200, T) and log_likelihood.dims[2:] == idata.observed_data["y"].dims
    posterior = idata.posterior
    for chain, draw in [(0, 0), (1, 57), (0, 199)]:
        mu, sigma = posterior["mu"].values[chain, draw], posterior["sigma"].values[chain, draw]
        emission = stats.norm.logpdf(Y[:, None], mu, sigma)
        prefixes = _prefix_log_marginal(np.log([0.4, 0.6]), np.log(posterior["P"].values[chain, draw]), emission)
        # log p(y_t | y_0..y_{t-1}) = log p(y_0..y_t) - log p(y_0..y_{t-1}); they sum to the marginal log-likelihood
        np.testing.assert_allclose(log_likelihood.values[chain, draw], np.diff(prefixes, prepend=0.0), rtol=1e-10)
        np.testing.assert_allclose(log_likelihood.values[chain, draw].sum(), prefixes[-1], rtol=1e-12)


def test_log_likelihood_of_a_second_order_chain_sums_to_its_marginal_likelihood():
    model = _recovery_model("second-order")
    with model:
        idata = mg.sample(draws=20, tune=20, chains=1, random_seed=2, progressbar=False, compute_convergence_checks=False)
    values = mg.compute_log_likelihood(idata, model=model, extend_inferencedata=False).log_likelihood["y"].values
    assert values.shape == (1, 20, 5)
    joint_logp = model.compile_logp(mode="FAST_COMPILE")
    paths = _all_paths((5,))
    for draw in (0, 19):
        means = idata.posterior["mu"].values[0, draw]
        prior = stats.norm.logpdf(means, 0.0, 2.0).sum()
        total = special.logsumexp([joint_logp({"mu": means, "z": path}) for path in paths]) - prior
        np.testing.assert_allclose(values[0, draw].sum(), total, rtol=1e-11)
        # the first two states are independent draws of init_dist: y_0 and y_1 are independent
        first = special.logsumexp(np.log([0.3, 0.7])[:, None] + stats.norm.logpdf(Y[:2], means[:, None], 0.9), axis=0)
        np.testing.assert_allclose(values[0, draw, :2], first, rtol=1e-12)


LOG_LIKELIHOOD_ERRORS = {
    "two emissions of one chain": ("several", "cannot be split from those of ['y', 'w']: all are emissions of the hidden Markov chain 'z'"),
    "observations beyond the chain's axes": ("wide", "has axes (1,) beyond those of the hidden Markov chain 'z' (shape (6,))"),
}


@pytest.mark.parametrize("case", LOG_LIKELIHOOD_ERRORS)
def test_log_likelihood_that_does_not_split_by_time_step_is_a_clear_error(case):
    kind, message = LOG_LIKELIHOOD_ERRORS[case]
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 1.0, shape=K)
        chain = mg.DiscreteMarkovChain("z", P=np.array([[0.9, 0.1], [0.2, 0.8]]), shape=(T,))
        if kind == "several":
            mg.Normal("y", mu[chain], 1.0, observed=Y)
            mg.Normal("w", mu[chain], 2.0, observed=Y[::-1])
        else:
            mg.Normal("y", mu[chain][:, None], 1.0, observed=np.stack([Y, Y + 1, Y - 1], axis=1))
    idata = az.from_dict(posterior={"mu": np.zeros((1, 3, K))})
    with pytest.raises(MarginalizationError) as error:
        mg.compute_log_likelihood(idata, model=model, var_names=["y"])
    assert message in str(error.value)


@pytest.fixture(scope="module")
def sampled_batch():
    coords = {"series": ["a", "b"], "time": np.arange(4)}
    with mg.Model(coords=coords) as model:
        transitions = mg.Dirichlet("P", a=np.ones((2, K, K)))
        mu = mg.Normal("mu", 0.0, 2.0, shape=K)
        chain = mg.DiscreteMarkovChain("z", P=transitions, init_dist=mg.Categorical.dist(p=[0.4, 0.6]),
                                       dims=("series", "time"))
        mg.Normal("y", mu[chain], 0.8, observed=Y_BATCH, dims=("series", "time"))
        idata = mg.sample(draws=100, tune=100, chains=2, random_seed=6, progressbar=False,
                          idata_kwargs={"marginal_logp": True}, compute_convergence_checks=False)
    return model, idata


def test_a_batch_of_chains_samples_with_its_dims_and_per_step_log_likelihood(sampled_batch):
    model, idata = sampled_batch
    posterior = idata.posterior
    assert posterior["z"].dims == ("chain", "draw", "series", "time") and posterior["z"].dtype == np.int64
    assert posterior["lp_z"].shape == (2, 100, 2, 4, K)
    assert posterior["lp_z"].dims == ("chain", "draw", "series", "time", "lp_z_dim")
    np.testing.assert_allclose(np.exp(posterior["lp_z"].values).sum(axis=-1), 1.0, rtol=1e-12)
    log_likelihood = mg.compute_log_likelihood(idata, model=model, extend_inferencedata=False).log_likelihood["y"]
    assert log_likelihood.dims == ("chain", "draw", "series", "time")
    # each series' steps sum to its own marginal log-likelihood (brute force over its 16 paths)
    chain, draw = 1, 42
    means, rows = posterior["mu"].values[chain, draw], posterior["P"].values[chain, draw]
    for series in range(2):
        emission = stats.norm.logpdf(Y_BATCH[series][:, None], means, 0.8)
        prefixes = _prefix_log_marginal(np.log([0.4, 0.6]), np.log(rows[series]), emission)
        np.testing.assert_allclose(log_likelihood.values[chain, draw, series], np.diff(prefixes, prepend=0.0),
                                   rtol=1e-10)
    predictive = mg.sample_posterior_predictive(idata, model=model, random_seed=2).posterior_predictive["y"]
    assert predictive.dims == ("chain", "draw", "series", "time")


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
    import json, sys, warnings
    import numpy as np
    import mixgraph as mg
    from mixgraph.compile import compile_numba_logp, flat_layout
    from mixgraph.point import initial_point

    batched = sys.argv[1] == "batch"
    observed = np.sin(np.arange(80.0)).reshape(2, 40) if batched else np.sin(np.arange(40.0))
    with mg.Model() as model:
        if batched:  # two chains, one P each: the batched forward op
            rows = mg.Dirichlet("P", a=np.ones((2, 3, 3)))
            mu = mg.Normal("mu", 0.0, 2.0, shape=3)
            chain = mg.DiscreteMarkovChain("z", P=rows, shape=(2, 40))
        else:
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
for _case in ("one-chain", "batch"):
    register_fresh_process_script(f"hidden_markov_{_case}",
                                  CACHED_HMM.replace('sys.argv[1] == "batch"', repr(_case == "batch")))


@pytest.mark.parametrize("case", ["one-chain", "batch"])
def test_hmm_log_density_and_gradient_load_from_disk_in_a_new_process(fresh_process_results, case):
    first, second = checked_result(fresh_process_results, f"hidden_markov_{case}")
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
