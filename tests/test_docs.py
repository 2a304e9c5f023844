"""The documentation site builds with ``mkdocs build --strict``: no warning at all.

Strict mode turns every warning into a failure: a broken link between pages,
a page missing from the navigation, an API-reference block (``::: mixgraph.x``)
that does not resolve, or a docstring that griffe cannot parse. The build
needs no network (``theme.font: false``; no plugin that downloads).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mkdocs_build_strict(tmp_path):
    if shutil.which("mkdocs") is None and subprocess.run(
        [sys.executable, "-c", "import mkdocs"], capture_output=True
    ).returncode != 0:
        pytest.fail('mkdocs is not installed: python -m pip install ".[test]" (or ".[docs]")')
    environment = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=environment,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output[-6000:]}"
    assert "WARNING" not in output, f"mkdocs build printed warnings:\n{output[-6000:]}"
    site = tmp_path / "site"
    for page in ("index.html", "api/index.html", "guide/mixtures/index.html", "guide/sampling/index.html"):
        assert (site / page).exists(), f"the site has no {page}"
    assert "mixgraph.Mixture" in (site / "api" / "index.html").read_text()


def test_docs_figures_are_committed():
    figures = ROOT / "docs" / "figures"
    for name in ("shapes.png", "mixture_axis.png"):
        path = figures / name
        assert path.exists() and path.stat().st_size > 5_000, (
            f"docs/figures/{name} is missing: run python docs/figures/make_figures.py"
        )
    readme_figure = figures / "galaxies_fit.png"
    assert readme_figure.exists() and readme_figure.stat().st_size > 5_000, (
        "docs/figures/galaxies_fit.png (the README's figure) is missing: run "
        "python -m mixgraph --output docs/figures/galaxies_fit.png"
    )
    assert "docs/figures/galaxies_fit.png" in (ROOT / "README.md").read_text()
