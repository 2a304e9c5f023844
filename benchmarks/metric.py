"""Each mass-matrix form on correlated posteriors: ESS per second, gradient evaluations, step size.

usage (from the project's root):
    python benchmarks/metric.py [--models regression old_faithful] [--seeds 1 2] [--draws 1000] [--tune 1000]

Models: ``hierarchical_J`` (J = 20 to 400), a non-centred hierarchical
Normal model with J group effects, whose posterior is nearly independent
(where the dense metric's cost of estimating a covariance shows);
``regression``, a linear regression on 8 strongly correlated
predictors (pairwise correlation 0.95), so that the posterior of the
coefficients is strongly correlated; ``old_faithful``, the mixture of two
bivariate Normals of ``tutorials/old_faithful.py``. Each is sampled with
``metric="diag"``, ``"dense"`` and ``"low_rank"`` (4 chains, 2 cores), in
the same process one after the other, after one short run that loads the
compiled model. Printed per metric, as means over the seeds: the step size,
gradient evaluations in warm-up and in the draws (summed over chains), the
smallest bulk ESS, ESS per second of sampling (compilation left out) and
divergences. The machine may be shared: read the ratios between metrics.
"""

from __future__ import annotations

import argparse

import arviz as az
import numpy as np

import mixgraph as mg

METRICS = ("diag", "dense", "low_rank")


def correlated_regression(predictors: int = 8, observations: int = 200, seed: int = 0) -> mg.Model:
    """Linear regression whose predictors have pairwise correlation 0.95."""
    rng = np.random.default_rng(seed)
    correlation = np.full((predictors, predictors), 0.95) + 0.05 * np.eye(predictors)
    design = rng.multivariate_normal(np.zeros(predictors), correlation, size=observations)
    coefficients = rng.normal(size=predictors)
    response = design @ coefficients + rng.normal(scale=0.5, size=observations)
    with mg.Model() as model:
        beta = mg.Normal("beta", 0.0, 5.0, shape=predictors)
        sigma = mg.HalfNormal("sigma", 2.0)
        mg.Normal("y", mu=mg.math.dot(design, beta), sigma=sigma, observed=response)
    return model


def old_faithful() -> mg.Model:
    """The two-component bivariate Normal mixture of ``tutorials/old_faithful.py``."""
    faithful = mg.datasets.load_old_faithful()
    standardised = (faithful - faithful.mean(axis=0)) / faithful.std(axis=0)
    with mg.Model() as model:
        weights = mg.Dirichlet("w", a=np.ones(2))
        mean_duration = mg.Normal("mu_duration", mu=0.0, sigma=2.0, shape=2,
                                  transform=mg.transforms.ordered, initval=np.array([-1.0, 1.0]))
        mean_waiting = mg.Normal("mu_waiting", mu=0.0, sigma=2.0, shape=2,
                                 initval=np.array([-1.0, 1.0]))
        components = []
        for k, label in enumerate(("short", "long")):
            chol, _, _ = mg.LKJCholeskyCov(f"chol_{label}", eta=2.0, n=2,
                                           sd_dist=mg.Exponential.dist(1.0, shape=2),
                                           compute_corr=True)
            mean = mg.math.stack([mean_duration[k], mean_waiting[k]])
            components.append(mg.MvNormal.dist(mu=mean, chol=chol))
        mg.Mixture("eruption", w=weights, comp_dists=components, observed=standardised)
    return model


def hierarchical(groups: int, per_group: int = 10, seed: int = 0) -> mg.Model:
    """Non-centred hierarchical Normal model with ``groups`` group effects (``groups + 2`` parameters).

    Its posterior is close to independent, so a dense metric has nothing to
    gain and only the cost of estimating ``d x d`` covariances: this family
    shows how large a model may grow before ``"dense"`` costs more than it
    gives.
    """
    rng = np.random.default_rng(seed)
    effects = rng.normal(0.0, 1.0, size=groups)
    index = np.repeat(np.arange(groups), per_group)
    response = rng.normal(effects[index], 2.0)
    with mg.Model() as model:
        mean = mg.Normal("mu", 0.0, 5.0)
        spread = mg.HalfNormal("tau", 2.0)
        offsets = mg.Normal("offset", 0.0, 1.0, shape=groups)
        mg.Normal("y", mu=mean + spread * offsets[index], sigma=2.0, observed=response)
    return model


MODELS = {"regression": correlated_regression, "old_faithful": old_faithful,
          **{f"hierarchical_{groups}": (lambda groups=groups: hierarchical(groups))
             for groups in (10, 20, 30, 40, 50, 100, 200, 400)}}


def measure(model: mg.Model, metric: str, seed: int, draws: int, tune: int) -> dict:
    idata = mg.sample(draws=draws, tune=tune, chains=4, cores=2, random_seed=seed, model=model,
                      metric=metric, progressbar=False, compute_convergence_checks=False,
                      discard_tuned_samples=False)
    free = [rv.name for rv in model.free_RVs]
    ess = az.ess(idata.posterior[free], method="bulk")
    min_ess = min(float(ess[name].min()) for name in free)
    seconds = float(idata.posterior.attrs["sampling_time"])
    return {
        "step_size": float(idata.sample_stats["step_size"].mean()),
        "grad_warmup": int(idata.warmup_sample_stats["n_steps"].sum()),
        "grad_sampling": int(idata.sample_stats["n_steps"].sum()),
        "min_ess": min_ess, "ess_per_second": min_ess / seconds,
        "divergences": int(idata.sample_stats["diverging"].sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--metrics", nargs="+", default=list(METRICS), choices=list(METRICS))
    arguments = parser.parse_args()
    print(f"{'model':13} {'metric':9} {'step':>6} {'grad_warm':>10} {'grad_draw':>10} "
          f"{'minESS':>7} {'ESS/s':>8} {'div':>5}")
    for name in arguments.models:
        model = MODELS[name]()
        mg.sample(draws=5, tune=5, chains=1, model=model, progressbar=False,
                  compute_convergence_checks=False)  # compile (or load) once
        for metric in arguments.metrics:
            rows = [measure(model, metric, seed, arguments.draws, arguments.tune)
                    for seed in arguments.seeds]
            mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
            print(f"{name:13} {metric:9} {mean['step_size']:6.3f} {mean['grad_warmup']:10.0f} "
                  f"{mean['grad_sampling']:10.0f} {mean['min_ess']:7.0f} "
                  f"{mean['ess_per_second']:8.0f} {mean['divergences']:5.1f}", flush=True)


if __name__ == "__main__":
    main()
