"""ESS per second of the latent-index mixture model against the hand-written Mixture.

The latent-index model writes ``y ~ Normal(mu[z], sigma)`` with
``z ~ Categorical``; mixgraph sums ``z`` out before compiling and draws it back
after sampling. The Mixture model writes the same density with
``NormalMixture``. Both are run twice (the second, warm-cache run is shown);
ESS/s divides the smallest bulk ESS of the continuous parameters by the wall
time of the whole ``sample()`` call; ``sample_s`` and ``ESS/s (sampling)``
leave compilation (and, for the latent model, the recovery of ``z``) out.

``us/grad`` is one compiled log-density and gradient, called from a Numba loop
(the best of 15 batches of 2000 calls, at one point): it shows whether the
marginal graph does more work than the Mixture's. ``after_s`` is the wall
time outside compilation and sampling: for the latent model, mostly the
recovery of ``z`` at every draw.

Run: ``python benchmarks/latent_index.py`` (4 chains, 1000 tune, 1000 draws).
"""

from __future__ import annotations

import time

import arviz as az
import numba
import numpy as np

import mixgraph as mg

__all__ = ["latent_index_model", "mixture_model", "measure", "gradient_cost"]

RNG = np.random.default_rng(0)
DATA = np.r_[RNG.normal(-2.0, 1.0, 300), RNG.normal(2.0, 1.0, 200)]
PARAMETERS = ["hyper_mu", "hyper_sigma", "mu", "sigma"]


def _priors():
    hyper_mu = mg.Normal("hyper_mu", 0, 10)
    hyper_sigma = mg.HalfNormal("hyper_sigma", 5)
    mu = mg.Normal("mu", hyper_mu, hyper_sigma, shape=2, transform=mg.transforms.ordered,
                   initval=np.array([-1.0, 1.0]))
    sigma = mg.HalfNormal("sigma", 2)
    return mu, sigma


def latent_index_model() -> mg.Model:
    with mg.Model() as model:
        mu, sigma = _priors()
        z = mg.Categorical("z", p=[0.5, 0.5], shape=len(DATA))
        mg.Normal("y", mu=mu[z], sigma=sigma, observed=DATA)
    return model


def mixture_model() -> mg.Model:
    with mg.Model() as model:
        mu, sigma = _priors()
        mg.NormalMixture("y", w=[0.5, 0.5], mu=mu, sigma=sigma, observed=DATA)
    return model


def measure(model: mg.Model, seed: int) -> dict:
    began = time.perf_counter()
    idata = mg.sample(model=model, draws=1000, tune=1000, chains=4, random_seed=seed, progressbar=False,
                      compute_convergence_checks=False)
    wall = time.perf_counter() - began
    ess = az.ess(idata, var_names=PARAMETERS)
    minimum = min(float(ess[name].min()) for name in PARAMETERS)
    sampling = float(idata.posterior.attrs["sampling_time"])
    after = wall - sampling - float(idata.posterior.attrs["compile_time"])
    return {"wall_s": wall, "sample_s": sampling, "after_s": after, "min_ess": minimum, "ess_per_s": minimum / wall,
            "ess_per_sampling_s": minimum / sampling}


@numba.njit
def _call_repeatedly(logp_fn, position, gradient, float_data, int_data, count):
    total = 0.0
    for _ in range(count):
        total += logp_fn(position, gradient, float_data, int_data)
    return total


def gradient_cost(model: mg.Model, batches: int = 15, calls: int = 2000) -> float:
    """Microseconds per compiled log-density and gradient (the best batch)."""
    from mixgraph.compile import compile_numba_logp, flat_layout

    model = mg.marginalize(model)
    point = model.initial_point()
    layout = flat_layout(point, [value.name for value in model.value_vars])
    compiled = compile_numba_logp(model, layout)
    position = np.random.default_rng(0).normal(size=layout.size) * 0.3
    gradient = np.zeros(layout.size)
    arguments = (compiled.logp_fn, position, gradient, compiled.float_data, compiled.int_data)
    _call_repeatedly(*arguments, 2)
    best = np.inf
    for _ in range(batches):
        began = time.perf_counter()
        _call_repeatedly(*arguments, calls)
        best = min(best, (time.perf_counter() - began) / calls * 1e6)
    return best


def main() -> None:
    results = {}
    for name, build in (("latent_index", latent_index_model), ("mixture", mixture_model)):
        model = build()
        measure(model, seed=1)  # compile and warm the caches
        results[name] = measure(model, seed=2)
        results[name]["us_per_grad"] = gradient_cost(model)
    print(f"{'model':14s} {'wall_s':>7s} {'sample_s':>8s} {'after_s':>7s} {'us/grad':>7s} {'minESS':>7s} "
          f"{'ESS/s':>8s} {'ESS/s (sampling)':>17s}")
    for name, row in results.items():
        print(f"{name:14s} {row['wall_s']:7.2f} {row['sample_s']:8.2f} {row['after_s']:7.2f} "
              f"{row['us_per_grad']:7.1f} {row['min_ess']:7.0f} {row['ess_per_s']:8.1f} "
              f"{row['ess_per_sampling_s']:17.1f}")
    ratio = results["latent_index"]["ess_per_s"] / results["mixture"]["ess_per_s"]
    sampling_ratio = results["latent_index"]["ess_per_sampling_s"] / results["mixture"]["ess_per_sampling_s"]
    print(f"latent_index / mixture ESS/s: {ratio:.2f} (target >= 0.75); sampling only: {sampling_ratio:.2f}")


if __name__ == "__main__":
    main()
