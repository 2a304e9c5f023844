"""Shared fixtures, and how the suite is split between pytest-xdist workers.

The suite runs on several processes (``-n auto --dist loadgroup`` in
pyproject.toml). Every test file stays whole on one worker, so that its
module-scoped fixtures compile their models once; the tests that read the
session's fresh-process results form one group of their own, so that the pair
of fresh processes runs once per session, not once per worker.
"""

import os
import signal

import numpy as np
import pytest

from fresh_process import run_registered_scripts
from package_kernels import compile_package_kernels, worker_index

os.environ.setdefault("MIXGRAPH_QUICK", "1")


FRESH_PROCESS_GROUP = "fresh_process"
MOST_WORKERS = 4
WHOLE_SUITE_ITEMS = 1000
"""A run that collects this many tests is taken for the whole suite (it has over 2000)."""


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per core, at most four (each compiles its own models)."""
    return max(1, min(os.cpu_count() or 1, MOST_WORKERS))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Group tests by file for ``--dist loadgroup``; the fresh-process readers in one group."""
    for item in items:
        if any(marker.name == "xdist_group" for marker in item.iter_markers()):
            continue
        uses_fresh_processes = "fresh_process_results" in getattr(item, "fixturenames", ())
        group = FRESH_PROCESS_GROUP if uses_fresh_processes else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def terminal_sigint():
    """SIGINT handled as in an interactive Python, for a test that asserts the handler is put back.

    A run started in the background (``nohup``, ``cmd &`` in a script)
    inherits an ignored SIGINT; the test then compares against the handler
    it set, not against whatever the shell left.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def fresh_process_results(tmp_path_factory) -> dict:
    """The results of every registered disk-cache script, from one pair of fresh processes per session."""
    return run_registered_scripts(tmp_path_factory.mktemp("fresh_process_cache"))


@pytest.fixture(scope="session", autouse=True)
def package_kernels_shared_out(request, tmp_path_factory) -> None:
    """A whole-suite run on several workers: the package's kernels compiled once, half by each worker.

    See ``tests/package_kernels.py``. Once they are in Numba's disk cache this
    costs each worker about half a second of loading, which its first
    sampling test would have spent anyway; a smaller run is left alone.
    """
    index = worker_index()
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if index is None or workers < 2 or len(request.session.items) < WHOLE_SUITE_ITEMS:
        return
    compile_package_kernels(tmp_path_factory.getbasetemp().parent, index)
