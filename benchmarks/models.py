"""The benchmark models of ../shared/bench/peer_models.py, written in mixgraph.

Same priors, same transforms, same data; one function per data set.
"""

from __future__ import annotations

import numpy as np

import mixgraph as mg

__all__ = ["MODELS"]


def gmm1d(data: dict, components: int = 3) -> mg.Model:
    with mg.Model() as model:
        weights = mg.Dirichlet("w", np.ones(components))
        means = mg.Normal("mu", 0, 10, shape=components, transform=mg.transforms.ordered,
                          initval=np.linspace(-3, 3, components))
        sigmas = mg.HalfNormal("sigma", 2, shape=components)
        mg.Mixture("y", w=weights, comp_dists=mg.Normal.dist(means, sigmas), observed=data["y"])
    return model


def poisson2(data: dict) -> mg.Model:
    with mg.Model() as model:
        weights = mg.Dirichlet("w", np.ones(2))
        rates = mg.Exponential("lam", 0.1, shape=2, transform=mg.transforms.ordered,
                               initval=np.array([1.0, 5.0]))
        components = [mg.Poisson.dist(mu=rates[0]), mg.Poisson.dist(mu=rates[1])]
        mg.Mixture("y", w=weights, comp_dists=components, observed=data["y"])
    return model


def normal_studentt(data: dict) -> mg.Model:
    with mg.Model() as model:
        weights = mg.Dirichlet("w", np.ones(2))
        mu = mg.Normal("mu", 0, 1)
        components = [mg.Normal.dist(mu=mu, sigma=1), mg.StudentT.dist(nu=4, mu=mu, sigma=1)]
        mg.Mixture("y", w=weights, comp_dists=components, observed=data["y"])
    return model


def batched_5x3(data: dict) -> mg.Model:
    with mg.Model() as model:
        weights = mg.Dirichlet("w", np.ones(3), shape=(5, 3))
        mu = mg.Normal("mu", mu=np.arange(3) * 3.0 - 3.0, sigma=1, shape=3)
        components = mg.Normal.dist(mu=mu, sigma=1, shape=(5, 3))
        mg.Mixture("y", w=weights, comp_dists=components, observed=data["y"])
    return model


def dirichlet_mix(data: dict) -> mg.Model:
    with mg.Model() as model:
        weights = mg.Dirichlet("w", np.ones(2))
        components = mg.Dirichlet.dist(a=[[1, 10, 100], [100, 10, 1]], shape=(2, 3))
        mg.Mixture("y", w=weights, comp_dists=components, observed=data["y"])
    return model


def zip_reg(data: dict) -> mg.Model:
    with mg.Model() as model:
        psi = mg.Beta("psi", 1, 1)
        intercept = mg.Normal("a", 0, 2)
        slope = mg.Normal("b", 0, 2)
        mg.ZeroInflatedPoisson("y", psi=psi, mu=mg.math.exp(intercept + slope * data["x"]),
                               observed=data["y"])
    return model


MODELS = {function.__name__: function for function in
          [gmm1d, poisson2, normal_studentt, batched_5x3, dirichlet_mix, zip_reg]}
