"""Chains in different modes: the disagreement warning and stacking weights."""

from __future__ import annotations

import re
import warnings

import arviz as az
import numpy as np
import pytest

import mixgraph as mg
from mixgraph.chain_modes import chain_disagreement_messages
from mixgraph.sampling import ConvergenceWarning

CHAINS, DRAWS = 4, 300


def _idata(lp_offsets, mu_offsets, seed=3):
    """Four chains of a 2-vector ``mu`` and their log-densities, with planted shifts per chain."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(CHAINS, DRAWS, 2)) + np.asarray(mu_offsets)[:, None, :]
    lp = rng.normal(-100.0, 1.5, size=(CHAINS, DRAWS)) + np.asarray(lp_offsets)[:, None]
    return az.from_dict(posterior={"mu": mu}, sample_stats={"lp": lp})


def test_planted_stuck_chain_is_named_with_its_log_density_and_variable():
    idata = _idata([0.0, 0.0, -40.0, 0.0], [[0, 0], [0, 0], [0, 6.0], [0, 0]])
    (message,) = chain_disagreement_messages(idata)
    assert message.startswith("Chain 2 sits in a mode")
    assert "chain 2: -140." in message
    listed = re.search(r"differ most between chain 2 and chain (\d): mu\[1\] \(chain 2: ([-\d.]+), chain \d: ([-\d.e]+)\)",
                       message)
    assert listed is not None and int(listed.group(1)) != 2
    assert float(listed.group(2)) == pytest.approx(6.0, abs=0.2)
    assert float(listed.group(3)) == pytest.approx(0.0, abs=0.2)
    assert "mg.stack_chains" in message


def test_two_stuck_chains_are_both_named():
    idata = _idata([0.0, -25.0, -40.0, 0.0], [[0, 0], [3.0, 0], [0, 6.0], [0, 0]])
    (message,) = chain_disagreement_messages(idata)
    assert message.startswith("Chains 1, 2 sit in a mode")


def test_healthy_chains_give_no_message():
    # Chain means of the log-density differ by about 1.5 / sqrt(300): far below the gap.
    for seed in range(10):
        assert chain_disagreement_messages(_idata([0.0] * 4, [[0, 0]] * 4, seed=seed)) == []


def test_check_convergence_warns_about_the_stuck_chain():
    idata = _idata([0.0, 0.0, -40.0, 0.0], [[0, 0], [0, 0], [0, 6.0], [0, 0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mg.check_convergence(idata)
    assert any(issubclass(w.category, ConvergenceWarning) and "Chain 2 sits" in str(w.message) for w in caught)


def _stacking_idata(log_density_per_chain: np.ndarray) -> az.InferenceData:
    """Each chain predicts observation i with the same density at every draw (so PSIS-LOO is exact)."""
    chains, observations = log_density_per_chain.shape
    log_likelihood = np.broadcast_to(log_density_per_chain[:, None, :], (chains, 50, observations)).copy()
    posterior = np.random.default_rng(0).normal(size=(chains, 50))
    return az.from_dict(posterior={"theta": posterior}, log_likelihood={"y": log_likelihood})


def test_stacking_weights_maximise_the_stacking_objective():
    rng = np.random.default_rng(11)
    log_density = np.log(rng.uniform(0.05, 1.0, size=(2, 40)))
    weights = mg.stack_chains(_stacking_idata(log_density))
    grid = np.linspace(0.0, 1.0, 100001)
    objective = np.log(np.outer(grid, np.exp(log_density[0])) + np.outer(1 - grid, np.exp(log_density[1]))).sum(axis=1)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] == pytest.approx(grid[np.argmax(objective)], abs=1e-3)


def test_stacking_puts_all_weight_on_a_chain_that_predicts_every_point_better():
    log_density = np.stack([np.full(30, -1.0), np.full(30, -3.0)])
    weights = mg.stack_chains(_stacking_idata(log_density))
    assert weights[0] > 0.999


def test_stacking_without_log_likelihood_says_how_to_get_it():
    idata = _idata([0.0] * 4, [[0, 0]] * 4)
    with pytest.raises(ValueError, match="compute_log_likelihood"):
        mg.stack_chains(idata)
