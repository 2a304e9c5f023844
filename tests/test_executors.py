"""executor= and sample_many on a real Dask LocalCluster and a ProcessPoolExecutor."""

import multiprocessing
import os
import signal
import threading
import time
import warnings
from concurrent.futures import CancelledError, ProcessPoolExecutor

import arviz as az
import numpy as np
import pytest
from scipy import stats

import mixgraph as mg
from mixgraph import executors
from mixgraph.mcmc.driver import run_chains
from mixgraph.compile import compile_numba_logp, flat_layout, load_logp_source, logp_source
from mixgraph.point import initial_point

distributed = pytest.importorskip("distributed")

DATA = np.random.default_rng(1).normal(1.0, 2.0, size=25)
SETTINGS = {"draws": 150, "tune": 150, "progressbar": False, "compute_convergence_checks": False}
# Data sets of different lengths: one structure, so one compiled graph.
COUNT_SETS = [np.random.default_rng(seed).poisson(3.0, size=12 + 3 * seed) for seed in range(6)]


def build_normal(data):
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.0, 10.0)
        sigma = mg.HalfNormal("sigma", 5.0)
        mg.Normal("y", mu, sigma, observed=data)
    return model


def build_poisson(counts):
    with mg.Model() as model:
        rate = mg.Gamma("rate", 2.0, 0.5)
        mg.Poisson("y", rate, observed=counts)
    return model


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def local_normal():
    return mg.sample(model=build_normal(DATA), chains=4, random_seed=11, **SETTINGS)


def assert_same_draws(first, second):
    for group in ("posterior", "sample_stats"):
        for name, values in first[group].data_vars.items():
            np.testing.assert_array_equal(values.values, second[group][name].values, err_msg=f"{group}.{name}")


def test_dask_client_gives_the_draws_of_a_local_run(client, local_normal):
    remote = mg.sample(model=build_normal(DATA), chains=4, random_seed=11, executor=client, **SETTINGS)
    assert_same_draws(local_normal, remote)
    assert remote.posterior.attrs["executor"] == "distributed.client.Client"
    assert "rerun_chains" not in remote.posterior.attrs


def test_process_pool_gives_the_draws_of_a_local_run(local_normal):
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = mg.sample(model=build_normal(DATA), chains=4, random_seed=11, executor=pool, **SETTINGS)
    assert_same_draws(local_normal, remote)
    assert remote.posterior.attrs["executor"] == "concurrent.futures.process.ProcessPoolExecutor"


def test_same_structure_with_data_of_other_lengths_compiles_once_per_process():
    first, second = build_poisson(COUNT_SETS[0]), build_poisson(COUNT_SETS[1])
    layout = flat_layout(initial_point(first, None), [value.name for value in first.value_vars])
    compiled_first, compiled_second = compile_numba_logp(first, layout), compile_numba_logp(second, layout)
    assert compiled_first.logp_fn is compiled_second.logp_fn
    assert logp_source(first, layout).key == logp_source(second, layout).key
    # The shared function must use each model's own data.
    for compiled, counts in ((compiled_first, COUNT_SETS[0]), (compiled_second, COUNT_SETS[1])):
        log_rate = np.array([0.7])
        gradient = np.zeros(1)
        logp = compiled.logp_fn(log_rate, gradient, compiled.float_data, compiled.int_data)
        rate = np.exp(log_rate[0])
        expected = (stats.gamma(2.0, scale=2.0).logpdf(rate) + log_rate[0]
                    + stats.poisson(rate).logpmf(counts).sum())
        np.testing.assert_allclose(logp, expected, rtol=1e-10)


def test_logp_source_round_trips_through_pickle():
    import pickle

    model = build_poisson(COUNT_SETS[2])
    layout = flat_layout(initial_point(model, None), [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout)
    source = pickle.loads(pickle.dumps(logp_source(model, layout)))
    assert load_logp_source(source) is compiled.logp_fn


def fit_keys_per_worker(client):
    return client.run(lambda: sorted(__import__("mixgraph.compile_adapter").compile_adapter._COMPILED_BY_KEY))


def test_sample_many_equals_local_fits_and_compiles_once_per_worker(client):
    before = fit_keys_per_worker(client)
    remote = mg.sample_many(build_poisson, COUNT_SETS, executor=client, random_seed=5, chains=2, **SETTINGS)
    after = fit_keys_per_worker(client)
    local = mg.sample_many(build_poisson, COUNT_SETS, random_seed=5, chains=2, **SETTINGS)
    assert len(remote) == len(local) == 6
    for remote_fit, local_fit in zip(remote, local):
        assert_same_draws(local_fit, remote_fit)
    # Fit i is seeded by the i-th child of the root seed.
    children = np.random.SeedSequence(5).spawn(6)
    direct = mg.sample(model=build_poisson(COUNT_SETS[4]), chains=2, random_seed=children[4], **SETTINGS)
    assert_same_draws(direct, local[4])
    # Six data sets of one structure, six lengths: at most one new compiled graph per worker.
    new_keys = {address: set(after[address]) - set(before.get(address, ())) for address in after}
    assert all(len(keys) <= 1 for keys in new_keys.values()), new_keys
    assert len(set().union(*new_keys.values())) == 1


def test_sample_many_mapping_and_a_failing_data_set(client):
    datasets = {"north": COUNT_SETS[0], "broken": np.array([1, -2, 3]), "south": COUNT_SETS[1]}
    fits = mg.sample_many(build_poisson, datasets, executor=client, random_seed=2, chains=2, **SETTINGS)
    assert list(fits) == ["north", "broken", "south"]
    assert isinstance(fits["broken"], mg.FitError)
    assert fits["broken"].key == "broken" and "'broken'" in str(fits["broken"])
    assert isinstance(fits["broken"].error, ValueError)
    local = mg.sample_many(build_poisson, datasets, random_seed=2, chains=2, **SETTINGS)
    assert isinstance(local["broken"], mg.FitError) and isinstance(local["broken"].error, ValueError)
    for key in ("north", "south"):
        assert_same_draws(local[key], fits[key])


def test_sample_many_reemits_warnings_named_by_key(client):
    with pytest.warns(mg.ConvergenceWarning, match="data set 'tiny'") as caught:
        mg.sample_many(build_poisson, {"tiny": COUNT_SETS[3]}, executor=client, random_seed=1,
                       chains=2, draws=5, tune=5, progressbar=False)
    assert {record.filename for record in caught} == {__file__}, "warnings must point at the caller"


def test_interrupt_returns_the_finished_chains(client):
    model = build_normal(DATA)
    layout = flat_layout(initial_point(model, None), [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout)
    starts = np.zeros((4, layout.size))

    def interrupt(done):
        raise KeyboardInterrupt

    run = executors.chain_runner(client, model, compiled)
    with pytest.warns(RuntimeWarning, match="returning the 1 of 4 chains"):
        result = run(compiled.logp_fn, compiled.float_data, compiled.int_data, starts, draws=100, tune=100,
                     seed=np.random.SeedSequence(4), progress=interrupt)
    assert result.positions.shape == (1, 200, layout.size)
    assert len(result.attrs["cancelled_chains"]) == 3
    kept = ({0, 1, 2, 3} - set(result.attrs["cancelled_chains"])).pop()
    local = run_chains(compiled.logp_fn, compiled.float_data, compiled.int_data, starts,
                       draws=100, tune=100, seed=np.random.SeedSequence(4))
    np.testing.assert_array_equal(result.positions[0], local.positions[kept])


def _add_one_slowly(value):
    time.sleep(0.2)
    return value + 1


async def _drop_worker(dask_scheduler=None, address=None):
    await dask_scheduler.remove_worker(address, stimulus_id="test-drop", close=True)


def test_a_chain_finished_on_a_lost_worker_is_named_as_rerun():
    # A task that had finished on a worker that then left is recomputed elsewhere; the
    # scheduler does not count it as suspicious, so only its transition log shows the rerun.
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        futures = [client.submit(_add_one_slowly, chain, key=f"mixgraph-chain-{chain}-test", pure=False)
                   for chain in range(2)]
        distributed.wait(futures)
        holder = next(iter(client.who_has(futures[1]).values()))[0]
        lost = [chain for chain, future in enumerate(futures)
                if holder in next(iter(client.who_has(future).values()))]
        client.run_on_scheduler(_drop_worker, address=holder)
        assert [future.result() for future in futures] == [1, 2]
        assert executors._rerun_chains(client, futures) == lost


def test_a_killed_worker_still_returns_every_chain(client):
    model_data = DATA[:20]  # a new graph (shape), so each worker spends seconds loading it
    local = mg.sample(model=build_normal(model_data), chains=4, random_seed=8, **SETTINGS)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(idata=mg.sample(
        model=build_normal(model_data), chains=4, random_seed=8, executor=client, **SETTINGS)))
    thread.start()
    victim = _wait_for_a_busy_worker(client)
    os.kill(client.run(os.getpid)[victim], signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    remote = outcome["idata"]
    assert remote.posterior.sizes["chain"] == 4
    assert_same_draws(local, remote)
    assert len(remote.posterior.attrs["rerun_chains"]) >= 1
    # The nanny restarts the killed worker, which on a loaded machine takes minutes:
    # this is the last test that uses the cluster, so it does not wait for it.


def _wait_for_a_busy_worker(client, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [address for address, keys in client.processing().items()
                if any(str(key).startswith("mixgraph-chain") for key in keys)]
        if busy:
            return busy[0]
        time.sleep(0.02)
    raise AssertionError("no chain task started within the timeout")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: mg.sample_many(build_poisson, np.zeros(3).tolist(), executor=object()), "executor must be"),
        (lambda: mg.sample_many(build_poisson, "abc"), "datasets must be a sequence"),
        (lambda: mg.sample_many(build_poisson, [COUNT_SETS[0]], model=None), r"sample_many\(\) got \['model'\]"),
        (lambda: mg.sample_many("build", [COUNT_SETS[0]]), "build_model must be a function"),
        (lambda: mg.sample(model=build_normal(DATA), executor=3, progressbar=False), "executor must be"),
    ],
)
def test_bad_arguments_are_rejected_early(call, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match=message):
            call()


def test_a_bad_executor_is_rejected_before_the_model_compiles():
    model = build_normal(DATA[:7])
    with pytest.raises(TypeError, match="executor must be"):
        mg.sample(model=model, executor="cluster", progressbar=False)
    assert "_compiled_logp_cache" not in model.__dict__


@pytest.mark.usefixtures("terminal_sigint")
def test_ctrl_c_during_local_sample_many_stops_every_later_fit(monkeypatch):
    from mixgraph import sampling as sampling_module

    real_run_chains, calls = sampling_module.run_chains, []

    def run_chains(*args, progress=None, **kwargs):
        calls.append(len(calls))

        def report(completed):
            progress(completed)
            if len(calls) == 3 and completed > 0 and not report.sent:  # Ctrl-C in the third fit
                report.sent = True
                signal.raise_signal(signal.SIGINT)

        report.sent = False
        return real_run_chains(*args, progress=report, **kwargs)

    monkeypatch.setattr(sampling_module, "run_chains", run_chains)
    settings = dict(SETTINGS, draws=20_000)  # the third fit is cut short, not finished
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = mg.sample_many(build_poisson, COUNT_SETS, random_seed=3, chains=1, **settings)
    assert len(calls) == 3  # fits 4 to 6 never started
    assert all(isinstance(fit, az.InferenceData) for fit in fits[:3])
    assert 0 < fits[2].posterior.sizes["draw"] < 20_000 and fits[2].sample_stats.attrs["interrupted"] == 1
    assert all(isinstance(fit, mg.FitError) and isinstance(fit.error, CancelledError) for fit in fits[3:])
    assert any("Interrupted: returning the 3 of 6 fits" in str(warning.message) for warning in caught)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_a_local_fit_builds_its_model_keeps_the_finished_fits():
    def build(counts):
        if len(counts) == len(COUNT_SETS[1]):
            raise KeyboardInterrupt  # as a Ctrl-C outside sample() arrives
        return build_poisson(counts)

    with pytest.warns(RuntimeWarning, match="Interrupted: returning the 1 of 6 fits"):
        fits = mg.sample_many(build, COUNT_SETS, random_seed=3, chains=1, **SETTINGS)
    assert isinstance(fits[0], az.InferenceData)
    assert all(isinstance(fit, mg.FitError) and isinstance(fit.error, CancelledError) for fit in fits[1:])
