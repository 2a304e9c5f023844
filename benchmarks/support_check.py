"""CPU time of building one observed variable, most of which is the support check.

usage (from the project's root):
    python benchmarks/support_check.py

Each row builds a model with one observed variable of 100 points ten times
(after one warm-up build) and prints the CPU time per build. The support
check evaluates the log-density at the data when every parameter is a
constant (:mod:`mixgraph.distributions.support`); CPU time, not wall time, so
that a loaded machine gives the same figure.
"""

from __future__ import annotations

import time

import numpy as np

import mixgraph as mg

__all__ = ["ROWS", "cpu_milliseconds_per_build", "main"]

ROWS = {
    "Beta(2, 2)": lambda: mg.Beta("y", 2.0, 2.0, observed=np.linspace(0.01, 0.99, 100)),
    "Gamma(2, 1)": lambda: mg.Gamma("y", 2.0, 1.0, observed=np.linspace(0.1, 9.0, 100)),
    "NormalMixture, 2 components": lambda: mg.NormalMixture(
        "y", w=[0.3, 0.7], mu=[0.0, 2.0], sigma=[1.0, 1.0], observed=np.linspace(-3.0, 3.0, 100)),
    "Poisson(3)": lambda: mg.Poisson("y", 3.0, observed=np.arange(100) % 9),
}


def cpu_milliseconds_per_build(build, repeats: int = 10) -> float:
    """CPU milliseconds per model holding the variable that ``build`` makes."""
    with mg.Model():
        build()
    start = time.process_time()
    for _ in range(repeats):
        with mg.Model():
            build()
    return 1000.0 * (time.process_time() - start) / repeats


def main() -> None:
    for name, build in ROWS.items():
        print(f"{name:32s} {cpu_milliseconds_per_build(build):6.0f} ms CPU per observed variable")


if __name__ == "__main__":
    main()
