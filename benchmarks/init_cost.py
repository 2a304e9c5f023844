"""What init="auto" (multi-path Pathfinder) costs, stage by stage, and what it buys in ESS per second.

usage (from the project's root):
    python benchmarks/init_cost.py [stages] [--models gmm1d,poisson2,...] [--seed 1]
    python benchmarks/init_cost.py compare [--models ...] [--seeds 1-3]

``stages``: per benchmark model (benchmarks/models.py on ../shared/bench's
data), the log-density evaluations and wall time of each stage of
``init="auto"``'s default Pathfinder (prior draws, L-BFGS, ELBOs, draws,
PSIS), then the initialisation's share of a default ``sample()``'s wall time
(compilation done beforehand, outside the clock).

``--models`` may also name ``five``, the five-component mixture of
benchmarks/multimodal.py.

``compare``: default ``sample()`` with ``init="auto"`` and ``init="jitter"``,
interleaved seed by seed; prints the minimum bulk ESS per second of each and
the ratio auto / jitter per seed and over all seeds (sum of ESS over sum of
wall time), with a 90% bootstrap interval over the seeds and the ratio that
auto would have without its initialisation time.

The machine may be shared: the load average is printed with every figure;
compare the ratios, not the seconds.
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
from mixgraph.compile import compile_numba_logp, flat_layout  # noqa: E402
from mixgraph.init.multipath import multi_path  # noqa: E402
from mixgraph.init.starts import PathfinderSettings, dispersed_starts  # noqa: E402
from mixgraph.point import initial_point  # noqa: E402


def _load() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _five_components() -> mg.Model:
    """benchmarks/multimodal.py's five-component Normal mixture of 20 000 points, ordered means."""
    rng = np.random.default_rng(20_000)
    means = np.array([-8.0, -3.0, 0.0, 4.0, 9.0])
    labels = rng.choice(5, size=20_000, p=[0.15, 0.25, 0.2, 0.25, 0.15])
    observed = rng.normal(means[labels], 1.0)
    with mg.Model() as model:
        weights = mg.Dirichlet("w", np.ones(5))
        mu = mg.Normal("mu", 0, 10, shape=5, transform=mg.transforms.ordered, initval=np.linspace(-4, 4, 5))
        sigma = mg.HalfNormal("sigma", 2, shape=5)
        mg.Mixture("y", w=weights, comp_dists=mg.Normal.dist(mu, sigma), observed=observed)
    return model


def _model(name: str) -> mg.Model:
    """A benchmark model on its ../shared/bench data, or ``five`` (:func:`_five_components`)."""
    if name == "five":
        return _five_components()
    import data  # ../shared/bench/data.py

    return MODELS[name](data.DATASETS[name]())


def _fit(model, seed: int, init: str) -> tuple[float, float, float, float]:
    """Wall time, init time, min bulk ESS and max R-hat of a default sample()."""
    started = time.perf_counter()
    idata = mg.sample(random_seed=seed, init=init, cores=2, progressbar=False, compute_convergence_checks=False,
                      model=model)
    wall = time.perf_counter() - started
    free = [rv.name for rv in model.free_RVs]
    ess = float(az.ess(idata.posterior[free], method="bulk").to_array().min())
    rhat = float(az.rhat(idata.posterior[free]).to_array().max())
    return wall, float(idata.posterior.attrs["init_time"]), ess, rhat


def _stage_line(model, seed: int) -> str:
    settings = PathfinderSettings()
    point = initial_point(model, None)
    layout = flat_layout(point, [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout)
    prior_seed, path_seed = np.random.SeedSequence(seed).spawn(2)
    began = time.perf_counter()
    starts = dispersed_starts(model, compiled, settings.num_paths, prior_seed)
    prior_seconds = time.perf_counter() - began
    keywords = {name: getattr(settings, name) for name in PathfinderSettings._fields if name != "num_paths"}
    began = time.perf_counter()
    result = multi_path(compiled, starts, np.random.default_rng(path_seed), num_draws=4, num_draws_per_path=0,
                        replace=False, **keywords)
    path_seconds = time.perf_counter() - began
    parts = [f"prior draws {1000 * prior_seconds:6.1f} ms", f"paths total {result.evaluations:6d} ev "
             f"{1000 * path_seconds:6.1f} ms"]
    for stage, (evaluations, seconds) in getattr(result, "costs", {}).items():
        parts.append(f"{stage} {evaluations:5d} ev {1000 * seconds:6.1f} ms")
    kept = int(np.count_nonzero(np.isfinite(result.elbo)))
    distinct = len(np.unique(getattr(result, "representative", np.arange(len(result.elbo)))[np.isfinite(result.elbo)]))
    parts.append(f"paths kept {kept}/{len(result.elbo)}, distinct {distinct}")
    return " | ".join(parts)


def stages(names: list[str], seed: int) -> None:
    for name in names:
        model = _model(name)
        _fit(model, 0, "auto")  # compile once, outside the clock
        _stage_line(model, seed)  # the prior-draw function and the kernels, compiled outside the clock
        print(f"{name:16s} {_stage_line(model, seed)} ({_load()})", flush=True)
        wall, init_seconds, ess, rhat = _fit(model, seed, "auto")
        print(f"{name:16s} sample(init='auto'): init {init_seconds:5.2f} s = {100 * init_seconds / wall:4.1f}% of "
              f"{wall:5.2f} s, min bulk ESS {ess:6.0f}, max R-hat {rhat:.3f} ({_load()})", flush=True)


def _ratio_interval(auto: np.ndarray, jitter: np.ndarray, resamples: int = 4000) -> tuple[float, float]:
    """90% bootstrap interval over seeds of (sum ESS / sum wall) auto over jitter; rows (ess, wall) per seed."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(auto), size=(resamples, len(auto)))
    ratios = ((auto[picks, 0].sum(1) / auto[picks, 1].sum(1)) / (jitter[picks, 0].sum(1) / jitter[picks, 1].sum(1)))
    low, high = np.quantile(ratios, [0.05, 0.95])
    return float(low), float(high)


def compare(names: list[str], seeds: list[int]) -> None:
    for name in names:
        model = _model(name)
        _fit(model, 0, "auto")  # compile once, outside the clock
        results = {"auto": [], "jitter": []}  # (ESS, wall, init seconds) per seed
        for seed in seeds:
            line = [f"{name:16s} seed {seed:2d}"]
            rates = {}
            for init in ("auto", "jitter"):
                wall, init_seconds, ess, rhat = _fit(model, seed, init)
                results[init].append((ess, wall, init_seconds))
                rates[init] = ess / wall
                line.append(f"{init}: ESS/s {rates[init]:7.1f} (ESS {ess:5.0f}, {wall:5.2f} s, init "
                            f"{100 * init_seconds / wall:4.1f}%, R-hat {rhat:.3f})")
            line.append(f"ratio {rates['auto'] / rates['jitter']:.2f} ({_load()})")
            print(" | ".join(line), flush=True)
        auto, jitter = (np.array(results[init]) for init in ("auto", "jitter"))
        rate = {init: values[:, 0].sum() / values[:, 1].sum() for init, values in (("auto", auto), ("jitter", jitter))}
        low, high = _ratio_interval(auto, jitter)
        without_init = (auto[:, 0].sum() / (auto[:, 1] - auto[:, 2]).sum()) / rate["jitter"]
        print(f"{name:16s} all {len(seeds)} seeds: auto ESS/s {rate['auto']:7.1f}, jitter {rate['jitter']:7.1f}, "
              f"ratio {rate['auto'] / rate['jitter']:.2f} (90% bootstrap over seeds {low:.2f} to {high:.2f}; "
              f"init share {100 * auto[:, 2].sum() / auto[:, 1].sum():.1f}%; ratio without the init time "
              f"{without_init:.2f})", flush=True)


def _seed_range(text: str) -> list[int]:
    first, last = (int(part) for part in text.split("-"))
    return list(range(first, last + 1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="?", default="stages", choices=["stages", "compare"])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", default="1-3")
    arguments = parser.parse_args()
    names = arguments.models.split(",")
    if arguments.what == "stages":
        stages(names, arguments.seed)
    else:
        compare(names, _seed_range(arguments.seeds))


if __name__ == "__main__":
    main()
