"""How many tuning steps does mixgraph need? Prints ESS, R-hat and time per setting.

usage (from the project's root):
    python benchmarks/tuning.py [--tunes 200 400 700 1000] [--seeds 1 2 3]

For each benchmark model (the data of ../shared/bench/data.py) and each
number of tuning steps, samples 4 chains of 1000 draws and prints the
smallest bulk ESS, the largest R-hat, divergences and the sampling time, so
that the default number of tuning steps can be chosen by measurement.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import arviz as az
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent / "shared" / "bench"))
from models import MODELS  # noqa: E402

import mixgraph as mg  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tunes", type=int, nargs="+", default=[200, 400, 700, 1000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--models", nargs="+", default=sorted(MODELS))
    arguments = parser.parse_args()
    from data import DATASETS

    print(f"{'model':16} {'tune':>5} {'minESS':>8} {'maxRhat':>8} {'div':>4} {'sample_s':>8}  (mean over seeds; max R-hat over seeds)")
    for name in arguments.models:
        model = MODELS[name](DATASETS[name]())
        mg.sample(draws=10, tune=10, chains=1, model=model, progressbar=False, compute_convergence_checks=False)
        for tune in arguments.tunes:
            ess, rhat, divergences, seconds = [], [], [], []
            for seed in arguments.seeds:
                started = time.perf_counter()
                idata = mg.sample(draws=1000, tune=tune, chains=4, cores=2, random_seed=seed, model=model,
                                  progressbar=False, compute_convergence_checks=False)
                seconds.append(time.perf_counter() - started)
                ess.append(float(az.ess(idata).to_array().min()))
                rhat.append(float(az.rhat(idata).to_array().max()))
                divergences.append(int(idata.sample_stats["diverging"].sum()))
            print(f"{name:16} {tune:5d} {np.mean(ess):8.0f} {max(rhat):8.3f} {np.mean(divergences):4.1f} "
                  f"{np.mean(seconds):8.2f}", flush=True)


if __name__ == "__main__":
    main()
