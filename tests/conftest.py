"""Shared fixtures."""

import os

import numpy as np
import pytest

os.environ.setdefault("MIXGRAPH_QUICK", "1")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)
