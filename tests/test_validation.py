"""mixgraph.validation: every bad argument of an entry point is an error naming it, its value and the fix."""

import signal
import warnings

import numpy as np
import pytest

import mixgraph as mg
import mixgraph.sampling as sampling_module
from mixgraph.point import initial_point
from mixgraph.validation import FreeDiscreteError, as_seed_sequence


@pytest.fixture(scope="module")
def model():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 1.0, shape=2)
        sigma = mg.HalfNormal("sigma", 1.0)
        mg.Normal("y", mu[0], sigma, observed=np.array([0.1, -0.2, 0.3]))
    return model


@pytest.fixture(scope="module")
def idata(model):
    return mg.sample(draws=20, tune=20, chains=1, random_seed=1, model=model, progressbar=False,
                     compute_convergence_checks=False)


# (entry point, keyword arguments, exception type, words the message must contain)
SAMPLE_ARGUMENT_CASES = [
    ("sample", {"draws": -1}, ValueError, ["draws", ">= 0", "-1"]),
    ("sample", {"draws": 100.0}, TypeError, ["draws", "100.0", "float"]),
    ("sample", {"draws": True}, TypeError, ["draws", "True"]),
    ("sample", {"tune": -5}, ValueError, ["tune", ">= 0", "-5"]),
    ("sample", {"tune": 10.5}, TypeError, ["tune", "10.5"]),
    ("sample", {"chains": 0}, ValueError, ["chains", ">= 1", "0"]),
    ("sample", {"chains": 2.0}, TypeError, ["chains", "2.0"]),
    ("sample", {"cores": 0}, ValueError, ["cores", ">= 1", "0"]),
    ("sample", {"target_accept": 1.5}, ValueError, ["target_accept", "between 0 and 1", "1.5"]),
    ("sample", {"target_accept": 0.0}, ValueError, ["target_accept", "0.0"]),
    ("sample", {"target_accept": "high"}, TypeError, ["target_accept", "'high'"]),
    ("sample", {"max_tree_depth": 0}, ValueError, ["max_tree_depth", ">= 1", "0"]),
    ("sample", {"random_seed": "abc"}, TypeError, ["random_seed", "'abc'", "Generator"]),
    ("sample", {"random_seed": 1.5}, TypeError, ["random_seed", "1.5", "float"]),
    ("sample", {"random_seed": -3}, ValueError, ["random_seed", "-3"]),
    ("sample", {"init": "adapt_diag"}, ValueError, ["init must be one of", "init='jitter'", "auto"]),
    ("sample", {"step": object()}, TypeError, ["step=", "NUTS"]),
    ("sample", {"nuts_sampler": "numpyro"}, TypeError, ["nuts_sampler="]),
    ("sample", {"bogus": 1}, TypeError, ["sample()", "'bogus'"]),
    ("sample", {"initvals": {"nope": 1.0}}, ValueError, ["initvals", "'nope'", "['mu', 'sigma']"]),
    ("sample", {"initvals": {"sigma_log__": 0.0}}, ValueError, ["'sigma_log__'", "under 'sigma'"]),
    ("sample", {"initvals": {"mu": [1.0, 2.0, 3.0]}}, ValueError, ["'mu'", "(3,)", "(2,)"]),
    ("sample", {"initvals": {"sigma": -1.0}}, ValueError, ["'sigma'", "-1.", "support"]),
    ("find_MAP", {"maxeval": 0}, ValueError, ["maxeval", ">= 1", "0"]),
    ("find_MAP", {"maxeval": 10.0}, TypeError, ["maxeval", "10.0"]),
    ("find_MAP", {"start": {"nope": 1.0}}, ValueError, ["start", "'nope'", "['mu', 'sigma']"]),
    ("find_MAP", {"start": {"sigma_log__": 0.0}}, ValueError, ["'sigma_log__'", "under 'sigma'"]),
    ("find_MAP", {"start": {"sigma": -2.0}}, ValueError, ["'sigma'", "-2.", "support"]),
    ("find_MAP", {"method": "BFGS"}, TypeError, ["find_MAP()", "'method'"]),
    ("sample_prior_predictive", {"draws": 0}, ValueError, ["draws", ">= 1", "0"]),
    ("sample_prior_predictive", {"draws": 5.0}, TypeError, ["draws", "5.0"]),
    ("sample_prior_predictive", {"random_seed": "x"}, TypeError, ["random_seed", "'x'"]),
]


@pytest.mark.parametrize("entry, arguments, error, words", SAMPLE_ARGUMENT_CASES,
                         ids=[f"{case[0]}-{next(iter(case[1]))}-{index}" for index, case in enumerate(SAMPLE_ARGUMENT_CASES)])
def test_bad_argument_is_named(model, entry, arguments, error, words):
    keywords = {"progressbar": False} if entry != "sample_prior_predictive" else {}
    if entry == "sample":
        keywords.update(draws=5, tune=5, chains=1)
    keywords.update(arguments)
    with pytest.raises(error) as raised:
        getattr(mg, entry)(model=model, **keywords)
    for word in words:
        assert word in str(raised.value), (word, str(raised.value))


def test_posterior_predictive_bad_seed_and_trace(model, idata):
    with pytest.raises(TypeError, match=r"random_seed.*'x'"):
        mg.sample_posterior_predictive(idata, random_seed="x", model=model)
    with pytest.raises(TypeError, match="InferenceData.*dict"):
        mg.sample_posterior_predictive({"mu": 1}, model=model)
    with pytest.raises(TypeError, match="not both"):
        mg.sample_posterior_predictive(idata, idata=idata, model=model)


CONSTRUCTION_CASES = [
    (lambda: mg.Normal("a", 0.0, 1.0, testval=1.0), TypeError, ["'a'", "testval=", "initval="]),
    (lambda: mg.Normal("b", 0.0, 1.0, shape=3, initval=[1.0, 2.0]), ValueError, ["'b'", "(2,)", "(3,)"]),
    (lambda: mg.Normal("c", 0.0, 1.0, dims="city", initval=np.zeros(4)), ValueError, ["'c'", "(4,)", "(3,)"]),
    (lambda: mg.HalfNormal("d", 1.0, initval=np.zeros((2, 2))), ValueError, ["'d'", "(2, 2)", "()"]),
]


@pytest.mark.parametrize("build, error, words", CONSTRUCTION_CASES)
def test_bad_initval_at_construction(build, error, words):
    with mg.Model(coords={"city": ["a", "b", "c"]}) as model:
        with pytest.raises(error) as raised:
            build()
    for word in words:
        assert word in str(raised.value), (word, str(raised.value))
    assert not model.free_RVs  # nothing half-registered


def test_good_initvals_are_used():
    with mg.Model(coords={"city": ["a", "b", "c"]}) as model:
        mg.Normal("c", 0.0, 1.0, dims="city", initval=[1.0, 2.0, 3.0])
        mg.HalfNormal("sigma", 1.0)
    point = initial_point(model, {"sigma": 2.0})
    assert point["c"] == pytest.approx([1.0, 2.0, 3.0])
    assert point["sigma_log__"] == pytest.approx(np.log(2.0))


def test_initval_outside_support_named_at_initial_point():
    with mg.Model() as model:
        mg.HalfNormal("sigma", 1.0, initval=-1.0)
    with pytest.raises(ValueError, match=r"'sigma': the initval given, -1\., is outside"):
        initial_point(model)


SEEDS = [
    lambda: 7,
    lambda: np.int64(7),
    lambda: [7, 8],
    lambda: np.random.SeedSequence(7),
    lambda: np.random.default_rng(7),
    lambda: np.random.RandomState(7),
]


@pytest.mark.parametrize("make_seed", SEEDS, ids=["int", "np.int64", "list", "SeedSequence", "Generator", "RandomState"])
def test_every_seed_type_reproduces_draws(model, make_seed):
    first = mg.sample(draws=15, tune=15, chains=1, random_seed=make_seed(), model=model,
                      progressbar=False, compute_convergence_checks=False)
    second = mg.sample(draws=15, tune=15, chains=1, random_seed=make_seed(), model=model,
                       progressbar=False, compute_convergence_checks=False)
    np.testing.assert_array_equal(first.posterior["mu"], second.posterior["mu"])
    prior = [mg.sample_prior_predictive(draws=5, model=model, random_seed=make_seed()).prior["mu"] for _ in range(2)]
    np.testing.assert_array_equal(prior[0], prior[1])


def test_generator_seed_depends_on_its_state():
    generator = np.random.default_rng(3)
    first, second = as_seed_sequence(generator), as_seed_sequence(generator)
    assert first.entropy != second.entropy  # the generator advanced
    assert as_seed_sequence(np.random.default_rng(3)).entropy == first.entropy


def test_posterior_predictive_takes_trace_and_generator(model, idata):
    by_trace = mg.sample_posterior_predictive(trace=idata, model=model, random_seed=np.random.default_rng(2))
    positional = mg.sample_posterior_predictive(idata, model=model, random_seed=np.random.default_rng(2))
    np.testing.assert_array_equal(by_trace.posterior_predictive["y"], positional.posterior_predictive["y"])


def test_posterior_predictive_with_nothing_to_predict_warns():
    with mg.Model() as potential_model:
        mu = mg.Normal("mu", 0.0, 1.0)
        mg.Potential("likelihood", -0.5 * (mu - 1.0) ** 2)
    idata = mg.sample(draws=10, tune=10, chains=1, random_seed=1, model=potential_model,
                      progressbar=False, compute_convergence_checks=False)
    with pytest.warns(UserWarning, match="no observed variables.*Potential.*nothing to predict"):
        mg.sample_posterior_predictive(idata, model=potential_model)


@pytest.fixture(scope="module")
def discrete_model():
    with mg.Model() as discrete_model:
        z = mg.Categorical("z", p=np.array([0.3, 0.7]), shape=5)
        mu = mg.Normal("mu", 0.0, 1.0, shape=2)
        mg.Normal("y", mu[z], 1.0, observed=np.zeros(5))  # construction must not crash
    return discrete_model


def test_free_discrete_variable_is_named_by_find_map(discrete_model):
    # sample() sums z out (tests/marginal); the optimiser moves continuous values only.
    with pytest.raises(FreeDiscreteError) as raised:
        mg.find_MAP(model=discrete_model, progressbar=False)
    message = str(raised.value)
    for word in ["'z'", "Categorical", "mg.marginalize(model, ['z'])", "Mixture", "observed="]:
        assert word in message
    assert isinstance(raised.value, TypeError)


@pytest.mark.parametrize("build", [
    lambda: mg.Bernoulli("k", p=0.3),
    lambda: mg.Poisson("k", mu=2.0, shape=3),
])
def test_other_free_discrete_families_are_named_by_find_map(build):
    with mg.Model() as model:
        build()
        mg.Normal("x", 0.0, 1.0)
    with pytest.raises(FreeDiscreteError, match="Variable 'k'"):
        mg.find_MAP(model=model, progressbar=False)


def test_free_infinite_support_variable_is_named_by_sample():
    with mg.Model() as model:
        mg.Poisson("k", mu=2.0, shape=3)
        mg.Normal("x", 0.0, 1.0)
    with pytest.raises(mg.MarginalizationError, match="Variable 'k' is a free Poisson variable"):
        mg.sample(model=model, progressbar=False)


def test_free_discrete_model_still_draws_forward(discrete_model):
    prior = mg.sample_prior_predictive(draws=20, model=discrete_model, random_seed=1)
    values = prior.prior["z"].values
    assert values.shape == (1, 20, 5)
    assert set(np.unique(values)) <= {0, 1}


def _interrupting(real_run_chains):
    """run_chains that raises SIGINT in the main thread (as Ctrl-C does) at its first progress report."""

    def run_chains(*args, progress=None, **kwargs):
        def report(completed):
            progress(completed)
            if completed > 0 and not report.sent:
                report.sent = True
                signal.raise_signal(signal.SIGINT)

        report.sent = False
        return real_run_chains(*args, progress=report, **kwargs)

    return run_chains


def _interrupting_while_packing(real_to_inference_data, count):
    def to_inference_data(*args, **kwargs):
        for _ in range(count):
            signal.raise_signal(signal.SIGINT)  # Ctrl-C while the InferenceData is being packed
        return real_to_inference_data(*args, **kwargs)

    return to_inference_data


@pytest.mark.usefixtures("terminal_sigint")
@pytest.mark.parametrize("interrupt_run", [True, False], ids=["second-ctrl-c", "ctrl-c-while-packing"])
def test_ctrl_c_while_packing_keeps_the_draws(model, monkeypatch, interrupt_run):
    draws, tune = (200_000, 50) if interrupt_run else (30, 30)
    if interrupt_run:
        monkeypatch.setattr(sampling_module, "run_chains", _interrupting(sampling_module.run_chains))
    monkeypatch.setattr(sampling_module, "to_inference_data",
                        _interrupting_while_packing(sampling_module.to_inference_data, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = mg.sample(draws=draws, tune=tune, chains=1, random_seed=1, model=model,
                          progressbar=False, compute_convergence_checks=False)
    messages = [str(warning.message) for warning in caught]
    kept = idata.posterior.sizes["draw"]
    if interrupt_run:
        assert 0 < kept < draws
        assert any("Sampling was interrupted" in message for message in messages)
    else:
        assert kept == draws
    assert any("2 further Ctrl-C" in message and "deferred" in message for message in messages), messages
    assert np.all(np.isfinite(idata.posterior["mu"].values))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored


def test_sample_from_a_worker_thread_leaves_signals_alone(model):
    """Python delivers signals to the main thread only; elsewhere the guard must not install a handler."""
    import threading

    results, errors = [], []

    def run():
        try:
            results.append(mg.sample(draws=10, tune=10, chains=1, random_seed=1, model=model,
                                     progressbar=False, compute_convergence_checks=False))
        except Exception as error:  # reported below
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert not errors, errors
    assert results[0].posterior.sizes["draw"] == 10
