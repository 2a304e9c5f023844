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
# # Choosing the number of components by marginal likelihood (SMC), beside LOO
#
# The `galaxies` tutorial compares Normal mixtures of the 82 galaxy velocities
# by leave-one-out cross-validation (LOO). Here we ask the Bayesian question
# directly: how probable is each number of components `K`, given the data?
# That needs each model's marginal likelihood
# $p(y \mid K) = \int p(y \mid \theta, K)\, p(\theta \mid K)\, d\theta$,
# which `mg.sample_smc()` estimates while it samples.
#
# Sequential Monte Carlo starts from prior draws and tempers the likelihood in
# step by step, so it also copes with the `K!` relabelled modes of a mixture
# whose components are exchangeable: we write the means *unordered* here (an
# `ordered` transform would keep only the prior draws that happen to be
# sorted, see `docs/guide/smc.md`).
#
# Quick mode (`MIXGRAPH_QUICK=1`, used by the test suite) fits `K = 1, 2`
# with few particles; its numbers are a smoke test, not results.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from scipy import special, stats

import mixgraph as mg

QUICK = os.environ.get("MIXGRAPH_QUICK") == "1"
try:
    _HERE = Path(__file__).parent
except NameError:  # running as a notebook
    _HERE = Path.cwd()
FIGURES_DIR = Path(os.environ.get("MIXGRAPH_FIGURES", _HERE / "figures"))
FIGURES_DIR.mkdir(parents=True, exist_ok=True)

COMPONENT_COUNTS = (1, 2) if QUICK else (1, 2, 3, 4)
DRAWS = 300 if QUICK else 1000
CHAINS = 2
SEED = 1

FIGURES = ("choosing_k_evidence.png", "choosing_k_density.png")

velocities = mg.datasets.load_galaxies()
print(f"{len(velocities)} galaxies, velocity {velocities.min():.1f} to {velocities.max():.1f} (1000 km/s)")

# %% [markdown]
# ## The models
#
# As in the `galaxies` tutorial, with exchangeable components:
#
# $$
# w \sim \operatorname{Dirichlet}(1, \dots, 1), \quad
# \mu_k \sim \operatorname{Normal}(20, 10), \quad
# \sigma_k \sim \operatorname{HalfNormal}(2), \quad
# y_n \sim \textstyle\sum_k w_k \operatorname{Normal}(\mu_k, \sigma_k).
# $$
#
# `K = 1` is a single Normal. The marginal likelihood depends on these priors
# (a wider prior on the means lowers it, and more so for larger `K`), so it
# answers "which `K`, *under these priors*"; LOO, which asks how well each
# model predicts a new galaxy, hardly depends on them.

# %%
def mixture_model(components: int) -> mg.Model:
    """A `components`-component Normal mixture with exchangeable components."""
    with mg.Model() as model:
        if components == 1:
            mean = mg.Normal("mu", 20.0, 10.0)
            scale = mg.HalfNormal("sigma", 2.0)
            mg.Normal("velocity", mean, scale, observed=velocities)
            return model
        weights = mg.Dirichlet("w", a=np.ones(components))
        means = mg.Normal("mu", 20.0, 10.0, shape=components)
        scales = mg.HalfNormal("sigma", 2.0, shape=components)
        mg.NormalMixture("velocity", w=weights, mu=means, sigma=scales, observed=velocities)
    return model


# %% [markdown]
# ## SMC for every K
#
# Each of the `CHAINS` runs is an independent SMC with `DRAWS` particles; the
# spread of their `log_marginal_likelihood` is its Monte Carlo error. The
# element-wise log-likelihood (`idata_kwargs={"log_likelihood": True}`) gives
# LOO from the same particles.

# %%
fits = {}
for components in COMPONENT_COUNTS:
    fits[components] = mg.sample_smc(
        draws=DRAWS, chains=CHAINS, model=mixture_model(components), random_seed=SEED,
        progressbar=False, idata_kwargs={"log_likelihood": True},
    )

log_ml = {K: fit.sample_stats["log_marginal_likelihood"].values for K, fit in fits.items()}
loo = {K: az.loo(fit) for K, fit in fits.items()}
# With equal prior probabilities on the values of K, p(K | y) is proportional to p(y | K).
means = np.array([log_ml[K].mean() for K in COMPONENT_COUNTS])
probabilities = special.softmax(means)
print(f"{'K':>2} {'log p(y|K)':>11} {'run spread':>10} {'p(K|y)':>7} {'elpd_loo':>9} {'se':>5} {'stages':>6}")
for index, K in enumerate(COMPONENT_COUNTS):
    print(f"{K:>2} {means[index]:11.2f} {log_ml[K].std():10.2f} {probabilities[index]:7.3f} "
          f"{loo[K].elpd_loo:9.2f} {loo[K].se:5.2f} {int(fits[K].sample_stats['n_stages'].max()):6d}")

# %% [markdown]
# ## Evidence and LOO side by side

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
for K in COMPONENT_COUNTS:
    left.plot(np.full(CHAINS, K), log_ml[K], "o", color="C0", alpha=0.6)
left.plot(COMPONENT_COUNTS, means, "-", color="C0")
left.set_xlabel("number of components K")
left.set_ylabel("log marginal likelihood (one dot per SMC run)")
left.set_xticks(COMPONENT_COUNTS)
right.errorbar(COMPONENT_COUNTS, [loo[K].elpd_loo for K in COMPONENT_COUNTS],
               yerr=[loo[K].se for K in COMPONENT_COUNTS], fmt="o-", color="C1", capsize=3)
right.set_xlabel("number of components K")
right.set_ylabel("elpd_loo (± standard error)")
right.set_xticks(COMPONENT_COUNTS)
figure.suptitle("Galaxies: which K? Marginal likelihood (SMC) and LOO")
figure.tight_layout()
figure.savefig(FIGURES_DIR / "choosing_k_evidence.png", dpi=110)
plt.close(figure)

# %% [markdown]
# ## The most probable K over the data
#
# The posterior predictive density of the `K` with the highest marginal
# likelihood, averaged over its particles (the components' labels do not
# matter for the density, so the relabelled modes do no harm here).

# %%
best = COMPONENT_COUNTS[int(np.argmax(means))]
posterior = fits[best].posterior
grid = np.linspace(velocities.min() - 3, velocities.max() + 3, 400)
mu = posterior["mu"].values.reshape(-1, best)
sigma = posterior["sigma"].values.reshape(-1, best)
weights = np.ones_like(mu) if best == 1 else posterior["w"].values.reshape(-1, best)
densities = (weights[:, None, :] * stats.norm.pdf(grid[None, :, None], mu[:, None, :], sigma[:, None, :])).sum(-1)
figure, axis = plt.subplots(figsize=(7, 3.5))
axis.hist(velocities, bins=30, density=True, color="0.75", edgecolor="white")
axis.plot(grid, densities.mean(axis=0), color="C0", label=f"K = {best}: posterior mean density")
axis.fill_between(grid, *np.percentile(densities, [5, 95], axis=0), color="C0", alpha=0.25, label="90% band")
axis.set_xlabel("radial velocity (1000 km/s)")
axis.set_ylabel("density")
axis.legend()
figure.tight_layout()
figure.savefig(FIGURES_DIR / "choosing_k_density.png", dpi=110)
plt.close(figure)
print(f"most probable K under these priors: {best} (p = {probabilities.max():.3f})")

# %% [markdown]
# ## What to take from it
#
# Run it in full (`python tutorials/choosing_k.py`) for the numbers of
# `docs/tutorials.md`. Check the run spread before reading differences of
# log marginal likelihood: a difference smaller than the spread means
# nothing. Where the marginal likelihood and LOO disagree, they answer
# different questions: the first weighs the prior's spread over parameters
# that a larger `K` adds (an automatic Occam factor), the second only
# predictive accuracy.
