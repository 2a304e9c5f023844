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
# # Label switching, and how ordered means fix it
#
# A mixture's likelihood does not care what the components are *called*:
# swap the parameters of component 1 and component 2 (means, scales and
# weights together) and every observation has exactly the same density. With
# exchangeable priors the posterior has the same symmetry, so a `K`-component
# mixture has `K!` identical copies of every posterior mode, one per
# labelling.
#
# For a sampler this means:
#
# * different chains can settle in different labellings (one chain calls the
#   left cluster "component 0", another calls it "component 1");
# * a single chain can jump between labellings if the clusters overlap.
#
# Either way, pooled summaries such as "the posterior mean of `mu[0]`" become
# averages of two different clusters, and R-hat rightly reports that the
# chains disagree. This tutorial shows the problem on simulated data, and the
# standard fix: constrain the means to be ordered.

# %%
import os
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
except NameError:  # running as a notebook
    _HERE = Path.cwd()
FIGURES_DIR = Path(os.environ.get("MIXGRAPH_FIGURES", _HERE / "figures"))
FIGURES_DIR.mkdir(parents=True, exist_ok=True)

DRAWS = 100 if QUICK else 1000
TUNE = 100 if QUICK else 1000
CHAINS = 4  # label switching between chains needs several chains, even in quick mode
SEED = 20261122

FIGURES = (
    "label_switching_data.png",
    "label_switching_trace_unordered.png",
    "label_switching_trace_ordered.png",
    "label_switching_posterior.png",
)

# %% [markdown]
# ## Simulated data
#
# 200 draws from `0.4 Normal(-1.5, 1) + 0.6 Normal(1.5, 1)`: two clusters
# that overlap enough for the labels to matter, and whose true parameters we
# know.

# %%
TRUE_WEIGHTS = np.array([0.4, 0.6])
TRUE_MEANS = np.array([-1.5, 1.5])
TRUE_SIGMA = 1.0
rng = np.random.default_rng(SEED)
labels = rng.choice(2, size=200, p=TRUE_WEIGHTS)
y = rng.normal(TRUE_MEANS[labels], TRUE_SIGMA)
print(f"{len(y)} observations; {np.bincount(labels).tolist()} from the two true components")

figure, axis = plt.subplots(figsize=(7, 3.5))
axis.hist(y, bins=30, color="0.6", edgecolor="white")
for mean in TRUE_MEANS:
    axis.axvline(mean, color="k", ls="--", lw=1)
axis.set_xlabel("y")
axis.set_ylabel("count")
axis.set_title("Simulated data; dashed lines: the true component means")
figure.tight_layout()
figure.savefig(FIGURES_DIR / "label_switching_data.png", dpi=110)
plt.close(figure)

# %% [markdown]
# ## A mixture with exchangeable components
#
# Both means get the same prior, `Normal(0, 3)`, and nothing else tells them
# apart. `mg.sample` starts each chain from a slightly jittered initial
# point, so the chains pick their labelling more or less at random.

# %%
def mixture_model(ordered: bool) -> mg.Model:
    """Two-component Normal mixture; with ``ordered=True`` the means are sorted."""
    with mg.Model(coords={"component": [0, 1]}) as model:
        weights = mg.Dirichlet("w", a=np.ones(2), dims="component")
        if ordered:
            means = mg.Normal("mu", mu=0.0, sigma=3.0, dims="component",
                              transform=mg.transforms.ordered, initval=np.array([-1.0, 1.0]))
        else:
            means = mg.Normal("mu", mu=0.0, sigma=3.0, dims="component")
        sigmas = mg.HalfNormal("sigma", sigma=2.0, dims="component")
        mg.NormalMixture("y", w=weights, mu=means, sigma=sigmas, observed=y)
    return model


def report(name: str, idata) -> float:
    """Print R-hat and the per-chain means of ``mu``; return the largest R-hat."""
    rhat = az.rhat(idata, var_names=["w", "mu", "sigma"])
    largest = float(rhat.to_array().max())
    per_chain = idata.posterior["mu"].mean("draw").values
    print(f"{name}: R-hat of mu {np.round(rhat['mu'].values, 3).tolist()}, "
          f"largest R-hat {largest:.3f}")
    for chain, means in enumerate(per_chain):
        print(f"    chain {chain}: mean of mu = {np.round(means, 2).tolist()}")
    return largest


unordered_model = mixture_model(ordered=False)
unordered = mg.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=SEED, progressbar=False,
                      model=unordered_model)
rhat_unordered = report("without ordering", unordered)

# %% [markdown]
# Look at the per-chain means printed above: some chains put the left
# cluster in `mu[0]`, others in `mu[1]`. Each chain is a perfectly good
# exploration of *one* copy of the posterior; pooled, they average the two
# clusters, and R-hat (which compares between-chain with within-chain
# variance) is far above 1.01. (In a full run, chain 0 has the left
# cluster in `mu[0]` and chains 1 to 3 have it in `mu[1]`; R-hat is about
# 1.5.) Here the clusters are far enough apart that no chain switches
# labels midway; with more overlap, single chains would jump too.
#
# `az.plot_trace` with `compact=False` and a legend draws one panel per
# entry and one colour per chain: the traces of `mu[0]` sit at two levels.

# %%
axes = az.plot_trace(unordered, var_names=["mu"], compact=False, legend=True, figsize=(10, 5))
for row in axes:
    row[0].set_ylabel("density")
    row[0].set_xlabel("mu")
    row[1].set_xlabel("draw")
axes[0, 0].figure.suptitle(f"Without ordering: chains disagree on the labels (max R-hat {rhat_unordered:.2f})")
axes[0, 0].figure.tight_layout()
axes[0, 0].figure.savefig(FIGURES_DIR / "label_switching_trace_unordered.png", dpi=110)
plt.close(axes[0, 0].figure)

# %% [markdown]
# ## The fix: ordered means
#
# `transform=mg.transforms.ordered` samples `mu` through an unconstrained
# vector whose first entry is `mu[0]` and whose other entries are the logs of
# the gaps `mu[k] - mu[k-1]`. The means are then always sorted, which keeps
# exactly one of the two labellings: component 0 is *by definition* the
# left one. Its log-Jacobian is added to the log-density for you.
#
# The starting point must itself be sorted. The default starting point of a
# `Normal` is its prior mean, here `[0, 0]`, which has no gap; mixgraph then
# starts at `[-0.5, 0.5]`. Here `initval` gives a start of our own.
#
# Ordering is not the only identifying constraint (one could order the
# weights or the scales instead), but ordering the means is the natural one
# when the clusters differ in location.

# %%
ordered_model = mixture_model(ordered=True)
ordered = mg.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=SEED, progressbar=False,
                    model=ordered_model)
rhat_ordered = report("with ordered means", ordered)
print(az.summary(ordered, var_names=["w", "mu", "sigma"], round_to=2).to_string())
print(f"truth: w {TRUE_WEIGHTS.tolist()}, mu {TRUE_MEANS.tolist()}, sigma {TRUE_SIGMA}")

axes = az.plot_trace(ordered, var_names=["mu"], compact=False, legend=True, figsize=(10, 5))
for row in axes:
    row[0].set_ylabel("density")
    row[0].set_xlabel("mu")
    row[1].set_xlabel("draw")
axes[0, 0].figure.suptitle(f"With ordered means: the chains agree (max R-hat {rhat_ordered:.2f})")
axes[0, 0].figure.tight_layout()
axes[0, 0].figure.savefig(FIGURES_DIR / "label_switching_trace_ordered.png", dpi=110)
plt.close(axes[0, 0].figure)

# %% [markdown]
# ## Before and after, side by side
#
# `az.plot_posterior` of the pooled draws of `mu[0]`: without ordering the
# pooled posterior is bimodal, one bump per labelling; with ordering it is a
# single bump around the true value of the left cluster.

# %%
figure, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharex=True)
az.plot_posterior(unordered, var_names=["mu"], coords={"component": [0]}, ax=axes[0], ref_val=TRUE_MEANS[0],
                  hdi_prob=0.94)
az.plot_posterior(ordered, var_names=["mu"], coords={"component": [0]}, ax=axes[1], ref_val=TRUE_MEANS[0],
                  hdi_prob=0.94)
axes[0].set_title("mu[0], without ordering (all chains pooled)")
axes[1].set_title("mu[0], with ordered means")
for axis in axes:
    axis.set_xlabel("mu[0]  (reference line: true left mean)")
figure.tight_layout()
figure.savefig(FIGURES_DIR / "label_switching_posterior.png", dpi=110)
plt.close(figure)

# %% [markdown]
# ## Summary
#
# * Label switching is not a sampler bug: the posterior really is symmetric,
#   and R-hat is right to complain about pooled, unlabelled components.
# * Quantities that do not depend on labels (the mixture density, the
#   log-likelihood, LOO) are unaffected; per-component summaries are not.
# * `transform=mg.transforms.ordered` removes the
#   symmetry when the components differ in location. When two components
#   have nearly the same mean, ordering by the mean is a weak constraint and
#   the posterior can still be awkward; the galaxies tutorial shows a case.

# %%
print(f"largest R-hat: {rhat_unordered:.3f} without ordering, {rhat_ordered:.3f} with ordered means")
print("figures:", ", ".join(str(FIGURES_DIR / name) for name in FIGURES))
