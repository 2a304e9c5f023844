"""Time to the first draw of each benchmark model in a fresh process, with cold and warm caches.

usage (from the project's root):
    python benchmarks/first_draw.py [--models gmm1d zip_reg ...]

Each model runs in a new Python process that imports mixgraph, builds the
model and calls ``sample(draws=1, tune=1, chains=1)``. It runs twice:

- ``cold``: empty model caches (a new ``$MIXGRAPH_CACHE`` and a new PyTensor
  compile directory), so the model's log-density is compiled by Numba; the
  sampler kernel, which is the same for every model, stays cached in the
  package's ``__pycache__``;
- ``warm``: the same caches again, so nothing should be compiled.

Printed per model: the process's wall time from start to the first draw, the
import time, and ``compile_time`` (graph building, rewriting and compiling or
loading the log-density, as recorded by ``sample``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "bench" / "data.py"

CHILD = """
import json, sys, time
started = time.perf_counter()
import numpy as np
import mixgraph as mg
imported = time.perf_counter()
sys.path.insert(0, {benchmarks!r})
sys.path.insert(0, {data_directory!r})
import data as datasets
from models import MODELS
model = MODELS[{model!r}](getattr(datasets, {model!r})())
idata = mg.sample(draws=1, tune=1, chains=1, random_seed=1, progressbar=False,
                  compute_convergence_checks=False, model=model)
finished = time.perf_counter()
print(json.dumps({{"import_s": imported - started, "compile_s": float(idata.posterior.attrs["compile_time"]),
                  "first_draw_s": finished - started}}))
"""


def run_fresh_process(model: str, environment: dict) -> dict:
    """Fit ``model`` once in a new process; return its timings."""
    source = CHILD.format(benchmarks=str(ROOT / "benchmarks"), data_directory=str(SHARED_DATA.parent), model=model)
    started = os.times().elapsed
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, env=environment,
                            cwd=ROOT, check=True)
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    timings["process_s"] = os.times().elapsed - started
    timings["cache_warnings"] = result.stderr.count("Cannot cache")
    return timings


def main() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from models import MODELS

    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=sorted(MODELS))
    arguments = parser.parse_args()
    print(f"{'model':16} {'cache':5} {'process_s':>9} {'import_s':>8} {'compile_s':>9} {'uncached':>8}")
    for model in arguments.models:
        with tempfile.TemporaryDirectory() as directory:
            environment = dict(os.environ, MIXGRAPH_CACHE=str(Path(directory) / "mixgraph"),
                               PYTENSOR_FLAGS=f"compiledir={Path(directory) / 'pytensor'}")
            for cache in ("cold", "warm"):
                timings = run_fresh_process(model, environment)
                print(f"{model:16} {cache:5} {timings['process_s']:9.2f} {timings['import_s']:8.2f} "
                      f"{timings['compile_s']:9.2f} {timings['cache_warnings']:8d}", flush=True)


if __name__ == "__main__":
    main()
