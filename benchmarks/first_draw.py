"""Time to the first draw of each benchmark model in a fresh process, with cold and warm caches.

usage (from the project's root):
    python benchmarks/first_draw.py [--models gmm1d zip_reg ...]
    python benchmarks/first_draw.py --fresh-install [--models gmm1d]

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

``--fresh-install`` empties Numba's cache too (a new ``$NUMBA_CACHE_DIR``), as
after ``pip install`` or on CI, and splits the first draw into import, the
sampler kernel's compilation, the model's compilation and the rest of the
first ``sample()``, in wall and CPU seconds (CPU time is what to compare on a
busy machine).
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

FRESH_INSTALL_CHILD = """
import json, sys, time
clocks = [(time.perf_counter(), time.process_time())]
import numpy as np
import mixgraph as mg
clocks.append((time.perf_counter(), time.process_time()))
from mixgraph.mcmc import driver
if hasattr(driver, "compile_kernel"):  # earlier versions compiled the kernel at import
    driver.compile_kernel()
clocks.append((time.perf_counter(), time.process_time()))
sys.path.insert(0, {benchmarks!r})
sys.path.insert(0, {data_directory!r})
import data as datasets
from models import MODELS
model = MODELS[{model!r}](getattr(datasets, {model!r})())
idata = mg.sample(draws=1, tune=1, chains=1, random_seed=1, progressbar=False,
                  compute_convergence_checks=False, model=model)
clocks.append((time.perf_counter(), time.process_time()))
wall = [later[0] - earlier[0] for earlier, later in zip(clocks, clocks[1:])]
cpu = [later[1] - earlier[1] for earlier, later in zip(clocks, clocks[1:])]
compile_s = float(idata.posterior.attrs["compile_time"])
print(json.dumps({{"import_s": wall[0], "kernel_s": wall[1], "model_s": compile_s,
                  "sample_s": wall[2] - compile_s, "total_s": sum(wall),
                  "import_cpu": cpu[0], "kernel_cpu": cpu[1], "sample_cpu": cpu[2],
                  "total_cpu": sum(cpu)}}))
"""


def run_fresh_process(model: str, environment: dict, child: str = CHILD) -> dict:
    """Fit ``model`` once in a new process; return its timings."""
    source = child.format(benchmarks=str(ROOT / "benchmarks"), data_directory=str(SHARED_DATA.parent), model=model)
    started = os.times().elapsed
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, env=environment,
                            cwd=ROOT, check=True)
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    timings["process_s"] = os.times().elapsed - started
    timings["cache_warnings"] = result.stderr.count("Cannot cache")
    return timings


def fresh_install(models: list) -> None:
    """Print the cold split (empty Numba cache as well), then the same process warm."""
    print(f"{'model':16} {'caches':6} {'import_s':>8} {'kernel_s':>8} {'model_s':>7} {'sample_s':>8} "
          f"{'total_s':>7} | {'import':>6} {'kernel':>6} {'sample':>6} {'total':>6} CPU s")
    for model in models:
        with tempfile.TemporaryDirectory() as directory:
            environment = dict(os.environ, MIXGRAPH_CACHE=str(Path(directory) / "mixgraph"),
                               NUMBA_CACHE_DIR=str(Path(directory) / "numba"),
                               PYTENSOR_FLAGS=f"base_compiledir={Path(directory) / 'pytensor'}")
            for caches in ("empty", "warm"):
                times = run_fresh_process(model, environment, FRESH_INSTALL_CHILD)
                print(f"{model:16} {caches:6} {times['import_s']:8.2f} {times['kernel_s']:8.2f} "
                      f"{times['model_s']:7.2f} {times['sample_s']:8.2f} {times['total_s']:7.2f} | "
                      f"{times['import_cpu']:6.1f} {times['kernel_cpu']:6.1f} {times['sample_cpu']:6.1f} "
                      f"{times['total_cpu']:6.1f}", flush=True)


def main() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from models import MODELS

    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=sorted(MODELS))
    parser.add_argument("--fresh-install", action="store_true",
                        help="empty Numba's cache too, and split the first draw into its parts")
    arguments = parser.parse_args()
    if arguments.fresh_install:
        fresh_install(arguments.models)
        return
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
