# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A mixture written with its component index
#
# The generative way to write a two-component mixture draws a component index
# `z[i]` for every observation and then the observation from that component:
#
# ```python
# z = mg.Categorical("z", p=[0.5, 0.5], shape=len(y))
# mg.Normal("y", mu=mu[z], sigma=sigma, observed=y)
# ```
#
# NUTS cannot move a discrete `z`. mixgraph sums it out of the log-density
# before compiling (a log-sum-exp over its two values, element by element,
# so the cost is `2 × N`), samples the continuous parameters with NUTS, and
# then draws `z` from its exact conditional posterior `p(z | θ, y)` at every
# posterior draw. Nothing extra is written: `mg.sample()` does it all.
#
# This tutorial
#
# 1. simulates 200 observations from two Normal components;
# 2. fits the latent-index model above (with hierarchical priors on the means);
# 3. fits the same density written as a `NormalMixture`;
# 4. compares the two: the posteriors of the parameters, and the frequency
#    with which each observation was assigned to the upper component against
#    the Mixture form's `component_probabilities`.

# %%
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import arviz as az
import matplotlib.pyplot as plt
import numpy as np

import mixgraph as mg

QUICK = os.environ.get("MIXGRAPH_QUICK") == "1"
try:
    _HERE = Path(__file__).parent
except NameError:  # run as a notebook: no __file__
    _HERE = Path.cwd()
FIGURES_DIR = Path(os.environ.get("MIXGRAPH_FIGURES", _HERE / "figures"))
FIGURES_DIR.mkdir(parents=True, exist_ok=True)

# quick mode (used by the test suite) keeps the run short; the full run gives stable numbers
SAMPLE_KWARGS = dict(draws=100, tune=100, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
SAMPLE_KWARGS["target_accept"] = 0.95
FIGURES = ("latent_index_assignments.png", "latent_index_against_mixture.png")
started = time.perf_counter()

# %% [markdown]
# ## Simulated data
#
# 120 observations from Normal(-1.5, 1) and 80 from Normal(2, 1): the two
# components overlap, so observations near 0 have uncertain assignments.

# %%
rng = np.random.default_rng(12)
true_z = np.r_[np.zeros(120, dtype=int), np.ones(80, dtype=int)]
y = np.where(true_z == 0, rng.normal(-1.5, 1.0, true_z.size), rng.normal(2.0, 1.0, true_z.size))
print(f"observations: {y.size}; true component sizes: {np.bincount(true_z)}")

# %% [markdown]
# ## The latent-index model
#
# The means are ordered (`transform=mg.transforms.ordered`), so that
# component 0 is always the lower one and the labels cannot switch between
# chains. A hierarchical prior over only two means is a funnel in
# `(hyper_sigma, mu)`; at the default `target_accept=0.8` both forms below
# have about a dozen divergences in 4000 draws, so both use 0.95.

# %%
coords = {"obs": np.arange(y.size), "component": ["low", "high"]}


def priors():
    hyper_mu = mg.Normal("hyper_mu", 0, 10)
    hyper_sigma = mg.HalfNormal("hyper_sigma", 5)
    mu = mg.Normal("mu", hyper_mu, hyper_sigma, dims="component", transform=mg.transforms.ordered,
                   initval=np.array([-1.0, 1.0]))
    sigma = mg.HalfNormal("sigma", 2)
    return mu, sigma


with mg.Model(coords=coords) as latent_model:
    mu, sigma = priors()
    z = mg.Categorical("z", p=[0.5, 0.5], dims="obs")
    mg.Normal("y", mu=mu[z], sigma=sigma, observed=y, dims="obs")
    latent_idata = mg.sample(random_seed=1, progressbar=False, **SAMPLE_KWARGS)

print(az.summary(latent_idata, var_names=["hyper_mu", "hyper_sigma", "mu", "sigma"], kind="stats").round(2))
print("z in the posterior:", latent_idata.posterior["z"].dims, latent_idata.posterior["z"].dtype)

# %% [markdown]
# ## The Mixture form
#
# The same density, with the index summed out by hand: a `NormalMixture`.

# %%
with mg.Model(coords=coords) as mixture_model:
    mu, sigma = priors()
    mg.NormalMixture("y", w=[0.5, 0.5], mu=mu, sigma=sigma, observed=y, dims="obs")
    mixture_idata = mg.sample(random_seed=2, progressbar=False, **SAMPLE_KWARGS)

for name in ("mu", "sigma"):
    latent_mean = latent_idata.posterior[name].mean(("chain", "draw")).values
    mixture_mean = mixture_idata.posterior[name].mean(("chain", "draw")).values
    print(f"posterior mean of {name}: latent-index {np.round(latent_mean, 3)}, Mixture {np.round(mixture_mean, 3)}")

# %% [markdown]
# ## Recovered assignments against the Mixture's membership probabilities
#
# The posterior frequency of `z[i] = 1` (the share of draws that put
# observation `i` in the upper component) estimates
# `P(z[i] = 1 | y)`. The Mixture form gives the same probability, averaged
# over its draws, through `mg.component_probabilities`. The two agree up to
# Monte Carlo error.

# %%
frequency = latent_idata.posterior["z"].mean(("chain", "draw")).values
membership = mg.component_probabilities(mixture_idata, "y", model=mixture_model, component_dim="component")
mixture_probability = membership.sel(component="high").mean(("chain", "draw")).values
largest = np.max(np.abs(frequency - mixture_probability))
agreement = np.mean((frequency > 0.5) == (true_z == 1))
print(f"largest |frequency - Mixture probability| over the {y.size} observations: {largest:.3f}")
print(f"observations assigned to their true component (frequency > 0.5): {agreement:.1%}")

# %%
order = np.argsort(y)
fig, ax = plt.subplots(figsize=(9, 4))
ax.scatter(y[order], frequency[order], s=14, label="latent-index: frequency of z = 1 in the draws")
ax.plot(y[order], mixture_probability[order], color="C3", label="Mixture: mean of component_probabilities")
ax.scatter(y, -0.06 + 0.02 * true_z, s=6, color="k", marker="|", label="true component (0 lower, 1 upper row)")
ax.set(xlabel="y", ylabel="P(upper component)", title="Recovered assignments along the data")
ax.legend(loc="center left", fontsize=8)
fig.tight_layout()
fig.savefig(FIGURES_DIR / "latent_index_assignments.png", dpi=100)

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.plot([0, 1], [0, 1], color="grey", lw=1)
ax.scatter(mixture_probability, frequency, s=12)
ax.set(xlabel="Mixture: component_probabilities", ylabel="latent-index: frequency of z = 1",
       title="One point per observation")
fig.tight_layout()
fig.savefig(FIGURES_DIR / "latent_index_against_mixture.png", dpi=100)
print(f"total run time: {time.perf_counter() - started:.1f} s")
