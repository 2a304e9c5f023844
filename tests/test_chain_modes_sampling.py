"""The after-warm-up chain-disagreement warning, through ``mg.sample()``.

The posterior is 0.99 N(-20, 1) + 0.01 N(20, 1): modes 40 standard deviations
apart (no chain crosses), mean log-densities log(99) = 4.6 apart, against a
within-chain standard deviation of the log-density of about 0.7.
"""

from __future__ import annotations

import re
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import mixgraph as mg
from mixgraph.sampling import ConvergenceWarning

WARMUP_PREFIX = "After warm-up"


@pytest.fixture(scope="module")
def two_mode_model():
    with mg.Model() as model:
        # initval 0.115 is where both components' densities are equal: uniform(-1, 1)
        # jitter sends each chain to either mode.
        mg.NormalMixture("x", w=np.array([0.99, 0.01]), mu=np.array([-20.0, 20.0]), sigma=np.array([1.0, 1.0]),
                         initval=0.115)
    return model


def _sample_recording_warnings(model, **kwargs):
    kwargs.setdefault("cores", 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = mg.sample(draws=100, tune=200, chains=4, progressbar=False, model=model, **kwargs)
    messages = [str(warning.message) for warning in caught if issubclass(warning.category, ConvergenceWarning)]
    return idata, [message for message in messages if message.startswith(WARMUP_PREFIX)]


@pytest.mark.parametrize("executor", [None, "threads"])
def test_a_chain_started_in_the_minor_mode_is_named_after_warm_up(two_mode_model, executor):
    if executor == "threads":  # chains as tasks: the warm-up is checked when the tasks are back
        with ThreadPoolExecutor(max_workers=2) as pool:
            idata, messages = _sample_recording_warnings(two_mode_model, init="jitter", random_seed=5,
                                                         executor=pool, cores=None)
    else:
        idata, messages = _sample_recording_warnings(two_mode_model, init="jitter", random_seed=5)
    chain_means = idata.posterior["x"].mean("draw").values
    in_minor_mode = {int(chain) for chain in np.flatnonzero(chain_means > 0)}
    assert 0 < len(in_minor_mode) < 4  # the planted situation: the chains split between the modes
    assert len(messages) == 1
    named = re.match(r"After warm-up, chains? ([\d, ]+) sits? in a mode", messages[0])
    assert named is not None
    assert {int(chain) for chain in named.group(1).split(", ")} == in_minor_mode
    # every chain's mean log-density is listed; the minor mode's is about log(99) lower
    listed = {int(chain): float(value) for chain, value in re.findall(r"chain (\d): (-?\d+\.\d+)", messages[0])}
    assert set(listed) == {0, 1, 2, 3}
    best_minor = max(listed[chain] for chain in in_minor_mode)
    worst_major = min(listed[chain] for chain in set(listed) - in_minor_mode)
    assert worst_major - best_minor == pytest.approx(np.log(99.0), abs=1.5)


def test_chains_that_agree_give_no_after_warm_up_warning(two_mode_model):
    idata, messages = _sample_recording_warnings(two_mode_model, init="jitter", initvals={"x": -20.0}, random_seed=5)
    assert np.all(idata.posterior["x"].mean("draw").values < 0)  # all chains in the dominant mode
    assert messages == []
