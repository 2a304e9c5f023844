"""A hidden Markov model with T = 1000 and K = 3: compile time, disk cache, cost of one log-density and gradient.

The state chain is summed out by the forward-algorithm op (its gradient by
the backward recursion), so the compiled function holds two Numba kernels
and no ``scan``. Printed, per process:

- ``cold``: a fresh process with empty caches (``$MIXGRAPH_CACHE``, Numba's
  and PyTensor's compile directories all in one new temporary directory):
  marginalise, build and compile the log-density and gradient;
- ``warm``: a second fresh process on the same cache: it should compile
  nothing (Numba cache hits 1, misses 0);
- the cost of one call ``logp_fn(position, gradient, ...)`` from Python (the
  sampler calls it from inside Numba, which is a little cheaper), in wall
  time and in the process's CPU time (which a busy machine inflates less).

Run: ``python benchmarks/hmm.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap

__all__ = ["main", "MEASURE"]

MEASURE = textwrap.dedent(
    """
    import json, time, warnings
    import numpy as np
    began = time.perf_counter()
    import mixgraph as mg
    from mixgraph.compile import compile_numba_logp, flat_layout
    from mixgraph.point import initial_point
    imported = time.perf_counter()

    rng = np.random.default_rng(0)
    steps, transitions = 1000, np.array([[0.90, 0.05, 0.05], [0.05, 0.90, 0.05], [0.05, 0.05, 0.90]])
    path = [0]
    for _ in range(steps - 1):
        path.append(rng.choice(3, p=transitions[path[-1]]))
    observed = rng.normal(np.array([-2.0, 0.0, 2.0])[np.array(path)], 0.7)
    with mg.Model() as model:
        rows = mg.Dirichlet("P", a=np.ones((3, 3)))
        mu = mg.Normal("mu", [-1.0, 0.0, 1.0], 3.0, shape=3, transform=mg.transforms.ordered)
        sigma = mg.HalfNormal("sigma", 1.0)
        chain = mg.DiscreteMarkovChain("z", P=rows, init_dist=mg.Categorical.dist(p=np.ones(3) / 3), shape=(steps,))
        mg.Normal("y", mu[chain], sigma, observed=observed)
    built = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        marginal = mg.marginalize(model)
        point = initial_point(marginal, None)
        layout = flat_layout(point, [value.name for value in marginal.value_vars])
        compiled = compile_numba_logp(marginal, layout)
        position = np.zeros(layout.size)
        gradient = np.zeros(layout.size)
        compiled.logp_fn(position, gradient, compiled.float_data, compiled.int_data)
    ready = time.perf_counter()
    function, floats, integers = compiled.logp_fn, compiled.float_data, compiled.int_data
    best, best_cpu = np.inf, np.inf
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(2000):
            function(position, gradient, floats, integers)
        best = min(best, (time.perf_counter() - start) / 2000)
        best_cpu = min(best_cpu, (time.process_time() - start_cpu) / 2000)
    stats = compiled.logp_fn.stats
    print(json.dumps({
        "import_s": imported - began, "build_s": built - imported, "compile_s": ready - built,
        "cost_us": best * 1e6, "cost_cpu_us": best_cpu * 1e6,
        "cache_hits": int(sum(stats.cache_hits.values())), "cache_misses": int(sum(stats.cache_misses.values())),
        "cache_warnings": [str(w.message) for w in caught if "cache" in str(w.message).lower()],
    }))
    """
)


def _run(cache: str) -> dict:
    flags = ",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS", ""), f"base_compiledir={os.path.join(cache, 'pytensor')}"]))
    environment = dict(os.environ, MIXGRAPH_CACHE=cache, NUMBA_CACHE_DIR=os.path.join(cache, "numba"), PYTENSOR_FLAGS=flags)
    result = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True, env=environment, check=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        rows = {"cold": _run(cache), "warm": _run(cache), "warm again": _run(cache)}
    print("HMM, T = 1000, K = 3 (Dirichlet rows, ordered means, one scale); each row a fresh process")
    print(f"{'run':11s} {'import_s':>8s} {'compile_s':>9s} {'hits':>5s} {'misses':>6s} {'logp+grad_us':>12s} "
          f"{'(cpu_us)':>8s}")
    for name, row in rows.items():
        print(f"{name:11s} {row['import_s']:8.2f} {row['compile_s']:9.2f} {row['cache_hits']:5d} "
              f"{row['cache_misses']:6d} {row['cost_us']:12.1f} {row['cost_cpu_us']:8.1f}")
        for warning in row["cache_warnings"]:
            print(f"  cache warning: {warning}")
    warm = rows["warm again"]
    print(f"warm compile {warm['compile_s']:.2f} s (target < 10); fresh process compiles nothing: "
          f"{warm['cache_misses'] == 0 and warm['cache_hits'] >= 1}; logp+gradient {warm['cost_us']:.1f} us "
          f"(target < 100)")


if __name__ == "__main__":
    main()
