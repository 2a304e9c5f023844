"""Wall time and speed-up of chains and many fits on local threads and a 2-worker Dask LocalCluster.

usage (from the project's root):
    python benchmarks/dask_scaling.py [--chains 8] [--fits 32]

Printed:

- 8 chains of one mixture model (1000 tune, 1000 draws): local threads
  (``cores=2``) against ``executor=`` a ``LocalCluster(n_workers=2,
  threads_per_worker=1)``; the cluster is timed twice, first with workers
  that have not seen the model (they load it from the disk caches), then warm;
- 32 small fits (``sample_many``, 2 chains, 300 tune, 300 draws each): one
  after another here against the cluster;
- the costs per task: the size of the shipped model description, the time to
  pickle it, a worker's time to load it (a graph new to the worker but in the
  disk caches, then from its process cache), the round trip of an empty Dask task, and one log-density and
  gradient evaluation here.

Every timed call is run after one warm-up call in this process, so local
compilation is not counted, except where the row says "cold".
"""

from __future__ import annotations

import argparse
import pickle
import time

import numpy as np

import mixgraph as mg
from mixgraph import executors
from mixgraph.compile import compile_numba_logp, flat_layout, logp_source
from mixgraph.point import initial_point


def build_mixture(data: np.ndarray) -> mg.Model:
    """A two-component normal mixture with ordered means: the benchmark's model."""
    with mg.Model() as model:
        weights = mg.Dirichlet("w", np.ones(2))
        means = mg.Normal("mu", 0.0, 5.0, shape=2, transform=mg.transforms.ordered,
                          initval=np.array([-1.0, 1.0]))
        sigma = mg.HalfNormal("sigma", 2.0, shape=2)
        mg.NormalMixture("y", w=weights, mu=means, sigma=sigma, observed=data)
    return model


def simulated(seed: int, size: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(size) < 0.4, rng.normal(-2.0, 1.0, size), rng.normal(2.0, 0.7, size))


def timed(function, *args, **kwargs) -> tuple[float, object]:
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - began, result


def chains_rows(client, chains: int) -> list[tuple]:
    data = simulated(0)
    settings = {"draws": 1000, "tune": 1000, "chains": chains, "random_seed": 1, "progressbar": False,
                "compute_convergence_checks": False}
    model = build_mixture(data)
    mg.sample(model=model, **{**settings, "draws": 10, "tune": 10})  # compile here first
    local, _ = timed(mg.sample, model=model, cores=2, **settings)
    cold, _ = timed(mg.sample, model=model, executor=client, **settings)
    warm, _ = timed(mg.sample, model=model, executor=client, **settings)
    return [(f"{chains} chains", "local threads (cores=2)", local, 1.0),
            (f"{chains} chains", "LocalCluster 2 workers, cold workers", cold, local / cold),
            (f"{chains} chains", "LocalCluster 2 workers, warm", warm, local / warm)]


def fits_rows(client, fits: int) -> list[tuple]:
    datasets = [simulated(seed) for seed in range(fits)]
    settings = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False, "compute_convergence_checks": False}
    mg.sample_many(build_mixture, datasets[:1], random_seed=2, **settings)  # compile here first
    local, _ = timed(mg.sample_many, build_mixture, datasets, random_seed=2, **settings)
    remote, _ = timed(mg.sample_many, build_mixture, datasets, executor=client, random_seed=2, **settings)
    return [(f"{fits} fits", "one after another here (chains in 2 threads)", local, 1.0),
            (f"{fits} fits", "LocalCluster 2 workers (cores=1 per fit)", remote, local / remote)]


def task_costs(client) -> list[tuple[str, float]]:
    # 201 observations: a graph the workers have not seen; compiled here first, so
    # that a worker's first load comes from the disk caches.
    model = build_mixture(simulated(1, size=201))
    layout = flat_layout(initial_point(model, None), [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout)
    pickled, source = timed(logp_source, model, layout)
    start = np.zeros(layout.size)
    options = {"draws": 1, "tune": 1, "target_accept": 0.8, "max_tree_depth": 10, "adaptation": "nutpie"}
    loads = []
    for _ in range(3):
        future = client.submit(executors._run_chain_task, source, compiled.float_data, compiled.int_data,
                               start, np.random.SeedSequence(0), options, pure=False)
        loads.append(future.result().load_seconds)
    round_trips = []
    for _ in range(50):
        began = time.perf_counter()
        client.submit(int, 0, pure=False).result()
        round_trips.append(time.perf_counter() - began)
    gradient = np.zeros(layout.size)
    calls = 20000
    began = time.perf_counter()
    for _ in range(calls):
        compiled.logp_fn(start, gradient, compiled.float_data, compiled.int_data)
    per_gradient = (time.perf_counter() - began) / calls
    return [
        ("shipped description (pickled, zlib), kB", len(pickle.dumps(source)) / 1e3),
        ("building it here (graph key + pickle), ms", pickled * 1e3),
        ("first load of a new graph in a worker (disk caches warm), s", loads[0]),
        ("later loads in that process (cache hit), ms", min(loads[1:]) * 1e3),
        ("round trip of an empty Dask task, median ms", float(np.median(round_trips)) * 1e3),
        ("one logp + gradient here (called from Python), us", per_gradient * 1e6),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=8)
    parser.add_argument("--fits", type=int, default=32)
    arguments = parser.parse_args()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        print(f"{'job':<10} {'where':<48} {'wall_s':>8} {'speed-up':>8}", flush=True)
        for rows, count in ((chains_rows, arguments.chains), (fits_rows, arguments.fits)):
            for job, where, seconds, speed_up in rows(client, count):
                print(f"{job:<10} {where:<48} {seconds:8.2f} {speed_up:8.2f}", flush=True)
        print()
        for name, value in task_costs(client):
            print(f"{name:<60} {value:10.3f}", flush=True)


if __name__ == "__main__":
    main()
