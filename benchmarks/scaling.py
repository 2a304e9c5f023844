"""Cost of the log-density and gradient per observation and component, across data sizes.

usage (from the project's root):
    python benchmarks/scaling.py [--sizes 1e3 1e4 1e5 1e6 1e7] [--families normal poisson zip zip_regression]
                                 [--variants generic fused] [--repeats 5] [--threads 1]

For each mixture (a 2-component normal mixture, a 2-component Poisson
mixture, a zero-inflated Poisson, and a zero-inflated Poisson regression
whose mean ``exp(a + b x)`` differs per observation) and each implementation (``generic``: the
log-density graph built under ``generic_only()``; ``fused``: the one-pass
op), one child process builds the model at every size in increasing order and
calls the sampler's compiled ``logp_fn(position, grad_out, float_data,
int_data)`` at the data-generating parameters, with ``--threads`` Numba
threads (default 1, the cost on one core; the fused kernel splits its blocks
of observations over threads from 1e5 observations). Printed per size:

- ``ns/obs/comp``: the smallest of ``--repeats`` timed calls (wall clock, and
  the calling thread's CPU time, which a machine shared with other work
  inflates less, and which leaves out the other threads' share), divided by the number of observations and of components;
- ``compile_s``: building and compiling the graph (``compile_numba_logp``),
  ``first_s``: the first call (where Numba compiles the generated function
  unless it is cached on disk); both with the cache left from earlier runs;
- ``peak_MB``: the peak resident memory during the timed calls (the peak is
  reset after the first call, through ``/proc/self/clear_refs``), above the
  memory in use before them: the temporaries of one call.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = {"normal": 2, "poisson": 2, "zip": 2, "zip_regression": 2}

CHILD = """
import json, sys, time
import numpy as np
import numba
import psutil
import pytensor.tensor as pt
import mixgraph as mg
from mixgraph.compile import compile_numba_logp, flat_layout, flatten_point
from mixgraph.distributions.mixture_fused_choice import generic_only
from mixgraph.point import initial_point

family, variant, repeats, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sizes = [int(float(size)) for size in sys.argv[5:]]
numba.set_num_threads(threads)
# the data-generating parameters: components apart, as in a posterior (at the
# initial point the components coincide, and the kernel's shortcut for the
# largest term skips every exponential)
TRUTH = {
    "normal": {"w": [0.3, 0.7], "mu": [-2.0, 2.0], "sigma": [1.0, 0.5]},
    "poisson": {"w": [0.3, 0.7], "mu": [1.0, 6.0]},
    "zip": {"psi": 0.7, "mu": 3.0},
    "zip_regression": {"psi": 0.7, "a": 1.0, "b": 0.3},
}


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
        elif family == "zip":
            psi = mg.Beta("psi", 2.0, 2.0)
            mu = mg.Gamma("mu", 2.0, 0.5)
            data = rng.poisson(3.0, n) * (rng.uniform(size=n) < 0.7)
            mg.ZeroInflatedPoisson("y", psi=psi, mu=mu, observed=data)
        else:  # a regression: one Poisson mean per observation
            psi = mg.Beta("psi", 2.0, 2.0)
            a = mg.Normal("a", 0.0, 2.0)
            b = mg.Normal("b", 0.0, 1.0)
            x = rng.normal(size=n)
            data = rng.poisson(np.exp(1.0 + 0.3 * x)) * (rng.uniform(size=n) < 0.7)
            mg.ZeroInflatedPoisson("y", psi=psi, mu=pt.exp(a + b * x), observed=data)
    return model


def rss():
    return psutil.Process().memory_info().rss


def reset_peak():
    # Linux: writing 5 to clear_refs resets the peak resident set size (VmHWM)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


for n in sizes:
    model = build(n)
    point = initial_point(model, TRUTH[family])
    layout = flat_layout(point, [value.name for value in model.value_vars])
    started = time.perf_counter()
    if variant == "generic":
        with generic_only():
            compiled = compile_numba_logp(model, layout)
    else:
        compiled = compile_numba_logp(model, layout)
    compile_seconds = time.perf_counter() - started
    position = flatten_point(point, layout)
    gradient = np.zeros(layout.size)
    before = rss()
    started = time.perf_counter()
    logp = compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
    first_seconds = time.perf_counter() - started
    before = rss()
    reset_peak()
    wall, cpu = [], []
    for _ in range(repeats if n >= 10**6 else 10 * repeats):
        started, started_cpu = time.perf_counter(), time.thread_time()
        compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
        wall.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    print(json.dumps({"n": n, "logp": float(logp), "compile_s": compile_seconds, "first_s": first_seconds,
                      "wall_s": min(wall), "cpu_s": min(cpu), "peak_bytes": max(0, peak() - before)}), flush=True)
    del model, compiled
"""


def run(family: str, variant: str, sizes: list[str], repeats: int, threads: int) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, family, variant, str(repeats), str(threads), *sizes],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1e3", "1e4", "1e5", "1e6", "1e7"])
    parser.add_argument("--families", nargs="+", default=list(COMPONENTS))
    parser.add_argument("--variants", nargs="+", default=["generic", "fused"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="Numba threads for the fused kernel (default 1: the per-core cost)")
    arguments = parser.parse_args()
    print(f"{'family':8} {'variant':8} {'N':>9} {'wall ns/obs/comp':>17} {'cpu ns/obs/comp':>16} "
          f"{'compile_s':>9} {'first_s':>8} {'peak_MB':>8}  logp")
    for family in arguments.families:
        for variant in arguments.variants:
            for row in run(family, variant, arguments.sizes, arguments.repeats, arguments.threads):
                per = 1e9 / (row["n"] * COMPONENTS[family])
                print(f"{family:8} {variant:8} {row['n']:>9} {row['wall_s'] * per:>17.1f} {row['cpu_s'] * per:>16.1f} "
                      f"{row['compile_s']:>9.2f} {row['first_s']:>8.2f} {row['peak_bytes'] / 2**20:>8.1f}  "
                      f"{row['logp']:.6g}", flush=True)


if __name__ == "__main__":
    main()
