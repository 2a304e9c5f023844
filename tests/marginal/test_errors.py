"""Every error of automatic marginalisation, by its message."""

import numpy as np
import pytensor.tensor as pt
import pytest

import mixgraph as mg
from mixgraph.marginal import MarginalizationError


def _poisson_latent():
    with mg.Model() as model:
        count = mg.Poisson("count", mu=3.0)
        mg.Normal("y", mu=count, sigma=1.0, observed=2.5)
    return model


def _negative_binomial_latent():
    with mg.Model() as model:
        count = mg.NegativeBinomial("count", mu=3.0, alpha=2.0)
        mg.Normal("y", mu=count, sigma=1.0, observed=2.5)
    return model


def _geometric_latent():
    with mg.Model() as model:
        count = mg.Geometric("count", p=0.4)
        mg.Normal("y", mu=count, sigma=1.0, observed=2.5)
    return model


def _too_many_joint_configurations():
    with mg.Model() as model:
        z = mg.Bernoulli("z", p=0.5, shape=20)
        mg.Normal("y", mu=pt.sum(z), sigma=1.0, observed=np.zeros(20))
    return model


def _support_depends_on_a_random_variable():
    with mg.Model() as model:
        rate = mg.Gamma("rate", 2, 1)
        z = mg.Binomial("z", n=pt.cast(pt.ceil(rate), "int64"), p=0.5)
        mg.Normal("y", mu=z, sigma=1.0, observed=1.0)
    return model


def _coupled_latents_with_too_many_configurations():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 1, shape=2)
        first = mg.Bernoulli("first", p=0.5, shape=12)
        second = mg.Bernoulli("second", p=0.3)
        mg.Normal("y", mu=mu[first] + second, sigma=1.0, observed=np.zeros(12))
    return model


def _huge_support():
    with mg.Model() as model:
        z = mg.DiscreteUniform("z", 0, 5000)
        mg.Normal("y", mu=z, sigma=1.0, observed=1.0)
    return model


# case -> (model builder, fragments that the message must contain)
SAMPLE_ERRORS = {
    "poisson": (_poisson_latent, ["'count'", "Poisson", "infinite support", "bounded family", "Mixture"]),
    "negative-binomial": (_negative_binomial_latent, ["'count'", "NegativeBinomial", "infinite support", "Mixture"]),
    "geometric": (_geometric_latent, ["'count'", "Geometric", "infinite support", "bounded family", "Mixture"]),
    "coupled-too-many": (_too_many_joint_configurations, ["'z'", "2**20 = 1048576", "4096", "changes when other elements", "Mixture"]),
    "support-depends-on-rv": (_support_depends_on_a_random_variable, ["'z'", "number of trials n", "['rate']", "constant"]),
    "coupled-latents-too-many": (_coupled_latents_with_too_many_configurations, [
        "'first' and 'second'", "'y' depends on 'first' and 'second'", "shapes differ", "'first' (12,)",
        "2**12 * 2**1 = 8192", "4096", "one Categorical over their pairs", "Mixture"]),
    "huge-support": (_huge_support, ["'z'", "5001 possible values", "4096"]),
}


@pytest.mark.parametrize("case", SAMPLE_ERRORS)
def test_sample_raises_a_clear_error_before_compiling(case):
    builder, fragments = SAMPLE_ERRORS[case]
    model = builder()
    with pytest.raises(MarginalizationError) as error:
        mg.sample(model=model, draws=10, tune=10, chains=1, progressbar=False)
    for fragment in fragments:
        assert fragment in str(error.value), (fragment, str(error.value))


def test_marginalize_names_only_free_discrete_variables():
    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 1)
        z = mg.Bernoulli("z", p=0.5)
        mg.Normal("y", mu=mu + z, sigma=1.0, observed=0.3)
    with pytest.raises(MarginalizationError, match="'mu' is continuous"):
        mg.marginalize(model, ["mu"])
    with pytest.raises(MarginalizationError, match="'y' is not a free variable"):
        mg.marginalize(model, ["y"])
    assert mg.marginalize(model, []) is model


def test_log_likelihood_of_a_latent_with_several_dependents_does_not_split():
    import arviz as az

    with mg.Model() as model:
        mu = mg.Normal("mu", 0, 1, shape=2)
        z = mg.Bernoulli("z", p=0.5)
        mg.Normal("a", mu=mu[z], sigma=1.0, observed=0.3)
        mg.Normal("b", mu=mu[z], sigma=1.0, observed=0.1)
    idata = az.from_dict(posterior={"mu": np.zeros((1, 2, 2))})
    with pytest.raises(MarginalizationError, match="cannot be split from those of \\['a', 'b'\\]"):
        mg.compute_log_likelihood(idata, model=model)
