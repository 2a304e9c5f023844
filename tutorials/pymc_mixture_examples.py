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
# # PyMC's `Mixture` examples in mixgraph
#
# PyMC's documentation of `pm.Mixture` gives four small examples. This
# tutorial runs each of them in mixgraph: the code is PyMC's with `pm`
# renamed to `mg` (`import mixgraph as mg`). For every example we build the
# two equivalent ways of passing the components,
#
# * a **list** of `K` unnamed `.dist()` components, and
# * **one batched** `.dist()` component whose *last batch axis* indexes the
#   `K` components,
#
# check that the two models have the same log-density at the same point,
# and look at the shapes of their prior predictive draws. Examples (a) and
# (c) are also fitted with the No-U-Turn sampler.
#
# ## The shape rules
#
# * The weights `w` have shape `(..., K)`: their last axis has one entry per
#   component; leading axes broadcast against the components' batch shape
#   (weights of shape `(K,)` are shared by every mixture element).
# * A **list** of `K` components, each with batch shape `B`, is stacked on a
#   new last axis into `(B..., K)`; a **batched** component already has
#   shape `(B..., K)`. Either way the log-density is
#   `logsumexp(log(w) + component_logp, axis=-1)` and the mixture has shape
#   `(B...)`.
# * **Multivariate** components (a Dirichlet, an MvNormal) keep each draw
#   whole: the mixture axis is the axis *before* the support axes, so a
#   batched component of shape `(B..., K, d)` gives a mixture of shape
#   `(B..., d)`, and every mixture draw is one complete draw of one component.
#
# The figure below, drawn with matplotlib, shows the three cases.

# %%
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

import mixgraph as mg

QUICK = os.environ.get("MIXGRAPH_QUICK") == "1"
try:
    _HERE = Path(__file__).parent
except NameError:  # run as a notebook: no __file__
    _HERE = Path.cwd()
FIGURES_DIR = Path(os.environ.get("MIXGRAPH_FIGURES", _HERE / "figures"))
FIGURES_DIR.mkdir(parents=True, exist_ok=True)

SAMPLE_KWARGS = dict(draws=100, tune=100, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
PRIOR_DRAWS = 50 if QUICK else 500
# both forms are fitted in the full run; quick mode (the test suite) fits only the batched form
FORMS_TO_FIT = ("batched",) if QUICK else ("list", "batched")
FIGURES = (
    "mixture_shape_rules.png",
    "mixture_two_poissons_trace.png",
    "mixture_two_poissons_ppc.png",
    "mixture_5x3_normal_posterior.png",
    "mixture_dirichlet_prior.png",
)
started = time.perf_counter()

# %%
COMPONENT_COLORS = ["#4C72B0", "#DD8452", "#55A868"]


def draw_grid(ax, x, y, rows, cols, colors, label, cell=0.45, sublabel=None):
    """An array of rows x cols cells with its lower-left corner at (x, y); colors[c] fills column c."""
    for row in range(rows):
        for col in range(cols):
            ax.add_patch(Rectangle((x + col * cell, y + (rows - 1 - row) * cell), cell, cell,
                                   facecolor=colors[col % len(colors)], edgecolor="black", linewidth=0.8))
    ax.text(x + cols * cell / 2, y + rows * cell + 0.12, label, ha="center", va="bottom", fontsize=10)
    if sublabel:
        ax.text(x + cols * cell / 2, y - 0.12, sublabel, ha="center", va="top", fontsize=8.5, color="0.3")
    return x + cols * cell, y + rows * cell / 2  # right edge, vertical middle


def arrow(ax, start, end, text=None):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=16, linewidth=1.4, color="0.2"))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.15, text, ha="center", va="bottom",
                fontsize=8.5, color="0.2")


def shape_rules_figure(path):
    fig, axes = plt.subplots(3, 1, figsize=(12, 11))
    for ax in axes:
        ax.set_xlim(0, 13)
        ax.set_ylim(-0.6, 3.6)
        ax.set_aspect("equal")
        ax.axis("off")
    blues = [COMPONENT_COLORS[0]]

    # (1) list of K components, each with batch shape B = (5,)
    ax = axes[0]
    ax.set_title("List of K components, each with batch shape B  ->  stacked (B..., K)  ->  mixture (B...)",
                 fontsize=11, loc="left")
    for k in range(3):
        draw_grid(ax, 0.2 + k * 0.9, 0.6, 5, 1, [COMPONENT_COLORS[k]], f"comp {k}",
                  sublabel="each (5,) = B" if k == 1 else None)
    ax.text(1.5, -0.05, "[Normal.dist(mu=mu[k], shape=(5,)) for k in range(3)]", ha="center", fontsize=8.5,
            family="monospace")
    arrow(ax, (2.9, 1.7), (4.3, 1.7), "stack, axis=-1")
    right, middle = draw_grid(ax, 4.4, 0.6, 5, 3, COMPONENT_COLORS, "component logp",
                              sublabel="(5, 3) = (B..., K)")
    draw_grid(ax, 6.9, 0.6, 5, 3, ["0.85"], "weights w", sublabel="(5, 3) = (..., K)")
    ax.text(6.55, middle, "+", ha="center", va="center", fontsize=18)
    arrow(ax, (8.6, middle), (11.2, middle), "logsumexp(log w + logp,\naxis=-1)")
    draw_grid(ax, 11.4, 0.6, 5, 1, ["#8172B3"], "mixture", sublabel="(5,) = (B...)")

    # (2) one batched component whose last batch axis indexes the components
    ax = axes[1]
    ax.set_title("One batched component (B..., K): its last batch axis indexes the components  ->  mixture (B...)",
                 fontsize=11, loc="left")
    right, middle = draw_grid(ax, 1.0, 0.6, 5, 3, COMPONENT_COLORS, "batched component",
                              sublabel="Normal.dist(mu=mu, shape=(5, 3))")
    ax.annotate("K = 3 components\n(last batch axis)", xy=(2.4, 2.7), xytext=(2.9, 3.0), fontsize=8.5,
                va="center", arrowprops=dict(arrowstyle="->", color="0.3"))
    ax.annotate("B = (5,)", xy=(0.95, 1.7), xytext=(0.1, 1.7), fontsize=8.5, va="center", ha="left",
                arrowprops=dict(arrowstyle="->", color="0.3"))
    draw_grid(ax, 4.6, 0.6, 1, 3, ["0.85"], "weights w", sublabel="(3,): shared by all 5")
    arrow(ax, (6.4, middle), (11.2, middle), "logsumexp(log w + logp, axis=-1)")
    draw_grid(ax, 11.4, 0.6, 5, 1, ["#8172B3"], "mixture", sublabel="(5,) = (B...)")

    # (3) multivariate components: the mixture axis is the one before the support axis
    ax = axes[2]
    ax.set_title("Multivariate components (B..., K, d): each draw stays whole  ->  mixture (B..., d)",
                 fontsize=11, loc="left")
    cell = 0.45
    for k in range(2):
        for j in range(3):
            ax.add_patch(Rectangle((1.0 + j * cell, 1.6 - k * cell), cell, cell,
                                   facecolor=COMPONENT_COLORS[k], edgecolor="black", linewidth=0.8))
    ax.text(1.0 + 1.5 * cell, 1.6 + cell + 0.12, "batched Dirichlet", ha="center", va="bottom", fontsize=10)
    ax.text(1.0 + 1.5 * cell, 1.6 - cell - 0.12, "(2, 3) = (K, d), here B = ()", ha="center", va="top", fontsize=8.5,
            color="0.3")
    ax.text(1.0 + 1.5 * cell, 0.55, "Dirichlet.dist(a=[[1, 10, 100],\n                [100, 10, 1]])",
            ha="center", va="top", fontsize=8, family="monospace")
    ax.annotate("row k = one whole\ndraw of component k", xy=(1.0 + 3 * cell, 1.6), xytext=(3.0, 2.6),
                fontsize=8.5, arrowprops=dict(arrowstyle="->", color="0.3"))
    draw_grid(ax, 5.2, 1.4, 1, 2, ["0.85"], "weights w", sublabel="(2,) = (K,)")
    arrow(ax, (6.6, 1.6), (10.6, 1.6), "logsumexp over K of whole-vector logps")
    draw_grid(ax, 10.8, 1.4, 1, 3, ["#8172B3"], "mixture", sublabel="(3,) = (d,)")
    ax.text(11.5, 0.6, "a draw: pick k ~ Categorical(w),\nthen take row k whole", ha="center", va="top",
            fontsize=8.5, color="0.3")

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


shape_rules_figure(FIGURES_DIR / "mixture_shape_rules.png")

# %% [markdown]
# ## A helper: do the list and batched forms agree?
#
# `model.initial_point()` gives a point: a dict of the *unconstrained*
# values of the free variables (`w_simplex__`, `lam1_log__`, ...). Both forms
# of an example name their variables identically, so the same point can be
# passed to each model's `compile_logp()`. We also try a second point, moved
# away from the initial one, so that the agreement is not a coincidence of
# symmetric starting values.

# %%


def compare_logp(label, list_model, batched_model, seed=0):
    point = list_model.initial_point()
    moved = {name: value + np.random.default_rng(seed).normal(scale=0.3, size=np.shape(value))
             for name, value in point.items()}
    # two evaluations each: FAST_COMPILE builds the functions in milliseconds (the default compiles to machine code)
    logp_list_fn = list_model.compile_logp(mode="FAST_COMPILE")
    logp_batched_fn = batched_model.compile_logp(mode="FAST_COMPILE")
    results = []
    for which, at in (("initial point", point), ("moved point", moved)):
        logp_list, logp_batched = logp_list_fn(at), logp_batched_fn(at)
        print(f"{label} logp at the {which}: list {logp_list:.6f}, batched {logp_batched:.6f}, "
              f"difference {abs(logp_list - logp_batched):.1e}")
        results.append(np.isclose(logp_list, logp_batched, rtol=1e-10, atol=1e-8))
    return all(results)


def prior_shapes(label, model, names, seed=0):
    prior = mg.sample_prior_predictive(draws=PRIOR_DRAWS, model=model, random_seed=seed)
    for name in names:
        group = prior.prior_predictive if name in prior.prior_predictive else prior.prior
        print(f"{label}: prior draws of {name!r} have shape {group[name].shape} (chain, draw, ...)")
    return prior


# %% [markdown]
# ## (a) A mixture of two Poissons
#
# Two rates with Exponential(1) priors and Dirichlet weights. In list form
# each component is a scalar Poisson; in batched form one Poisson of
# `shape=(2,)` takes the stacked rates, and `shape=(2,)` says "2 mixture
# components". The data are 300 counts, a third with rate 2 and the rest
# with rate 9.

# %%
rng = np.random.default_rng(1)
poisson_data = np.r_[rng.poisson(2.0, 100), rng.poisson(9.0, 200)]


def two_poissons(batched):
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.array([1, 1]))  # 2 mixture weights
        lam1 = mg.Exponential("lam1", lam=1)
        lam2 = mg.Exponential("lam2", lam=1)
        if batched:
            # `shape=(2,)` indicates 2 mixture components
            components = mg.Poisson.dist(mu=mg.math.stack([lam1, lam2]), shape=(2,))
        else:
            components = [mg.Poisson.dist(mu=lam1), mg.Poisson.dist(mu=lam2)]
        mg.Mixture("like", w=w, comp_dists=components, observed=poisson_data)
    return model


poisson_list, poisson_batched = two_poissons(False), two_poissons(True)
agree_a = compare_logp("(a) two Poissons", poisson_list, poisson_batched)
prior_shapes("(a) list", poisson_list, ["like"])
prior_shapes("(a) batched", poisson_batched, ["w", "like"])

# %% [markdown]
# We fit both forms (quick mode fits only the batched one). The two rates have the same prior, so the posterior has
# two symmetric modes (`lam1` small or `lam2` small: *label switching*).
# Starting every chain at `lam1 = 1, lam2 = 10` keeps them in one mode;
# an ordered transform on one vector of rates (see the README) removes the
# second mode altogether.

# %%
poisson_fits = {}
for seed, (form, model) in enumerate((("list", poisson_list), ("batched", poisson_batched))):
    if form not in FORMS_TO_FIT:
        continue
    with model:
        poisson_fits[form] = mg.sample(**SAMPLE_KWARGS, random_seed=seed, progressbar=False,
                                       initvals={"lam1": 1.0, "lam2": 10.0},
                                       compute_convergence_checks=not QUICK)
for form, idata in poisson_fits.items():
    means = {name: float(idata.posterior[name].mean()) for name in ("lam1", "lam2")}
    w_mean = idata.posterior["w"].mean(("chain", "draw")).values
    print(f"(a) {form:7s}: lam1 {means['lam1']:.2f}, lam2 {means['lam2']:.2f}, "
          f"w {np.round(w_mean, 3)}  (true 2, 9, [0.333 0.667]); compiled in "
          f"{idata.posterior.attrs['compile_time']:.1f} s, sampled in {idata.posterior.attrs['sampling_time']:.1f} s")
print(az.summary(poisson_fits["batched"], round_to=3).to_string())

axes = az.plot_trace(poisson_fits["batched"], figsize=(10, 6))
fig = axes.ravel()[0].figure
fig.suptitle("(a) Two Poissons, batched form: posterior traces")
fig.tight_layout()
fig.savefig(FIGURES_DIR / "mixture_two_poissons_trace.png", dpi=100)
plt.close(fig)

# %% [markdown]
# A posterior predictive check: the cumulative distribution of replicated
# data sets drawn from the fitted mixture against that of the observed
# counts (for counts the cumulative form shows every integer exactly; the two
# steep stretches are the two Poisson components).

# %%
with poisson_batched:
    mg.sample_posterior_predictive(poisson_fits["batched"], random_seed=3, extend_inferencedata=True)
ax = az.plot_ppc(poisson_fits["batched"], kind="cumulative", num_pp_samples=50, random_seed=1, figsize=(8, 4))
ax = np.atleast_1d(ax)[0]
ax.set(title="(a) Two Poissons: posterior predictive check", xlabel="count y",
       ylabel="cumulative probability P(Y <= y)")
fig = ax.figure
fig.tight_layout()
fig.savefig(FIGURES_DIR / "mixture_two_poissons_ppc.png", dpi=100)
plt.close(fig)

# %% [markdown]
# ## (b) A Normal and a Student-t sharing `mu`
#
# Components may come from different families (of the same support
# dimension); here both share one location `mu`, so the mixture is a
# symmetric distribution with heavier tails than a Normal. A list is the
# natural form: a batched component must be one family. The log-density at
# the initial point and prior predictive shapes:

# %%
normal_t_data = np.r_[rng.normal(0.5, 1.0, 150), 0.5 + rng.standard_t(4, 50)]

with mg.Model() as normal_t:
    w = mg.Dirichlet("w", a=np.array([1, 1]))  # 2 mixture weights
    mu = mg.Normal("mu", 0, 1)
    components = [
        mg.Normal.dist(mu=mu, sigma=1),
        mg.StudentT.dist(nu=4, mu=mu, sigma=1),
    ]
    mg.Mixture("like", w=w, comp_dists=components, observed=normal_t_data)

point = normal_t.initial_point()
shown = ", ".join(f"{name}={np.round(value, 3).tolist()}" for name, value in point.items())
normal_t_logp = normal_t.compile_logp(mode="FAST_COMPILE")(point)
print(f"(b) Normal + StudentT logp at the initial point ({shown}): {normal_t_logp:.6f}")
prior_shapes("(b) list", normal_t, ["mu", "like"])

# %% [markdown]
# ## (c) A (5 x 3) mixture of Normals
#
# Five independent scalar mixtures, each of three Normal components. The
# weights `w` are a stack of 5 independent weight vectors of size 3 (with
# `shape=(3,)` they would be shared by the 5 elements); each of the 3
# components has its own mean `mu[k]`, shared by the 5 elements.
#
# * list form: 3 components `Normal.dist(mu=mu[k], sigma=1, shape=(5,))`,
# * batched form: one `Normal.dist(mu=mu, sigma=1, shape=(5, 3))`, whose last
#   axis (length 3) is the mixture axis.
#
# The observed data have shape `(200, 5)`: 200 replicates of the 5-element
# mixture (the leading axis broadcasts, as in PyMC).

# %%
true_mu = np.array([-2.0, 1.0, 4.0])
true_w = rng.dirichlet(np.ones(3) * 3, size=5)
labels = np.array([[rng.choice(3, p=true_w[j]) for j in range(5)] for _ in range(200)])
normal_5x3_data = rng.normal(true_mu[labels], 1.0)


def normal_5x3(batched):
    with mg.Model() as model:
        # w is a stack of 5 independent size 3 weight vectors
        w = mg.Dirichlet("w", a=np.ones(3), shape=(5, 3))
        # each of the 3 mixture components has an independent mean
        mu = mg.Normal("mu", mu=np.arange(3), sigma=1, shape=3)
        if batched:
            components = mg.Normal.dist(mu=mu, sigma=1, shape=(5, 3))
        else:
            components = [mg.Normal.dist(mu=mu[i], sigma=1, shape=(5,)) for i in range(3)]
        # the mixture is an array of 5 elements, each a scalar mixture of 3 components
        mg.Mixture("like", w=w, comp_dists=components, observed=normal_5x3_data)
    return model


normal_list, normal_batched = normal_5x3(False), normal_5x3(True)
agree_c = compare_logp("(c) 5x3 Normal", normal_list, normal_batched)
prior_shapes("(c) list", normal_list, ["like"])
prior_shapes("(c) batched", normal_batched, ["w", "mu", "like"])

# %% [markdown]
# Without observed data the same mixture has shape `(5,)`: `mg.draw` draws
# from an unnamed mixture directly.

# %%
mu_values = np.arange(3.0)
w_values = np.full((5, 3), 1 / 3)
lone_mixture = mg.Mixture.dist(w=w_values, comp_dists=mg.Normal.dist(mu=mu_values, sigma=1, shape=(5, 3)))
print(f"(c) one draw of Mixture.dist(w (5, 3), Normal.dist(shape=(5, 3))): shape {mg.draw(lone_mixture).shape}; "
      f"10 draws: shape {mg.draw(lone_mixture, draws=10).shape}")

# %% [markdown]
# Fitting both forms (quick mode: only the batched one): the component means are shared by all five mixtures,
# so they are well determined, while each row of `w` is learned from its
# own column of the data.

# %%
normal_fits = {}
for seed, (form, model) in enumerate((("list", normal_list), ("batched", normal_batched))):
    if form not in FORMS_TO_FIT:
        continue
    with model:
        normal_fits[form] = mg.sample(**SAMPLE_KWARGS, random_seed=10 + seed, progressbar=False,
                                      compute_convergence_checks=not QUICK)
for form, idata in normal_fits.items():
    mu_mean = idata.posterior["mu"].mean(("chain", "draw")).values
    print(f"(c) {form:7s}: mu {np.round(mu_mean, 2)} (true {true_mu}); compiled in "
          f"{idata.posterior.attrs['compile_time']:.1f} s, sampled in {idata.posterior.attrs['sampling_time']:.1f} s")
w_mean = normal_fits["batched"].posterior["w"].mean(("chain", "draw")).values
print("(c) batched posterior mean of w (rows: the 5 mixtures):\n", np.round(w_mean, 2))
print("(c) true w:\n", np.round(true_w, 2))

fig, axes = plt.subplots(1, 3, figsize=(14, 4))
az.plot_posterior(normal_fits["batched"], var_names=["mu"], ref_val=list(true_mu), ax=axes, textsize=10)
fig.suptitle("(c) 5x3 Normal mixture, batched form: posterior of the component means (true value in orange)")
for k, ax in enumerate(axes):
    ax.set_xlabel(f"mu[{k}]")
fig.tight_layout()
fig.savefig(FIGURES_DIR / "mixture_5x3_normal_posterior.png", dpi=100)
plt.close(fig)

# %% [markdown]
# ## (d) A mixture of two Dirichlets
#
# Multivariate components: each is a distribution over vectors of length 3.
# The mixture axis is the axis *before* the support axis, so the batched
# component `Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]], shape=(2, 3))`
# holds 2 components of length 3, and the mixture is a vector of length 3.
# Each mixture draw is one whole draw from one of the two Dirichlets (never
# a mixture of their coordinates), so it still sums to 1.

# %%
dirichlet_data = np.r_[rng.dirichlet([1, 10, 100], 30), rng.dirichlet([100, 10, 1], 20)]


def two_dirichlets(batched):
    with mg.Model() as model:
        w = mg.Dirichlet("w", a=np.array([1, 1]))  # 2 mixture weights
        if batched:
            components = mg.Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]], shape=(2, 3))
        else:
            components = [
                mg.Dirichlet.dist(a=[1, 10, 100], shape=(3,)),
                mg.Dirichlet.dist(a=[100, 10, 1], shape=(3,)),
            ]
        mg.Mixture("like", w=w, comp_dists=components, observed=dirichlet_data)
    return model


dirichlet_list, dirichlet_batched = two_dirichlets(False), two_dirichlets(True)
agree_d = compare_logp("(d) two Dirichlets", dirichlet_list, dirichlet_batched)
prior_shapes("(d) list", dirichlet_list, ["like"])
dirichlet_prior = prior_shapes("(d) batched", dirichlet_batched, ["w", "like"])

# a draw of the mixture itself, without data: a vector of length 3 that sums to 1
lone_dirichlet = mg.Mixture.dist(w=[0.5, 0.5], comp_dists=mg.Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]],
                                                                              shape=(2, 3)))
lone_draws = mg.draw(lone_dirichlet, draws=PRIOR_DRAWS, random_seed=4)
print(f"(d) draws of the unnamed Dirichlet mixture: shape {lone_draws.shape}, "
      f"sums in [{lone_draws.sum(-1).min():.6f}, {lone_draws.sum(-1).max():.6f}]")

# %% [markdown]
# In the prior predictive draws every vector sits near one of the two
# corners favoured by the components (`a = [1, 10, 100]` puts almost all mass
# on the third coordinate, `[100, 10, 1]` on the first): whole draws, not
# averages.

# %%
like_draws = dirichlet_prior.prior_predictive["like"].values.reshape(-1, 3)
fig, ax = plt.subplots(figsize=(6, 5))
ax.scatter(like_draws[:, 0], like_draws[:, 2], s=8, alpha=0.4, label="prior predictive draws")
ax.scatter(dirichlet_data[:, 0], dirichlet_data[:, 2], s=16, marker="x", color="C3", label="observed")
ax.plot([0, 1], [1, 0], color="0.6", linestyle="--", label="x1 + x3 = 1")
ax.set(xlabel="first coordinate", ylabel="third coordinate",
       title="(d) Mixture of two Dirichlets: each draw is a whole vector")
ax.legend()
fig.tight_layout()
fig.savefig(FIGURES_DIR / "mixture_dirichlet_prior.png", dpi=100)
plt.close(fig)

# %% [markdown]
# ## Summary
#
# In each example the list and the batched forms define the same model (the
# same log-density at the same point); prefer the batched form when the
# components are one family, because one vectorised component is cheaper to
# compile and evaluate than `K` separate ones.

# %%
print(f"list and batched log-densities agree: (a) {agree_a}, (c) {agree_c}, (d) {agree_d}")
print(f"tutorial ran in {time.perf_counter() - started:.1f} s")
