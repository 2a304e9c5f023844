"""Shared fixtures."""

import os

import numpy as np
import pytest

from fresh_process import run_registered_scripts

os.environ.setdefault("MIXGRAPH_QUICK", "1")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def fresh_process_results(tmp_path_factory) -> dict:
    """The results of every registered disk-cache script, from one pair of fresh processes per session."""
    return run_registered_scripts(tmp_path_factory.mktemp("fresh_process_cache"))
