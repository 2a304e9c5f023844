"""Run scripts in fresh Python processes with their own model cache (for disk-cache tests).

A disk-cache test runs a script twice, each time in a new process, against the
same empty model cache: the first process compiles and writes, the second must
load. Starting a process and importing mixgraph costs seconds, so the scripts of
every such test are registered (``register_fresh_process_script``, at import of
the test module) and run together: one first process compiles them all, in
order, and one second process loads them all, in reverse order (so that no
model's cache hit depends on another model having been loaded before it).
Each script still prints its own JSON result, checked by its own test; a script
that fails fails only its own test, with its traceback.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

__all__ = ["checked_result", "register_fresh_process_script", "run_in_fresh_process", "run_registered_scripts"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# name -> (script, arguments of the first run)
_REGISTERED: dict[str, tuple[str, tuple[str, ...]]] = {}

_RUNNER = textwrap.dedent(
    """
    import contextlib, io, json, sys, traceback

    results = {}
    for name, script, arguments in json.loads(sys.argv[1]):
        sys.argv = ["-c", *arguments]
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output):
                exec(compile(script, name, "exec"), {"__name__": "__main__"})
            results[name] = json.loads(output.getvalue().strip().splitlines()[-1])
        except BaseException:
            results[name] = {"error": traceback.format_exc()}
    print(json.dumps(results))
    """
)


def _environment(cache_directory) -> dict:
    return dict(os.environ, MIXGRAPH_CACHE=str(cache_directory))


def run_in_fresh_process(script: str, cache_directory, *arguments: str) -> dict:
    """The JSON object printed last by ``script``, run with ``MIXGRAPH_CACHE=cache_directory``."""
    result = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True,
                            env=_environment(cache_directory), check=True, cwd=PROJECT_ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def register_fresh_process_script(name: str, script: str, *first_arguments: str) -> None:
    """Add ``script`` to the scripts run by :func:`run_registered_scripts`.

    ``first_arguments`` become its ``sys.argv[1:]`` in the first process only.
    """
    if name in _REGISTERED and _REGISTERED[name] != (script, first_arguments):
        raise ValueError(f"a different fresh-process script is already registered as {name!r}")
    _REGISTERED[name] = (script, first_arguments)


def run_registered_scripts(cache_directory) -> dict[str, tuple[dict, dict]]:
    """Each registered script's results ``(first, second)``: two processes sharing one empty model cache.

    A result is the JSON object the script printed last, or ``{"error": traceback}``.
    """
    names = list(_REGISTERED)
    first = run_in_fresh_process(_RUNNER, cache_directory, json.dumps(
        [(name, _REGISTERED[name][0], list(_REGISTERED[name][1])) for name in names]))
    second = run_in_fresh_process(_RUNNER, cache_directory, json.dumps(
        [(name, _REGISTERED[name][0], []) for name in reversed(names)]))
    return {name: (first[name], second[name]) for name in names}


def checked_result(results: dict, name: str) -> tuple[dict, dict]:
    """``results[name]``, or a failure showing the script's traceback."""
    first, second = results[name]
    for label, result in (("first", first), ("second", second)):
        if "error" in result:
            raise AssertionError(f"{name}: the {label} process failed:\n{result['error']}")
    return first, second
