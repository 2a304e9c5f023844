"""Warm-up side by side with nutpie: step size, gradient evaluations, ESS per second of sampling.

usage (from the project's root):
    python benchmarks/warmup.py [MODEL ...] [--seeds 1 2] [--chains 4] [--draws 1000] [--tune 1000]

For each shared benchmark model (../shared/bench/data.py) and seed, mixgraph
(this checkout) and nutpie (the peers' environment, ``$PEERS_VENV``, made by
../shared/bench/compare.py) each sample in a fresh process, one after the
other. Printed per model, as sums or means over the seeds: the step size of
the draws (mean over chains), the gradient evaluations in warm-up and in the
draws (summed over chains), the smallest bulk ESS and ESS per second of
sampling (compilation left out), then the ratios mixgraph / nutpie. The
machine is shared: read the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"
PEERS_PYTHON = Path(os.environ.get("PEERS_VENV", "/tmp/mixgraph-peers")) / "bin" / "python"
KEYS = ("step_size", "grad_warmup", "grad_sampling", "min_ess_bulk", "sample_s", "divergences")


def run_mixgraph(arguments) -> dict:
    """Child process: fit one model with mixgraph; return the figures."""
    import arviz as az

    sys.path.insert(0, str(HERE))
    from models import MODELS

    import mixgraph as mg

    model = MODELS[arguments.model](dict(np.load(arguments.data)))
    extra = {} if arguments.metric is None else {"metric": arguments.metric}
    idata = mg.sample(draws=arguments.draws, tune=arguments.tune, chains=arguments.chains, cores=2,
                      random_seed=arguments.seed, progressbar=False, model=model,
                      compute_convergence_checks=False, discard_tuned_samples=False, **extra)
    free = [rv.name for rv in model.free_RVs]
    ess = az.ess(idata.posterior[free], method="bulk")
    return {
        "model": arguments.model, "sampler": "mixgraph" + (f"-{arguments.metric}" if extra else ""),
        "sample_s": round(float(idata.posterior.attrs["sampling_time"]), 3),
        "min_ess_bulk": round(min(float(ess[name].min()) for name in free), 1),
        "step_size": round(float(idata.sample_stats["step_size"].mean()), 4),
        "grad_warmup": int(idata.warmup_sample_stats["n_steps"].sum()),
        "grad_sampling": int(idata.sample_stats["n_steps"].sum()),
        "divergences": int(idata.sample_stats["diverging"].sum()),
    }


def _run(command: list[str]) -> dict:
    output = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    lines = [line for line in output.stdout.splitlines() if line.startswith("{")]
    if output.returncode != 0 or not lines:
        tail = (output.stderr or output.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail)}
    return json.loads(lines[-1])


def _systems(arguments, model: str, data: Path, seed: int) -> list[tuple[str, list[str]]]:
    common = [model, "--data", str(data), "--chains", str(arguments.chains), "--draws",
              str(arguments.draws), "--tune", str(arguments.tune), "--seed", str(seed)]
    systems = []
    for metric in arguments.metrics:
        option = [] if metric == "default" else ["--metric", metric]
        systems.append((f"mixgraph{'' if metric == 'default' else '-' + metric}",
                        [sys.executable, str(Path(__file__).resolve()), "--child", *common, *option]))
    if arguments.nutpie:
        systems.append(("nutpie", [str(PEERS_PYTHON), str(HERE / "warmup_peer.py"), *common]))
    return systems


def _print_table(rows: dict) -> None:
    print(f"\n{'model':16} {'sampler':18} {'step':>7} {'grad_warm':>10} {'grad_draw':>10} "
          f"{'minESS':>7} {'sample_s':>8} {'ESS/s':>8} {'div':>4}")
    for (model, sampler), results in rows.items():
        good = [r for r in results if "error" not in r]
        if not good:
            print(f"{model:16} {sampler:18} ERROR {results[0]['error'][:80]}")
            continue
        mean = {key: float(np.mean([r[key] for r in good])) for key in KEYS}
        rate = np.mean([r["min_ess_bulk"] / r["sample_s"] for r in good])
        print(f"{model:16} {sampler:18} {mean['step_size']:7.3f} {mean['grad_warmup']:10.0f} "
              f"{mean['grad_sampling']:10.0f} {mean['min_ess_bulk']:7.0f} {mean['sample_s']:8.2f} "
              f"{rate:8.0f} {mean['divergences']:4.1f}")
    print("\nmixgraph / nutpie: step size, warm-up and draw gradient evaluations, ESS/s of sampling")
    models = sorted({model for model, _ in rows}, key=list(dict.fromkeys(m for m, _ in rows)).index)
    for model in models:
        peer = [r for r in rows.get((model, "nutpie"), []) if "error" not in r]
        for (name, sampler), results in rows.items():
            mine = [r for r in results if "error" not in r]
            if name != model or sampler == "nutpie" or not mine or not peer:
                continue
            ratio = {key: np.mean([r[key] for r in mine]) / np.mean([r[key] for r in peer])
                     for key in ("step_size", "grad_warmup", "grad_sampling")}
            rate = (np.mean([r["min_ess_bulk"] / r["sample_s"] for r in mine])
                    / np.mean([r["min_ess_bulk"] / r["sample_s"] for r in peer]))
            print(f"  {model:16} {sampler:18} step {ratio['step_size']:5.2f}  grad_warm "
                  f"{ratio['grad_warmup']:5.2f}  grad_draw {ratio['grad_sampling']:5.2f}  "
                  f"ESS/s {rate:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--metric", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--metrics", nargs="+", default=["default"],
                        help="mixgraph metric= values to run ('default': leave it out)")
    parser.add_argument("--no-nutpie", dest="nutpie", action="store_false")
    arguments = parser.parse_args()
    if arguments.child:
        arguments.model = arguments.models[0]
        print(json.dumps(run_mixgraph(arguments)))
        return
    sys.path.insert(0, str(SHARED))
    from data import DATASETS

    models = arguments.models or list(DATASETS)
    rows: dict = {}
    with tempfile.TemporaryDirectory() as directory:
        for model in models:
            data = Path(directory) / f"{model}.npz"
            np.savez(data, **DATASETS[model]())
            for seed in arguments.seeds:
                for name, command in _systems(arguments, model, data, seed):
                    started = time.perf_counter()
                    result = _run(command)
                    rows.setdefault((model, name), []).append(result)
                    print(json.dumps({**result, "seed": seed,
                                      "process_s": round(time.perf_counter() - started, 1)}),
                          flush=True)
    _print_table(rows)


if __name__ == "__main__":
    main()
