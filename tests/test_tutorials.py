"""Every tutorial runs, in quick mode, and writes its figures.

A tutorial is a Jupytext "percent" script in ``tutorials/``. Quick mode
(``MIXGRAPH_QUICK=1``) cuts its draws; ``MIXGRAPH_FIGURES`` says where its PNG
files go. Each tutorial lists the figures it writes in a module-level
``FIGURES`` tuple, checked here.
"""

import os
import runpy
from pathlib import Path

import matplotlib
import pytest

TUTORIALS = sorted((Path(__file__).resolve().parent.parent / "tutorials").glob("*.py"))


@pytest.mark.parametrize("path", TUTORIALS, ids=[path.stem for path in TUTORIALS])
def test_tutorial_runs_and_writes_its_figures(path, tmp_path, monkeypatch, capsys):
    matplotlib.use("Agg")
    monkeypatch.setenv("MIXGRAPH_QUICK", "1")
    monkeypatch.setenv("MIXGRAPH_FIGURES", str(tmp_path))
    namespace = runpy.run_path(str(path), run_name="__main__")
    figures = namespace.get("FIGURES")
    assert figures, f"{path.name} must list the figures it writes in FIGURES"
    for name in figures:
        figure = tmp_path / name
        assert figure.exists() and figure.stat().st_size > 5_000, f"{path.name} did not write {name}"
    assert capsys.readouterr().out.strip(), f"{path.name} printed no key numbers"


def test_there_are_tutorials():
    assert len(TUTORIALS) >= 1
