"""Marginal log-densities by enumeration, against Mixture forms and hand computations."""

import itertools

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import special, stats

import mixgraph as mg

RNG = np.random.default_rng(11)
Y_NORMAL = np.r_[RNG.normal(-2, 1, 15), RNG.normal(2, 1, 15)]
Y_COUNTS = np.array([0, 0, 3, 1, 0, 5, 0, 2, 0, 0, 4, 1])


def _random_points(model, count, scale=1.0):
    point = model.initial_point()
    return [{name: RNG.normal(scale=scale, size=np.shape(value)) for name, value in point.items()}
            for _ in range(count)]


def _latent_index_model(weights):
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 10, shape=2)
        sigma = mg.HalfNormal("sigma", 2)
        z = mg.Categorical("z", p=weights, shape=len(Y_NORMAL))
        mg.Normal("y", mu=mu[z], sigma=sigma, observed=Y_NORMAL)
    return model


def _mixture_model(weights):
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 10, shape=2)
        sigma = mg.HalfNormal("sigma", 2)
        mg.NormalMixture("y", w=weights, mu=mu, sigma=sigma, observed=Y_NORMAL)
    return model


def _hand_zip_model():
    with mg.Model() as model:
        psi = mg.Beta("psi", 2, 2)
        mu = mg.Gamma("mu", 2, 1)
        z = mg.Bernoulli("z", p=psi, shape=len(Y_COUNTS))
        mg.Poisson("y", mu=mu * z, observed=Y_COUNTS)
    return model


def _zip_model():
    with mg.Model() as model:
        psi = mg.Beta("psi", 2, 2)
        mu = mg.Gamma("mu", 2, 1)
        mg.ZeroInflatedPoisson("y", psi=psi, mu=mu, observed=Y_COUNTS)
    return model


# Latent form, Mixture form: the same log-density at every point, to rounding.
EQUAL_DENSITY_CASES = {
    "categorical-normal": (lambda: _latent_index_model([0.3, 0.7]), lambda: _mixture_model([0.3, 0.7])),
    "bernoulli-zero-inflated-poisson": (_hand_zip_model, _zip_model),
}


@pytest.mark.parametrize("case", EQUAL_DENSITY_CASES)
def test_marginal_density_equals_the_mixture_form(case):
    latent_builder, mixture_builder = EQUAL_DENSITY_CASES[case]
    marginal = mg.marginalize(latent_builder(), ["z"])
    mixture = mixture_builder()
    assert [rv.name for rv in marginal.free_RVs] == [rv.name for rv in mixture.free_RVs]
    marginal_logp = marginal.compile_logp(mode="FAST_COMPILE")
    mixture_logp = mixture.compile_logp(mode="FAST_COMPILE")
    for point in _random_points(mixture, 25):
        np.testing.assert_allclose(marginal_logp(point), mixture_logp(point), rtol=1e-12)


def test_marginal_model_has_no_latent_input_and_element_wise_structure():
    model = _latent_index_model([0.5, 0.5])
    marginal = mg.marginalize(model, ["z"])
    assert "z" not in [value.name for value in marginal.value_vars]
    assert "z" in [rv.name for rv in model.free_RVs]  # the source model is unchanged
    [group] = marginal.marginal_groups
    assert group.coupling.elementwise
    assert group.configurations.shape == (2, len(Y_NORMAL))  # K x N, not K ** N
    assert mg.marginalize(model) is marginal  # kept on the model


def _brute_force(log_prior, log_likelihood, support, shape):
    """log sum over every joint configuration of prior * likelihood."""
    totals = []
    for configuration in itertools.product(support, repeat=int(np.prod(shape))):
        values = np.array(configuration).reshape(shape)
        totals.append(log_prior(values) + log_likelihood(values))
    return special.logsumexp(totals)


def _per_element_binomial():
    with mg.Model() as model:
        p = mg.Beta("p", 2, 3)
        z = mg.Binomial("z", n=3, p=p, shape=4)
        mg.Normal("y", mu=z, sigma=0.7, observed=np.array([0.2, 1.1, 2.7, 3.3]))

    def hand(point):
        p = special.expit(point["p_logodds__"])
        jacobian = np.log(p) + np.log1p(-p)
        y = np.array([0.2, 1.1, 2.7, 3.3])
        k = np.arange(4)[:, None]
        per_element = special.logsumexp(stats.binom.logpmf(k, 3, p) + stats.norm.logpdf(y, k, 0.7), axis=0)
        return stats.beta.logpdf(p, 2, 3) + jacobian + per_element.sum()

    return model, hand


def _coupled_bernoulli():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 1)
        z = mg.Bernoulli("z", p=np.array([0.2, 0.5, 0.9]))
        mg.Normal("y", mu=mu + pt.sum(z), sigma=1.0, observed=1.7)

    def hand(point):
        mu = point["mu"]
        prior = lambda values: stats.bernoulli.logpmf(values, [0.2, 0.5, 0.9]).sum()
        likelihood = lambda values: stats.norm.logpdf(1.7, mu + values.sum(), 1.0)
        return stats.norm.logpdf(mu) + _brute_force(prior, likelihood, [0, 1], (3,))

    return model, hand


def _switch_point():
    counts = np.array([4, 5, 3, 6, 1, 0, 2, 1])

    with mg.Model() as model:
        early = mg.Gamma("early", 2, 1)
        late = mg.Gamma("late", 2, 1)
        switch = mg.DiscreteUniform("switch", 1, 7)
        rate = pt.switch(pt.lt(np.arange(8), switch), early, late)
        mg.Poisson("y", mu=rate, observed=counts)

    def hand(point):
        early, late = np.exp(point["early_log__"]), np.exp(point["late_log__"])
        priors = stats.gamma.logpdf(early, 2) + stats.gamma.logpdf(late, 2) + np.log(early) + np.log(late)
        terms = [np.log(1 / 7) + stats.poisson.logpmf(counts, np.where(np.arange(8) < s, early, late)).sum()
                 for s in range(1, 8)]
        return priors + special.logsumexp(terms)

    return model, hand


def _extra_leading_axis():
    data = RNG.normal(size=(3, 4))

    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 3, shape=2)
        z = mg.Categorical("z", p=np.array([[0.1, 0.9], [0.5, 0.5], [0.7, 0.3], [0.4, 0.6]]))
        mg.Normal("y", mu=mu[z], sigma=1.0, observed=data)

    def hand(point):
        mu = point["mu"]
        weights = np.array([[0.1, 0.9], [0.5, 0.5], [0.7, 0.3], [0.4, 0.6]])
        per_k = np.stack([stats.norm.logpdf(data, mu[k], 1.0).sum(axis=0) for k in range(2)])
        return stats.norm.logpdf(mu, 0, 3).sum() + special.logsumexp(np.log(weights.T) + per_k, axis=0).sum()

    return model, hand


def _two_independent_latents():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 3, shape=2)
        first = mg.Bernoulli("first", p=0.3, shape=2)
        second = mg.Categorical("second", p=[0.2, 0.3, 0.5])
        mg.Normal("a", mu=mu[first], sigma=1.0, observed=np.array([0.5, -1.0]))
        mg.Normal("b", mu=pt.as_tensor([-1.0, 0.0, 1.0])[second] + mu[0], sigma=0.5, observed=0.8)

    def hand(point):
        mu = point["mu"]
        a = special.logsumexp(
            np.log([[0.7], [0.3]]) + np.stack([stats.norm.logpdf([0.5, -1.0], mu[k], 1.0) for k in range(2)]),
            axis=0).sum()
        b = special.logsumexp(np.log([0.2, 0.3, 0.5]) + stats.norm.logpdf(0.8, np.array([-1.0, 0.0, 1.0]) + mu[0], 0.5))
        return stats.norm.logpdf(mu, 0, 3).sum() + a + b

    return model, hand


def _site_occupancy():
    detections = (RNG.random((6, 4)) < 0.4).astype(int) * (RNG.random((6, 1)) < 0.6)

    with mg.Model() as model:
        psi = mg.Beta("psi", 1, 1)
        p = mg.Beta("p", 1, 1)
        occupied = mg.Bernoulli("occupied", p=psi, shape=6)
        mg.Bernoulli("detected", p=p * occupied[:, None], observed=detections)

    def hand(point):
        psi, p = special.expit(point["psi_logodds__"]), special.expit(point["p_logodds__"])
        jacobian = np.log(psi) + np.log1p(-psi) + np.log(p) + np.log1p(-p)
        with np.errstate(divide="ignore"):
            empty = np.log1p(-psi) + stats.bernoulli.logpmf(detections, 0.0).sum(axis=1)
        occupied = np.log(psi) + stats.bernoulli.logpmf(detections, p).sum(axis=1)
        return jacobian + np.logaddexp(empty, occupied).sum()

    return model, hand


def _shared_dependent_element_wise():
    data = RNG.normal(size=5)
    first_weights, second_weights = np.array([0.7, 0.3]), np.array([0.2, 0.3, 0.5])

    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 3, shape=2)
        nu = mg.Normal("nu", 0, 3, shape=3)
        first = mg.Bernoulli("first", p=0.3, shape=5)
        second = mg.Categorical("second", p=second_weights, shape=5)
        mg.Normal("y", mu=mu[first] + nu[second], sigma=1.0, observed=data)

    def hand(point):
        mu, nu = point["mu"], point["nu"]
        per_pair = np.stack([np.log(first_weights[a]) + np.log(second_weights[b])
                             + stats.norm.logpdf(data, mu[a] + nu[b], 1.0) for a in range(2) for b in range(3)])
        return stats.norm.logpdf(mu, 0, 3).sum() + stats.norm.logpdf(nu, 0, 3).sum() + \
            special.logsumexp(per_pair, axis=0).sum()

    return model, hand


def _shared_dependent_of_different_shapes():
    data = np.array([0.4, 2.1, -0.3])

    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 3, shape=2)
        first = mg.Bernoulli("first", p=np.array([0.2, 0.6, 0.9]))
        second = mg.Bernoulli("second", p=0.4)
        mg.Normal("y", mu=mu[first] + 2.0 * second, sigma=1.0, observed=data)

    def hand(point):
        mu = point["mu"]
        totals = []
        for configuration in itertools.product([0, 1], repeat=4):
            values, shift = np.array(configuration[:3]), configuration[3]
            totals.append(stats.bernoulli.logpmf(values, [0.2, 0.6, 0.9]).sum() + stats.bernoulli.logpmf(shift, 0.4)
                          + stats.norm.logpdf(data, mu[values] + 2.0 * shift, 1.0).sum())
        return stats.norm.logpdf(mu, 0, 3).sum() + special.logsumexp(totals)

    return model, hand


def _latent_depends_on_latent():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 1)
        first = mg.Bernoulli("first", p=0.3)
        second = mg.Bernoulli("second", p=pt.switch(pt.eq(first, 1), 0.2, 0.8))
        mg.Normal("y", mu=mu + second, sigma=1.0, observed=1.0)

    def hand(point):
        mu = point["mu"]
        totals = [stats.bernoulli.logpmf(a, 0.3) + stats.bernoulli.logpmf(b, 0.2 if a else 0.8)
                  + stats.norm.logpdf(1.0, mu + b, 1.0) for a in (0, 1) for b in (0, 1)]
        return stats.norm.logpdf(mu) + special.logsumexp(totals)

    return model, hand


HAND_CASES = {
    "latents-sharing-a-dependent-element-wise": _shared_dependent_element_wise,
    "latents-of-different-shapes-sharing-a-dependent": _shared_dependent_of_different_shapes,
    "latent-depending-on-a-latent": _latent_depends_on_latent,
    "bernoulli-site-occupancy-trailing-axis": _site_occupancy,
    "binomial-per-element": _per_element_binomial,
    "bernoulli-coupled-by-a-sum": _coupled_bernoulli,
    "discrete-uniform-scalar-switch": _switch_point,
    "categorical-with-extra-leading-axis": _extra_leading_axis,
    "two-independent-latents": _two_independent_latents,
}


@pytest.mark.parametrize("case", HAND_CASES)
def test_marginal_density_equals_a_hand_computation(case):
    model, hand = HAND_CASES[case]()
    marginal = mg.marginalize(model)
    logp = marginal.compile_logp(mode="FAST_COMPILE")
    for point in _random_points(marginal, 10):
        np.testing.assert_allclose(logp(point), hand(point), rtol=1e-10)


def test_coupled_latent_is_enumerated_jointly():
    model, _ = _coupled_bernoulli()
    [group] = mg.marginalize(model).marginal_groups
    assert not group.coupling.elementwise
    assert "shape ()" in group.coupling.reason
    assert group.configurations.shape == (8, 3)


def test_coupling_of_same_shape_dependents_is_found_by_perturbation():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 1)
        z = mg.Bernoulli("z", p=0.5, shape=3)
        mg.Normal("y", mu=mu + z + pt.cumsum(z), sigma=1.0, observed=np.zeros(3))
    [group] = mg.marginalize(model).marginal_groups
    assert not group.coupling.elementwise
    assert "coupled" in group.coupling.reason
    with mg.Model() as elementwise:
        mu = mg.Normal("mu", 0, 1)
        z = mg.Bernoulli("z", p=0.5, shape=3)
        mg.Normal("y", mu=mu + 2 * z, sigma=1.0, observed=np.zeros(3))
    assert mg.marginalize(elementwise).marginal_groups[0].coupling.elementwise


def test_marginal_gradient_matches_finite_differences():
    marginal = mg.marginalize(_latent_index_model([0.3, 0.7]))
    logp_dlogp = marginal.compile_logp_dlogp(mode="FAST_COMPILE")
    logp = marginal.compile_logp(mode="FAST_COMPILE")
    point = _random_points(marginal, 1)[0]
    _, gradient = logp_dlogp(point)
    names = [value.name for value in marginal.value_vars]
    flat_gradient = np.concatenate([np.ravel(gradient[name]) for name in names])
    step, numeric = 1e-6, []
    for name in names:
        for index in np.ndindex(np.shape(point[name])):
            up, down = {k: np.array(v, copy=True) for k, v in point.items()}, {k: np.array(v, copy=True) for k, v in point.items()}
            up[name][index] += step
            down[name][index] -= step
            numeric.append((logp(up) - logp(down)) / (2 * step))
    np.testing.assert_allclose(flat_gradient, numeric, rtol=1e-5, atol=1e-6)


# case -> (latent names of the one group, element-wise?, configurations shape of the first)
JOINT_STRUCTURE_CASES = {
    "latents-sharing-a-dependent-element-wise": (("first", "second"), True, (6, 5)),  # 2 * 3 values per element
    "latents-of-different-shapes-sharing-a-dependent": (("first", "second"), False, (16, 3)),  # 2**3 * 2
    "latent-depending-on-a-latent": (("first", "second"), True, (4,)),
}


@pytest.mark.parametrize("case", JOINT_STRUCTURE_CASES)
def test_coupled_latents_are_enumerated_on_one_axis(case):
    names, elementwise, shape = JOINT_STRUCTURE_CASES[case]
    model, _ = HAND_CASES[case]()
    [group] = mg.marginalize(model).marginal_groups
    assert group.latent_names == names
    assert group.coupling.elementwise is elementwise
    assert group.configurations.shape == shape
    assert all(member.configurations.shape[0] == shape[0] for member in group.members)
    joint_rows = np.concatenate([member.configurations.reshape(shape[0], -1) for member in group.members], axis=1)
    assert len({tuple(row) for row in joint_rows}) == shape[0]  # every joint value once
    assert group.term_name == "y"
