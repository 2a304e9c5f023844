"""Run a script in a fresh Python process with its own model cache (for disk-cache tests)."""

import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["run_in_fresh_process"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run_in_fresh_process(script: str, cache_directory, *arguments: str) -> dict:
    """The JSON object printed last by ``script``, run with ``MIXGRAPH_CACHE=cache_directory``."""
    environment = dict(os.environ, MIXGRAPH_CACHE=str(cache_directory))
    result = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True,
                            env=environment, check=True, cwd=PROJECT_ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])
