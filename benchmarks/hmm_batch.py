"""A batch of B = 8 hidden Markov chains, T = 1000, K = 3 each: compile time, disk cache, cost per chain.

As ``benchmarks/hmm.py``, for ``DiscreteMarkovChain("z", P=rows, shape=(8, 1000))``
with one Dirichlet transition matrix per chain (``P`` of shape ``(8, 3, 3)``)
and shared emission means and scale: the chains are summed out by one
batched forward-algorithm op (one pass per chain). Printed per fresh process:
compile time, Numba cache hits and misses, and the cost of one log-density and
gradient, in total and per chain. Run: ``python benchmarks/hmm_batch.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hmm  # noqa: E402  (the runner of benchmarks/hmm.py)

__all__ = ["main", "MEASURE", "CHAINS"]

CHAINS = 8

MEASURE = hmm.MEASURE.replace(
    """path = [0]
for _ in range(steps - 1):
    path.append(rng.choice(3, p=transitions[path[-1]]))
observed = rng.normal(np.array([-2.0, 0.0, 2.0])[np.array(path)], 0.7)""",
    f"""paths = []
for _ in range({CHAINS}):
    path = [0]
    for _ in range(steps - 1):
        path.append(rng.choice(3, p=transitions[path[-1]]))
    paths.append(path)
observed = rng.normal(np.array([-2.0, 0.0, 2.0])[np.array(paths)], 0.7)""",
).replace('rows = mg.Dirichlet("P", a=np.ones((3, 3)))', f'rows = mg.Dirichlet("P", a=np.ones(({CHAINS}, 3, 3)))').replace(
    "shape=(steps,))", f"shape=({CHAINS}, steps))")


def main() -> None:
    assert MEASURE.count(f"({CHAINS}, 3, 3)") == 1 and f"shape=({CHAINS}, steps)" in MEASURE and "paths = []" in MEASURE
    original = hmm.MEASURE
    hmm.MEASURE = MEASURE
    try:
        with tempfile.TemporaryDirectory() as cache:
            rows = {"cold": hmm._run(cache), "warm": hmm._run(cache), "warm again": hmm._run(cache)}
    finally:
        hmm.MEASURE = original
    print(f"HMM batch, B = {CHAINS} chains, T = 1000, K = 3 (a Dirichlet P per chain); each row a fresh process")
    print(f"{'run':11s} {'compile_s':>9s} {'hits':>5s} {'misses':>6s} {'logp+grad_us':>12s} {'(cpu_us)':>8s} "
          f"{'per_chain_us':>12s}")
    for name, row in rows.items():
        print(f"{name:11s} {row['compile_s']:9.2f} {row['cache_hits']:5d} {row['cache_misses']:6d} "
              f"{row['cost_us']:12.1f} {row['cost_cpu_us']:8.1f} {row['cost_cpu_us'] / CHAINS:12.1f}")
        for warning in row["cache_warnings"]:
            print(f"  cache warning: {warning}")


if __name__ == "__main__":
    main()
