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
# # Regime switching: a hidden Markov model
#
# A series that alternates between a calm regime and a turbulent one (returns
# of a market, the activity of a machine, a patient's state) is described by a
# *hidden Markov model*: an unobserved state `z[t]` in `{0, 1}` follows a
# Markov chain with transition matrix `P`, and each observation depends on
# the state of its time only, here
# $y_t \sim \mathrm{Normal}(\mu_{z_t}, \sigma_{z_t})$.
#
# In mixgraph the model is written as it is generated, with the state
# sequence as a `DiscreteMarkovChain`. `mg.sample` sums the chain out of the
# log-density with the forward algorithm (one compiled op, its gradient by
# the backward recursion), samples the continuous parameters with NUTS, and
# draws the state paths back afterwards by forward filtering, backward
# sampling. This tutorial
#
# 1. simulates a two-regime series of 300 observations;
# 2. fits the HMM, with Dirichlet priors on the rows of `P`;
# 3. plots the posterior probability of the turbulent regime over time,
#    against the true regimes.

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
FIGURES = ("regime_switching_data.png", "regime_switching_states.png")
started = time.perf_counter()

# %% [markdown]
# ## Simulated data
#
# The calm regime (state 0) has mean 0.5 and scale 0.5, the turbulent one
# (state 1) mean -1 and scale 1.5. Regimes persist: the chain stays in the
# calm state with probability 0.97 and in the turbulent one with 0.9.

# %%
rng = np.random.default_rng(7)
steps = 300
true_P = np.array([[0.97, 0.03], [0.10, 0.90]])
true_mu, true_sigma = np.array([0.5, -1.0]), np.array([0.5, 1.5])
regimes = [0]
for _ in range(steps - 1):
    regimes.append(rng.choice(2, p=true_P[regimes[-1]]))
regimes = np.array(regimes)
y_obs = rng.normal(true_mu[regimes], true_sigma[regimes])
print(f"{steps} observations, {int(regimes.sum())} in the turbulent regime, "
      f"{int(np.sum(np.diff(regimes) != 0))} switches")

fig, ax = plt.subplots(figsize=(10, 3))
ax.plot(y_obs, color="k", lw=0.8)
ax.fill_between(np.arange(steps), y_obs.min(), y_obs.max(), where=regimes == 1, color="C3", alpha=0.2,
                label="turbulent regime (true)")
ax.set(xlabel="time t", ylabel="y", title="Simulated two-regime series")
ax.legend(loc="lower left")
fig.tight_layout()
fig.savefig(FIGURES_DIR / "regime_switching_data.png", dpi=100)
plt.close(fig)

# %% [markdown]
# ## The model
#
# Each row of `P` gets a Dirichlet prior; `mg.Dirichlet("P", a=...)` with
# `a` of shape (2, 2) gives two independent rows. The regimes are told apart
# by their scales: the log-scales are *ordered* (state 0, calm, has the
# smaller one), which removes the label switching of the two states.
# (Ordering the means instead would leave a second mode, in which the wide
# state must sit above the narrow one.) `init_dist` is the distribution of
# the first state.

# %%
states = ["calm", "turbulent"]
coords = {"time": np.arange(steps), "state": states, "from_state": states, "to_state": states}
with mg.Model(coords=coords) as hmm:
    P = mg.Dirichlet("P", a=np.array([[8.0, 1.0], [1.0, 8.0]]), dims=("from_state", "to_state"))
    mu = mg.Normal("mu", mu=0.0, sigma=2.0, dims="state")
    log_sigma = mg.Normal("log_sigma", mu=[-0.5, 0.5], sigma=1.0, dims="state", transform=mg.transforms.ordered)
    sigma = mg.Deterministic("sigma", mg.math.exp(log_sigma), dims="state")  # calm (smaller scale) first
    z = mg.DiscreteMarkovChain("z", P=P, init_dist=mg.Categorical.dist(p=[0.5, 0.5]), dims="time")
    mg.Normal("y", mu=mu[z], sigma=sigma[z], observed=y_obs, dims="time")

# %% [markdown]
# ## Sampling
#
# `z` is discrete, so NUTS cannot move it; `mg.sample` sums it out instead.
# `idata_kwargs={"marginal_logp": True}` also stores, per draw, the log of
# the smoothed state probabilities `p(z[t] = k | y, parameters)` as `lp_z`.

# %%
with hmm:
    idata = mg.sample(**SAMPLE_KWARGS, random_seed=3, progressbar=False, idata_kwargs={"marginal_logp": True},
                      compute_convergence_checks=not QUICK)
print(f"compiled in {idata.posterior.attrs['compile_time']:.1f} s, sampled in "
      f"{idata.posterior.attrs['sampling_time']:.1f} s; divergences: {int(idata.sample_stats['diverging'].sum())}")
summary = az.summary(idata, var_names=["P", "mu", "sigma"], kind="stats")
print(summary.round(3))
rhat = float(az.rhat(idata, var_names=["P", "mu", "sigma"]).to_array().max())
print(f"largest R-hat: {rhat:.3f}")
print("true P:", true_P.tolist(), " true mu:", true_mu.tolist(), " true sigma:", true_sigma.tolist())

# %% [markdown]
# ## Posterior state probabilities over time
#
# Averaging the smoothed probabilities over the posterior draws gives
# `p(z[t] = turbulent | y)`, which accounts for the uncertainty in the
# parameters. The recovered paths `z` (integer draws in the posterior) give
# the same curve by their frequencies, and the most probable regime at each
# time classifies the observations.

# %%
turbulent = np.exp(idata.posterior["lp_z"].isel(lp_z_dim=1)).mean(("chain", "draw")).values
from_paths = (idata.posterior["z"] == 1).mean(("chain", "draw")).values
accuracy = float(np.mean((turbulent > 0.5) == (regimes == 1)))
print(f"regimes classified correctly: {accuracy:.1%}; largest gap between the smoothed probabilities and the "
      f"path frequencies: {np.max(np.abs(turbulent - from_paths)):.3f}")

fig, (ax_series, ax_states) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
ax_series.plot(y_obs, color="k", lw=0.8)
ax_series.set(ylabel="y", title="Series and posterior probability of the turbulent regime")
ax_states.fill_between(np.arange(steps), 0, regimes, step="mid", color="C3", alpha=0.2, label="true regime")
ax_states.plot(turbulent, color="C0", label="p(turbulent | y)")
ax_states.plot(from_paths, color="C1", lw=0.8, ls="--", label="frequency in the recovered paths")
ax_states.set(xlabel="time t", ylabel="probability", ylim=(-0.02, 1.02))
ax_states.legend(loc="upper right")
fig.tight_layout()
fig.savefig(FIGURES_DIR / "regime_switching_states.png", dpi=100)
plt.close(fig)

# %% [markdown]
# ## Log-likelihood per time step
#
# The observations of an HMM depend on each other through the chain, so
# `mg.compute_log_likelihood` gives the sequential decomposition: the
# one-step-ahead predictive log-densities `log p(y[t] | y[0..t-1], parameters)`,
# one per time step, which sum to the marginal log-likelihood. PSIS-LOO on
# them (below) is an approximation for dependent data; leave-future-out
# cross-validation (Bürkner, Gabry and Vehtari 2020) is the exact sequential
# view, built from the same terms.

# %%
mg.compute_log_likelihood(idata, model=hmm)
steps_total = idata.log_likelihood["y"].sum("time")
print(f"posterior mean of the marginal log-likelihood (sum over time): {float(steps_total.mean()):.1f}")
print(az.loo(idata))
print(f"tutorial ran in {time.perf_counter() - started:.0f} s")
