"""Sequential Monte Carlo on targets with known answers: wall time, log-ML error, weight error.

usage (from the project's root):
    python benchmarks/smc.py [--draws 2000] [--chains 4] [--seeds 1 2 3] [--kernel imh]

Targets:

- ``two_modes``: a location whose posterior has modes at -5 and +5 with masses
  0.3 and 0.7 (a two-component Normal mixture likelihood); the weight error is
  the largest difference between the share of particles above 0 and 0.7;
- ``conjugate_normal``: Normal mean, Normal prior, 25 observations;
- ``beta_binomial``: Beta(2, 3) prior, 29 successes of 40.

Printed per target and seed: wall time of ``sample_smc`` (the second call, so
that compilation is excluded: compile time is printed apart), the largest
absolute error of the runs' log marginal likelihoods against the closed form,
its spread over the runs, and the weight error where there is one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pytensor.tensor as pt
from scipy import special, stats

import mixgraph as mg


def two_modes() -> tuple:
    with mg.Model() as model:
        x = mg.Normal("x", 0.0, 10.0)
        mg.NormalMixture("y", w=np.array([0.3, 0.7]), mu=pt.stack([x + 5.0, x - 5.0]), sigma=0.5, observed=0.0)
    log_ml = np.log(stats.norm(0.0, np.sqrt(100.25)).pdf(5.0))
    return model, log_ml, lambda idata: np.abs((idata.posterior["x"].values > 0).mean(axis=1) - 0.7).max()


def conjugate_normal() -> tuple:
    data = np.random.default_rng(0).normal(1.0, 1.5, size=25)
    with mg.Model() as model:
        mu = mg.Normal("mu", 0.5, 3.0)
        mg.Normal("y", mu, 1.5, observed=data)
    covariance = 9.0 * np.ones((25, 25)) + 2.25 * np.eye(25)
    return model, stats.multivariate_normal(np.full(25, 0.5), covariance).logpdf(data), None


def beta_binomial() -> tuple:
    with mg.Model() as model:
        p = mg.Beta("p", 2.0, 3.0)
        mg.Binomial("k", 40, p, observed=29)
    log_ml = np.log(special.comb(40, 29)) + special.betaln(31.0, 14.0) - special.betaln(2.0, 3.0)
    return model, log_ml, None


TARGETS = {"two_modes": two_modes, "conjugate_normal": conjugate_normal, "beta_binomial": beta_binomial}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--kernel", default="imh", choices=["imh", "hmc"])
    arguments = parser.parse_args()
    print(f"draws={arguments.draws} chains={arguments.chains} kernel={arguments.kernel}")
    print(f"{'target':18} {'seed':>4} {'wall_s':>7} {'compile_s':>9} {'stages':>6} "
          f"{'logml_err':>9} {'logml_sd':>8} {'weight_err':>10}")
    for name, build in TARGETS.items():
        model, log_ml, weight_error = build()
        settings = {"draws": arguments.draws, "chains": arguments.chains, "kernel": arguments.kernel,
                    "model": model, "progressbar": False}
        first = mg.sample_smc(random_seed=0, **settings)  # compiles
        for seed in arguments.seeds:
            began = time.perf_counter()
            idata = mg.sample_smc(random_seed=seed, **settings)
            wall = time.perf_counter() - began
            estimates = idata.sample_stats["log_marginal_likelihood"].values
            weight = "-" if weight_error is None else f"{weight_error(idata):.4f}"
            print(f"{name:18} {seed:4d} {wall:7.2f} {first.posterior.attrs['compile_time']:9.2f} "
                  f"{int(idata.sample_stats['n_stages'].max()):6d} {np.abs(estimates - log_ml).max():9.4f} "
                  f"{estimates.std():8.4f} {weight:>10}", flush=True)


if __name__ == "__main__":
    main()
