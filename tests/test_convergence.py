"""check_convergence: which variables it judges."""

import warnings

import arviz as az
import numpy as np

import mixgraph as mg


def _idata(**posterior):
    return az.from_dict(posterior=posterior)


def test_recovered_log_probabilities_are_not_judged_but_their_latent_and_parameters_are():
    rng = np.random.default_rng(1)
    good = rng.normal(size=(4, 1000))
    stuck = np.concatenate([np.zeros((2, 1000)), np.full((2, 1000), 5.0)]) + rng.normal(0, 0.01, (4, 1000))
    latent = rng.integers(0, 2, size=(4, 1000, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quiet = mg.check_convergence(_idata(mu=good, z=latent, lp_z=stuck[..., None, None] * np.ones((1, 1, 3, 2))))
        loud = mg.check_convergence(_idata(mu=good, z=latent, lp_w=stuck))
    assert not any("lp_z" in message for message in quiet), quiet
    # an lp_ variable that is not beside an integer latent is an ordinary variable
    assert any("R-hat" in message and "lp_w" in message for message in loud), loud
