"""Speed figures of the sampler core (prints, never asserts).

Run with ``python benchmarks/mcmc_overhead.py``. Reports

1. the cost of one gradient call from inside Numba (through the first-class
   function type, as the kernel calls it) against the sampler's cost per
   leapfrog step on a small Gaussian: the difference is the sampler's own
   overhead per step;
2. the time to import the kernel and make the first call, with a cold and
   with a warm Numba disk cache (each in a fresh subprocess);
3. effective samples per second on a 10-dimensional Gaussian;
4. wall time of 2 chains on 1 and on 2 threads (is the GIL released?).
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numba
import numpy as np
from numba import njit

from mixgraph.mcmc import LOGP_FUNCTION_TYPE, run_chains

__all__ = ["main"]

NO_INTS = np.zeros(0, dtype=np.int64)
PACKAGE_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mixgraph")


@njit(cache=True)
def gaussian_logp(position, grad_out, float_data, int_data):
    """Independent Gaussians with scales ``float_data``."""
    logp = 0.0
    for index in range(position.shape[0]):
        precision = 1.0 / (float_data[index] * float_data[index])
        grad_out[index] = -position[index] * precision
        logp -= 0.5 * position[index] * position[index] * precision
    return logp


@njit(numba.float64(LOGP_FUNCTION_TYPE, numba.float64[::1], numba.int64[::1], numba.int64),
      cache=True)
def _call_repeatedly(logp_fn, float_data, int_data, n_calls):
    position = np.full(float_data.shape[0], 0.5)
    grad = np.empty_like(position)
    total = 0.0
    for index in range(n_calls):
        position[0] = index * 1e-9
        total += logp_fn(position, grad, float_data, int_data)
    return total



def gradient_call_seconds(dim: int, n_calls: int = 2_000_000) -> float:
    """Seconds per log-density-and-gradient call from inside Numba."""
    scales = np.linspace(0.5, 2.0, dim)
    _call_repeatedly(gaussian_logp, scales, NO_INTS, 10)
    start = time.perf_counter()
    _call_repeatedly(gaussian_logp, scales, NO_INTS, n_calls)
    return (time.perf_counter() - start) / n_calls


def sampler_step_seconds(dim: int, draws: int = 20000) -> tuple[float, float]:
    """Seconds per leapfrog step of the whole sampler (1 chain), and ESS per second."""
    scales = np.linspace(0.5, 2.0, dim)
    initial = np.full((1, dim), 0.5)
    run_chains(gaussian_logp, scales, NO_INTS, initial, 10, 10, seed=0)
    start = time.perf_counter()
    result = run_chains(gaussian_logp, scales, NO_INTS, initial, draws, 1000, seed=1, cores=1)
    elapsed = time.perf_counter() - start
    return elapsed / result.stats["n_steps"].sum(), _ess_per_second(result, elapsed)


def _ess_per_second(result, elapsed: float) -> float:
    import arviz as az

    draws = result.positions[:, 1000:]
    ess = az.ess(az.convert_to_dataset({"x": draws}))["x"].values
    return float(ess.min() / elapsed)


def ess_per_second_10d(chains: int = 2, draws: int = 2000) -> float:
    """Minimum bulk ESS per wall-clock second, 10-D Gaussian, warm-up included in the time."""
    scales = np.linspace(0.1, 10.0, 10)
    initial = np.random.default_rng(0).normal(size=(chains, 10))
    start = time.perf_counter()
    result = run_chains(gaussian_logp, scales, NO_INTS, initial, draws, 1000, seed=2)
    return _ess_per_second(result, time.perf_counter() - start)


def thread_scaling(draws: int = 20000) -> tuple[float, float]:
    """Wall time of two chains on one thread and on two threads."""
    scales = np.linspace(0.1, 10.0, 50)
    initial = np.full((2, 50), 0.5)
    times = []
    for cores in (1, 2):
        start = time.perf_counter()
        run_chains(gaussian_logp, scales, NO_INTS, initial, draws, 500, seed=3, cores=cores)
        times.append(time.perf_counter() - start)
    return times[0], times[1]


FIRST_CALL_SCRIPT = textwrap.dedent("""
    import sys, time, types
    import numpy as np
    from numba import njit
    # Load mixgraph.mcmc alone: a bare parent package skips mixgraph/__init__.py,
    # whose PyTensor imports would otherwise be timed too.
    package = types.ModuleType("mixgraph")
    package.__path__ = [PACKAGE_PATH]
    sys.modules["mixgraph"] = package
    start = time.perf_counter()
    from mixgraph.mcmc import run_chains
    imported = time.perf_counter()

    @njit
    def logp(position, grad_out, float_data, int_data):
        grad_out[:] = -position
        return -0.5 * np.dot(position, position)

    logp(np.zeros(2), np.zeros(2), np.zeros(0), np.zeros(0, dtype=np.int64))  # model's own compile
    model_ready = time.perf_counter()
    run_chains(logp, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((1, 2)), 10, 10, seed=0)
    done = time.perf_counter()
    print(f"{imported - start:.3f} {done - model_ready:.3f}")
""")


def first_call_seconds() -> list[tuple[float, float]]:
    """(import, first run_chains) seconds in fresh processes: cold cache, then warm."""
    timings = []
    with tempfile.TemporaryDirectory() as cache_dir:
        environment = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        for _ in ("cold", "warm"):
            script = FIRST_CALL_SCRIPT.replace("PACKAGE_PATH", repr(PACKAGE_PATH))
            output = subprocess.run([sys.executable, "-c", script], env=environment,
                                    capture_output=True, text=True, check=True).stdout
            timings.append(tuple(float(value) for value in output.split()))
    return timings


def main() -> None:
    """Print every figure."""
    for dim in (2, 10, 100):
        gradient = gradient_call_seconds(dim)
        step, _ = sampler_step_seconds(dim)
        print(f"dim {dim:4d}: gradient call {gradient * 1e6:6.3f} us, "
              f"sampler per leapfrog step {step * 1e6:6.3f} us, "
              f"overhead {(step - gradient) * 1e6:6.3f} us")
    (cold_import, cold_call), (warm_import, warm_call) = first_call_seconds()
    print("import mixgraph.mcmc (kernel compiled or loaded at import), then first run_chains:")
    print(f"  cold cache: import {cold_import:.2f} s, first run_chains {cold_call:.2f} s")
    print(f"  warm cache: import {warm_import:.2f} s, first run_chains {warm_call:.2f} s")
    print(f"10-D Gaussian, 2 chains x (1000 tune + 2000 draws): "
          f"min ESS/s {ess_per_second_10d():.0f}")
    one_thread, two_threads = thread_scaling()
    print(f"2 chains, 50-D: 1 thread {one_thread:.2f} s, 2 threads {two_threads:.2f} s")


if __name__ == "__main__":
    main()
