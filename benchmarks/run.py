"""Fit one benchmark model with mixgraph; print one JSON line last.

usage (from the project's root):
    python benchmarks/run.py MODEL --data FILE.npz [--chains 4] [--draws 1000] [--tune 1000] [--seed 1]

The JSON keys are those ../shared/bench/compare.py reads: model, sampler,
wall_s (from the call of sample() to the InferenceData, compilation
included), compile_s, sample_s, min_ess_bulk, max_rhat, divergences, means.
As for the peers, ArviZ is imported before the clock starts and sample() runs
on 2 cores without convergence checks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import arviz as az
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from models import MODELS  # noqa: E402

import mixgraph as mg  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--data", required=True)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--adaptation", default="nutpie", choices=["nutpie", "stan"])
    arguments = parser.parse_args()

    data = dict(np.load(arguments.data))
    model = MODELS[arguments.model](data)
    started = time.perf_counter()
    idata = mg.sample(draws=arguments.draws, tune=arguments.tune, chains=arguments.chains, cores=2,
                      random_seed=arguments.seed, progressbar=False, compute_convergence_checks=False,
                      model=model, adaptation=arguments.adaptation)
    wall = time.perf_counter() - started
    free = [rv.name for rv in model.free_RVs]
    posterior = idata.posterior[free]
    ess = az.ess(posterior, method="bulk")
    rhat = az.rhat(posterior)
    compile_s = float(idata.posterior.attrs["compile_time"])
    print(json.dumps({
        "model": arguments.model, "sampler": "mixgraph", "wall_s": round(wall, 3),
        "compile_s": round(compile_s, 3), "sample_s": round(float(idata.posterior.attrs["sampling_time"]), 3),
        "min_ess_bulk": round(min(float(ess[name].min()) for name in free), 1),
        "max_rhat": round(max(float(rhat[name].max()) for name in free), 4),
        "divergences": int(idata.sample_stats["diverging"].sum()),
        "means": {name: np.asarray(posterior[name].mean(("chain", "draw"))).round(4).tolist() for name in free},
    }))


if __name__ == "__main__":
    main()
