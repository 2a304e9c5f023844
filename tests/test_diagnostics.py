"""Mixtures whose symbolic weights leave the simplex are named when sample() cannot start."""

import re

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import special

import mixgraph as mg
from mixgraph.diagnostics import initial_point_diagnostics
from mixgraph.sampling import SamplingError

COMPONENTS = lambda: [mg.Normal.dist(-1.0, 1.0), mg.Normal.dist(1.0, 1.0)]  # noqa: E731


def two_betas():
    a, b = mg.Beta("a", 2.0, 1.0), mg.Beta("b", 2.0, 1.0)  # support points 2/3 each
    return pt.stack([a, b])


def batched_betas():
    a = mg.Beta("a", np.array([1.0, 2.0, 1.0]), 1.0, shape=3)  # support points 1/2, 2/3, 1/2
    return pt.stack([a, pt.full((3,), 0.5)], axis=-1)


def one_minus_normal():
    x = mg.Normal("x", 1.5, 1.0)
    return pt.stack([x, 1.0 - x])


# name -> (weights builder, expected sentence or None)
ROWS = {
    "two Beta weights": (two_betas, "the weights of 'y' sum to 1.33333, not 1"),
    "batched weights, worst row named": (batched_betas, "the weights of 'y' sum to 1.16667 (row 1 of 3), not 1"),
    "negative weight summing to 1": (one_minus_normal, "the weights of 'y' include a negative value, -0.5"),
    "Dirichlet weights": (lambda: mg.Dirichlet("w", a=np.ones(2)), None),
}


@pytest.mark.parametrize("row", list(ROWS))
def test_mixture_weights_named_at_the_initial_point(row):
    build, expected = ROWS[row]
    with mg.Model() as model:
        mg.Mixture("y", w=build(), comp_dists=COMPONENTS(), observed=np.zeros((3,)) if "batched" in row else [0.1, 0.5])
    sentences = initial_point_diagnostics(model, model.initial_point())
    if expected is None:
        assert sentences == []
    else:
        assert len(sentences) == 1 and sentences[0].startswith(expected), sentences


def test_sample_failure_message_names_the_mixture_and_the_sum_at_the_start():
    with mg.Model() as model:
        mg.Mixture("y", w=two_betas(), comp_dists=COMPONENTS(), observed=[0.1, 0.5])
    with pytest.raises(SamplingError) as error:
        mg.sample(draws=10, tune=10, chains=1, model=model, progressbar=False, random_seed=1)
    message = str(error.value)
    assert "y: log-density -inf" in message
    reported = float(re.search(r"the weights of 'y' sum to ([0-9.]+), not 1", message).group(1))
    starts = {name: float(value) for name, value in re.findall(r"(\w+_logodds__) = (\S+)", message)}
    # the sum is that of the starting values printed below it
    assert reported == pytest.approx(special.expit(starts["a_logodds__"]) + special.expit(starts["b_logodds__"]), rel=1e-5)
