"""Chains in different modes: the disagreement warning and stacking weights."""

from __future__ import annotations

import re
import warnings

import arviz as az
import numpy as np
import pytest
from numba import njit

import mixgraph as mg
from mixgraph.chain_modes import chain_disagreement_messages, warmup_disagreement_messages
from mixgraph.mcmc.driver import run_chains
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


@njit(cache=True)
def _two_unequal_modes_logp(position, grad_out, float_data, int_data):
    """0.99 N(-20, 1) + 0.01 N(20, 1): modes 40 standard deviations apart, log-densities 4.6 apart."""
    left = np.log(0.99) - 0.5 * (position[0] + 20.0) ** 2
    right = np.log(0.01) - 0.5 * (position[0] - 20.0) ** 2
    top = max(left, right)
    total = top + np.log(np.exp(left - top) + np.exp(right - top))
    grad_out[0] = -(position[0] + 20.0) * np.exp(left - total) - (position[0] - 20.0) * np.exp(right - total)
    return total


def test_warmup_check_names_the_chain_in_the_minor_mode_once_warm_up_ends():
    seen = []
    result = run_chains(_two_unequal_modes_logp, np.zeros(1), np.zeros(0, dtype=np.int64),
                        np.array([[-20.0], [-20.0], [20.0]]), draws=50, tune=200, seed=4, cores=1,
                        on_tuned=seen.append)
    assert len(seen) == 1 and seen[0].shape == (3, 200)
    np.testing.assert_array_equal(seen[0], result.stats["lp"][:, :200])
    [message] = warmup_disagreement_messages(seen[0])
    assert message.startswith("After warm-up, chain 2 sits in a mode") and re.search(r"chain [01]'s", message)
    # the chains in the dominant mode alone agree
    assert warmup_disagreement_messages(seen[0][:2]) == []


def test_warmup_check_stays_quiet_for_healthy_or_short_warm_up():
    rng = np.random.default_rng(2)
    healthy = -0.5 * rng.chisquare(3, size=(4, 400))
    assert warmup_disagreement_messages(healthy) == []
    planted = healthy.copy()
    planted[1] -= 10.0
    assert "chain 1 sits" in warmup_disagreement_messages(planted)[0]
    assert warmup_disagreement_messages(planted[:, :20]) == []  # 5 iterations compared: too few to tell
