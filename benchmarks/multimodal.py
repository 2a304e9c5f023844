"""Multimodal posteriors: does every chain find the dominant mode, and what does the start cost?

usage (from the project's root):
    python benchmarks/multimodal.py gmm1d [--seeds 1-20] [--inits auto,jitter]
    python benchmarks/multimodal.py cost [--seed 1]
    python benchmarks/multimodal.py five [--seed 1]

``gmm1d``: the shared/bench three-component mixture with default ``sample()``
settings (4 chains, 1000 + 1000 draws, 2 cores); a seed succeeds when the
largest R-hat is at most 1.01. Prints the success rate per range of five seeds,
per ``init``.

``cost``: every benchmark model with default settings; prints the
initialisation's share of ``sample()``'s wall time, and the minimum bulk ESS
per second with ``init="auto"`` and ``init="jitter"``.

``five``: a five-component Normal mixture of 20 000 points with ordered means.

The machine may be shared: compare the ratios printed, not the seconds.
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


def _data(name: str) -> dict:
    import data  # ../shared/bench/data.py

    return data.DATASETS[name]()


def _fit(model, seed: int, init: str) -> tuple:
    started = time.perf_counter()
    idata = mg.sample(random_seed=seed, init=init, cores=2, progressbar=False, compute_convergence_checks=False,
                      model=model)
    wall = time.perf_counter() - started
    free = [rv.name for rv in model.free_RVs]
    rhat = float(az.rhat(idata.posterior[free]).to_array().max())
    ess = float(az.ess(idata.posterior[free], method="bulk").to_array().min())
    return idata, wall, rhat, ess


def _seed_range(text: str) -> list[int]:
    first, last = (int(part) for part in text.split("-"))
    return list(range(first, last + 1))


def gmm1d(seeds: list[int], inits: list[str]) -> None:
    model = MODELS["gmm1d"](_data("gmm1d"))
    _fit(model, 0, "jitter")  # compile once, outside the clock
    for init in inits:
        results = []
        for seed in seeds:
            idata, wall, rhat, ess = _fit(model, seed, init)
            share = idata.posterior.attrs["init_time"] / wall
            results.append(rhat <= 1.01)
            print(f"init={init} seed={seed:2d} max R-hat {rhat:.3f} min bulk ESS {ess:6.0f} wall {wall:5.1f} s "
                  f"init share {100 * share:4.1f}%", flush=True)
        for start in range(0, len(seeds), 5):
            chunk = results[start:start + 5]
            print(f"init={init} seeds {seeds[start]}-{seeds[start + len(chunk) - 1]}: "
                  f"{sum(chunk)}/{len(chunk)} with R-hat <= 1.01", flush=True)
        print(f"init={init} all seeds: {sum(results)}/{len(results)}", flush=True)


def cost(seed: int) -> None:
    for name, build in MODELS.items():
        model = build(_data(name))
        _fit(model, 0, "auto")  # compile once, outside the clock
        line = [f"{name:16s}"]
        for init in ("auto", "jitter"):
            idata, wall, rhat, ess = _fit(model, seed, init)
            share = idata.posterior.attrs["init_time"] / wall
            line.append(f"{init}: init {100 * share:4.1f}% of {wall:5.1f} s, ESS/s {ess / wall:7.1f}, R-hat {rhat:.3f}")
        print(" | ".join(line), flush=True)


def five_components(seed: int) -> None:
    rng = np.random.default_rng(20_000)
    means = np.array([-8.0, -3.0, 0.0, 4.0, 9.0])
    labels = rng.choice(5, size=20_000, p=[0.15, 0.25, 0.2, 0.25, 0.15])
    observed = rng.normal(means[labels], 1.0)
    with mg.Model() as model:
        weights = mg.Dirichlet("w", np.ones(5))
        mu = mg.Normal("mu", 0, 10, shape=5, transform=mg.transforms.ordered, initval=np.linspace(-4, 4, 5))
        sigma = mg.HalfNormal("sigma", 2, shape=5)
        mg.Mixture("y", w=weights, comp_dists=mg.Normal.dist(mu, sigma), observed=observed)
    idata, wall, rhat, ess = _fit(model, seed, "auto")
    print(f"five components, 20 000 points: max R-hat {rhat:.3f}, min bulk ESS {ess:.0f}, wall {wall:.1f} s "
          f"(compilation included), init {idata.posterior.attrs['init_time']:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["gmm1d", "cost", "five"])
    parser.add_argument("--seeds", default="1-20")
    parser.add_argument("--inits", default="auto,jitter")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    if arguments.what == "gmm1d":
        gmm1d(_seed_range(arguments.seeds), arguments.inits.split(","))
    elif arguments.what == "cost":
        cost(arguments.seed)
    else:
        five_components(arguments.seed)


if __name__ == "__main__":
    main()
