"""The package's own Numba kernels, compiled once per machine at the start of a whole-suite run, shared out.

On a clean clone none of the kernels is in Numba's disk cache (``__pycache__``
beside their modules), and each pytest-xdist worker compiled every one of
them at its first sampling test: about 70 s on a 2-core machine (the NUTS
kernel and its metrics 39 s, Pathfinder's 19 s, SMC's 11 s), the same work
twice. Here each worker walks the groups of kernels from a different one;
a group is compiled (or loaded) under an exclusive file lock, so that the
first worker to reach it compiles it while the other compiles another
group, and each then loads the rest from the disk cache.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["KERNEL_GROUPS", "compile_package_kernels", "worker_index"]


def _sampler() -> None:
    from mixgraph.mcmc.driver import compile_kernel

    for metric in ("dense", "diag", "low_rank"):
        compile_kernel(metric)


def _pathfinder_and_smc() -> None:
    from mixgraph.init.lbfgs_numba import path_kernels
    from mixgraph.smc.kernel import init_smc, smc_stage

    path_kernels()
    init_smc.compiled()
    smc_stage.compiled()


#: name -> function that compiles (or loads) the group; about equal halves of the compile time
KERNEL_GROUPS = {"sampler": _sampler, "pathfinder_and_smc": _pathfinder_and_smc}


def compile_package_kernels(lock_directory: Path, worker_index: int) -> None:
    """Compile or load every group, starting at group ``worker_index`` (mod their number), each under its lock.

    Without POSIX file locks (Windows) nothing is done: each worker then
    compiles what its tests need, as before.
    """
    try:
        import fcntl
    except ImportError:
        return

    names = list(KERNEL_GROUPS)
    start = worker_index % len(names)
    for name in names[start:] + names[:start]:
        with open(lock_directory / f"mixgraph-kernels-{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes (or the process ends)
            KERNEL_GROUPS[name]()


def worker_index() -> int | None:
    """This pytest-xdist worker's index (``gw1`` -> 1), or None outside a worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None
