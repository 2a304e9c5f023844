"""``sample(data_threads=)``: the choice, its checks, the per-thread setting and unchanged draws."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import mixgraph as mg
from mixgraph.data_threads import available_cores, check_data_threads, choose_data_threads, fused_observations
from mixgraph.distributions.mixture_fused_source import BLOCK_SIZE
from mixgraph.distributions.mixture_fused_threads import parallel_threshold, start_threading_layer, thread_count
from mixgraph.mcmc.driver import run_chains

LARGE = (200_000, 100_000)  # (observations, threshold) of the largest fused mixture
SMALL = (5_000, 100_000)

# requested, chains, cores, fused, available, layer, executor -> threads, words of the reason
DECISIONS = [
    ("auto", 1, None, LARGE, 2, "omp", False, 2, "1 chains at once on 2 cores"),
    ("auto", 2, None, LARGE, 8, "omp", False, 4, "2 chains at once on 8 cores"),
    ("auto", 4, 1, LARGE, 4, "omp", False, 4, "1 chains at once on 4 cores"),  # cores=1: one chain at a time
    ("auto", 4, None, LARGE, 4, "omp", False, 1, "leave no spare core"),
    ("auto", 3, None, LARGE, 4, "omp", False, 1, "leave no spare core"),  # 4 // 3 = 1
    ("auto", 1, None, SMALL, 8, "omp", False, 1, "fewer than the parallel threshold"),
    ("auto", 1, None, None, 8, "omp", False, 1, "no fused mixture"),
    ("auto", 1, None, LARGE, 8, "omp", True, 1, "executor"),
    ("auto", 2, None, LARGE, 8, "workqueue", False, 1, "workqueue"),
    ("auto", 1, None, LARGE, 8, "workqueue", False, min(8, numba.config.NUMBA_NUM_THREADS), "1 chains at once"),
    (2, 4, None, None, 4, "omp", False, 2, "data_threads=2 was given"),
    (1, 1, None, LARGE, 8, "omp", False, 1, "data_threads=1 was given"),
]


@pytest.mark.parametrize("requested, chains, cores, fused, available, layer, executor, threads, words", DECISIONS)
def test_auto_uses_spare_cores_for_large_fused_mixtures_only(requested, chains, cores, fused, available, layer,
                                                            executor, threads, words):
    choice = choose_data_threads(requested, chains, cores, fused, available, layer, executor)
    expected = min(threads, numba.config.NUMBA_NUM_THREADS) if requested == "auto" else threads
    assert choice.threads == expected
    assert words in choice.reason


def test_forced_threads_with_concurrent_chains_need_a_thread_safe_layer():
    with pytest.raises(ValueError, match="workqueue"):
        choose_data_threads(2, 2, None, LARGE, 4, "workqueue")
    assert choose_data_threads(2, 2, 1, LARGE, 4, "workqueue").threads == 2  # one chain at a time


@pytest.mark.parametrize("value, error, words", [
    ("many", ValueError, "'auto' or a positive integer"),
    (0, ValueError, "between 1 and"),
    (numba.config.NUMBA_NUM_THREADS + 1, ValueError, "NUMBA_NUM_THREADS"),
    (2.0, TypeError, "of type float"),
    (True, TypeError, "of type bool"),
])
def test_data_threads_is_checked_at_the_call(value, error, words):
    with pytest.raises(error, match=words):
        check_data_threads(value)
    with pytest.raises(error, match=words):
        mg.sample(model=mg.Model(), data_threads=value)  # before anything compiles


@numba.njit(nogil=True)
def _normal_logp_recording_threads(position, grad_out, float_data, int_data):
    float_data[0] = thread_count()  # float_data is this test's own buffer
    grad_out[:] = -position
    return -0.5 * np.sum(position * position)


@pytest.mark.parametrize("threads", [1, 2])
def test_each_chain_thread_sets_its_numba_thread_count(threads):
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs two Numba threads")
    start_threading_layer()
    record = np.zeros(1)
    run_chains(_normal_logp_recording_threads, record, np.zeros(1, dtype=np.int64), np.zeros((1, 2)), draws=5,
               tune=5, seed=1, data_threads=threads)
    assert record[0] == threads


@pytest.fixture(scope="module")
def mixture_model():
    rng = np.random.default_rng(3)
    n = 2 * BLOCK_SIZE + 77
    data = np.where(rng.uniform(size=n) < 0.3, rng.normal(-2.0, 1.0, n), rng.normal(2.0, 0.5, n))
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(2))
        mu = mg.Normal("mu", 0.0, 5.0, shape=2, transform=mg.transforms.ordered, initval=[-1.0, 1.0])
        sigma = mg.HalfNormal("sigma", 2.0, shape=2)
        mg.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=data)
    return model


def _sample(model, data_threads):
    with parallel_threshold(1000):  # the model's graph is built (once) with this threshold
        return mg.sample(model=model, draws=30, tune=60, chains=1, random_seed=5, progressbar=False,
                         init="jitter", compute_convergence_checks=False, data_threads=data_threads)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
def test_two_data_threads_give_the_same_draws_as_one(mixture_model):
    one, two = _sample(mixture_model, 1), _sample(mixture_model, 2)
    assert (one.posterior.attrs["data_threads"], two.posterior.attrs["data_threads"]) == (1, 2)
    assert "data_threads=2 was given" in two.posterior.attrs["data_threads_reason"]
    for name in ("w", "mu", "sigma"):
        assert np.array_equal(one.posterior[name].values, two.posterior[name].values)
    assert np.array_equal(one.sample_stats["lp"].values, two.sample_stats["lp"].values)


def test_auto_records_its_choice(mixture_model):
    idata = _sample(mixture_model, "auto")
    expected = min(available_cores(), numba.config.NUMBA_NUM_THREADS)
    assert idata.posterior.attrs["data_threads"] == (expected if expected >= 2 else 1)
    assert idata.posterior.attrs["data_threads_reason"]


def _compiled_in_python_mode(model):
    """What fused_observations reads of a CompiledLogp, compiled by the fast Python linker."""
    from types import SimpleNamespace

    import pytensor
    from pytensor.compile.mode import Mode, get_mode

    from mixgraph.compile import _buffers, _graph_parts, flat_layout, logp_dlogp_graph
    from mixgraph.point import initial_point

    point = initial_point(model, None)
    graph = logp_dlogp_graph(model, flat_layout(point, [value.name for value in model.value_vars]))
    inputs, outputs, _, _ = _graph_parts(graph)
    function = pytensor.function(inputs, outputs, mode=Mode(linker="py", optimizer=get_mode("NUMBA").optimizer),
                                 on_unused_input="ignore")
    return SimpleNamespace(python_function=function, int_data=_buffers(graph)[1])


def test_the_largest_fused_mixture_is_counted_from_the_data_buffers():
    rng = np.random.default_rng(0)
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(2))
        mg.NormalMixture("small", w=w, mu=mg.Normal("mu", 0.0, 5.0, shape=2), sigma=1.0,
                         observed=rng.normal(size=300))
        counts = mg.Data("counts", rng.poisson(3.0, size=1234))  # integer data, cast inside the graph
        mg.ZeroInflatedPoisson("large", psi=mg.Beta("psi", 2.0, 2.0), mu=mg.Gamma("rate", 2.0, 1.0),
                               observed=counts)
        mg.Normal("other", 0.0, 1.0, observed=rng.normal(size=5000))  # not a mixture: not counted
    with parallel_threshold(777):
        found = fused_observations(_compiled_in_python_mode(model))
    assert found == (1234, 777)
    with mg.Model() as plain:
        mg.Normal("x", mg.Normal("m", 0.0, 1.0), 1.0, observed=rng.normal(size=5000))
    assert fused_observations(_compiled_in_python_mode(plain)) is None


def _threads_in_child():
    from mixgraph.distributions.mixture_fused_threads import forked_after_start

    return numba.get_num_threads(), forked_after_start()


@pytest.mark.skipif(start_threading_layer() != "omp", reason="the fork guard is for GNU OpenMP")
def test_a_child_forked_after_openmp_started_keeps_to_one_thread():
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        threads, forked = pool.apply(_threads_in_child)
    assert (threads, forked) == (1, True)
    assert choose_data_threads("auto", 1, None, LARGE, 8, "omp", forked=True).threads == 1
    with pytest.raises(ValueError, match="forked"):
        choose_data_threads(2, 1, None, LARGE, 8, "omp", forked=True)
    assert choose_data_threads(1, 1, None, LARGE, 8, "omp", forked=True).threads == 1
