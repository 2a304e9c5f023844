"""The fused mixture kernel on 1 and on 2 threads: cost per observation and component across data sizes.

usage (from the project's root):
    python benchmarks/scaling_parallel.py [--sizes 1e4 3e4 1e5 3e5 1e6 1e7] [--families normal poisson zip]
                                          [--threads 2] [--repeats 5] [--rounds 3]
    python benchmarks/scaling_parallel.py --sample --sizes 1e5 1e6 [--rounds 2] [--threshold 1e5]

For each mixture (the three of ``benchmarks/scaling.py``: a 2-component
normal mixture, a 2-component Poisson mixture, a zero-inflated Poisson), one
child process builds the model at every size with the parallel threshold
lowered to 1 (so that the parallel copy runs at every size), and calls the
sampler's compiled ``logp_fn`` (at the initial point, with the two components
moved apart) from one thread whose Numba thread count is
set to 1 and to ``--threads`` in turn, ``--rounds`` times interleaved (1, T,
1, T, ...), so that both see the same load. Printed per size: the smallest
wall-clock time of each, in ns per observation and component, their ratio
(the speed-up, above 1 when the threads pay), whether both gave the same
log-density and gradient bit for bit, and the load average before and after
the row (``/proc/loadavg``). ``speed-up`` compares the smallest times,
``median speed-up`` the medians of all timed calls: on a machine shared with other work, a second
thread that has to wait for its core makes the parallel copy far slower.

With ``--sample``, whole ``sample()`` calls of one chain of the Normal mixture
(100 tuning steps and 100 draws) with ``data_threads=1`` and ``--threads``,
interleaved: the sampling time (``posterior.attrs["sampling_time"]``), and
whether both made the same number of leapfrog steps (they draw the same).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = {"normal": 2, "poisson": 2, "zip": 2}

CHILD = """
import json, sys, time
import numba
import numpy as np
import mixgraph as mg
from mixgraph.compile import compile_numba_logp, flat_layout, flatten_point
from mixgraph.distributions.mixture_fused_threads import parallel_threshold, start_threading_layer
from mixgraph.point import initial_point

family, threads, repeats, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sizes = [int(float(size)) for size in sys.argv[5:]]
start_threading_layer()


def build(n):
    rng = np.random.default_rng(0)
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(2))
        if family == "normal":
            mu = mg.Normal("mu", 0.0, 5.0, shape=2)
            sigma = mg.HalfNormal("sigma", 2.0, shape=2)
            data = np.where(rng.uniform(size=n) < 0.3, rng.normal(-2.0, 1.0, n), rng.normal(2.0, 0.5, n))
            mg.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=data)
        elif family == "poisson":
            mu = mg.Gamma("mu", 2.0, 0.5, shape=2)
            data = np.where(rng.uniform(size=n) < 0.3, rng.poisson(1.0, n), rng.poisson(6.0, n))
            mg.Mixture("y", w=w, comp_dists=[mg.Poisson.dist(mu[0]), mg.Poisson.dist(mu[1])], observed=data)
        else:
            psi = mg.Beta("psi", 2.0, 2.0)
            mu = mg.Gamma("mu", 2.0, 0.5)
            data = rng.poisson(3.0, n) * (rng.uniform(size=n) < 0.7)
            mg.ZeroInflatedPoisson("y", psi=psi, mu=mu, observed=data)
    return model


def load():
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def timed(compiled, position, gradient, count):
    times = []
    for _ in range(count):
        started = time.perf_counter()
        compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
        times.append(time.perf_counter() - started)
    return times


for n in sizes:
    model = build(n)
    point = initial_point(model, None)
    # components apart (at the initial point they coincide, and the kernel skips every exponential)
    if family == "normal":
        point["mu"] = np.array([-2.0, 2.0])
    elif family == "poisson":
        point["mu_log__"] = np.log([1.0, 6.0])
    layout = flat_layout(point, [value.name for value in model.value_vars])
    with parallel_threshold(1):
        compiled = compile_numba_logp(model, layout)
    position = flatten_point(point, layout)
    results = {}
    for count in (1, threads):
        numba.set_num_threads(count)
        gradient = np.zeros(layout.size)
        logp = compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
        results[count] = (logp, gradient.copy())
    same = results[1][0] == results[threads][0] and np.array_equal(results[1][1], results[threads][1])
    before = load()
    calls = repeats if n >= 10**6 else 10 * repeats
    times = {1: [], threads: []}
    gradient = np.zeros(layout.size)
    for _ in range(rounds):
        for count in (1, threads):
            numba.set_num_threads(count)
            times[count] += timed(compiled, position, gradient, calls)
    print(json.dumps({"n": n, "serial_s": min(times[1]), "parallel_s": min(times[threads]),
                      "serial_median_s": float(np.median(times[1])),
                      "parallel_median_s": float(np.median(times[threads])), "same": bool(same),
                      "load_before": before, "load_after": load()}), flush=True)
    del model, compiled
"""


SAMPLE_CHILD = """
import json, sys
import numpy as np
import mixgraph as mg
from mixgraph.distributions.mixture_fused_threads import parallel_threshold

threads, rounds, threshold = int(sys.argv[1]), int(sys.argv[2]), int(float(sys.argv[3]))
for n in [int(float(size)) for size in sys.argv[4:]]:
    rng = np.random.default_rng(0)
    data = np.where(rng.uniform(size=n) < 0.3, rng.normal(-2.0, 1.0, n), rng.normal(2.0, 0.5, n))
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.ones(2))
        mu = mg.Normal("mu", 0.0, 5.0, shape=2, transform=mg.transforms.ordered, initval=[-1.0, 1.0])
        sigma = mg.HalfNormal("sigma", 2.0, shape=2)
        mg.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=data)
    seconds = {1: [], threads: []}
    steps = {}
    for _ in range(rounds):
        for count in (1, threads):
            with parallel_threshold(threshold):  # the graph is built at the first call, with this threshold
                idata = mg.sample(model=model, draws=100, tune=100, chains=1, random_seed=1, progressbar=False,
                                  init="jitter", compute_convergence_checks=False, data_threads=count)
            seconds[count].append(idata.posterior.attrs["sampling_time"])
            steps[count] = int(idata.sample_stats["n_steps"].sum())
    with open("/proc/loadavg") as handle:
        load = float(handle.read().split()[0])
    print(json.dumps({"n": n, "serial_s": min(seconds[1]), "parallel_s": min(seconds[threads]),
                      "same": steps[1] == steps[threads], "load": load}), flush=True)
"""


def sample_rows(threads: int, sizes: list[str], rounds: int, threshold: str) -> None:
    """``sample()`` of one chain of the Normal mixture, ``data_threads=1`` against ``threads``, interleaved."""
    result = subprocess.run([sys.executable, "-c", SAMPLE_CHILD, str(threads), str(rounds), threshold, *sizes],
                            capture_output=True, text=True, cwd=ROOT, check=True)
    print(f"{'sample(), 1 chain':18} {'N':>9} {'data_threads=1 s':>16} {f'data_threads={threads} s':>16} "
          f"{'speed-up':>8} {'same steps':>10} {'load':>5}")
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            print(f"{'Normal mixture':18} {row['n']:>9} {row['serial_s']:>16.2f} {row['parallel_s']:>16.2f} "
                  f"{row['serial_s'] / row['parallel_s']:>8.2f} {str(row['same']):>10} {row['load']:>5.2f}",
                  flush=True)


def run(family: str, threads: int, sizes: list[str], repeats: int, rounds: int) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, family, str(threads), str(repeats), str(rounds), *sizes],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1e4", "3e4", "1e5", "3e5", "1e6", "1e7"])
    parser.add_argument("--families", nargs="+", default=list(COMPONENTS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample", action="store_true",
                        help="time whole sample() calls (1 chain, 100 + 100 iterations) instead of single calls")
    parser.add_argument("--threshold", default="1e5",
                        help="with --sample: the parallel threshold the model is built with")
    arguments = parser.parse_args()
    threads = arguments.threads
    if arguments.sample:
        sample_rows(threads, arguments.sizes, arguments.rounds, arguments.threshold)
        return
    print(f"{'family':8} {'N':>9} {'1 thread ns/obs/comp':>21} {f'{threads} threads ns/obs/comp':>22} "
          f"{'speed-up':>8} {'median speed-up':>15} {'bitwise':>7} {'load before/after':>18}")
    for family in arguments.families:
        for row in run(family, threads, arguments.sizes, arguments.repeats, arguments.rounds):
            per = 1e9 / (row["n"] * COMPONENTS[family])
            print(f"{family:8} {row['n']:>9} {row['serial_s'] * per:>21.2f} {row['parallel_s'] * per:>22.2f} "
                  f"{row['serial_s'] / row['parallel_s']:>8.2f} "
                  f"{row['serial_median_s'] / row['parallel_median_s']:>15.2f} {'same' if row['same'] else 'DIFFER':>7} "
                  f"{row['load_before']:>9.2f}/{row['load_after']:<8.2f}", flush=True)


if __name__ == "__main__":
    main()
