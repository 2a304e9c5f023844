"""The disk-cache tests' helper: registered scripts run together, each result kept apart.

Two trivial scripts ride along with the disk-cache scripts (they import
nothing heavy): one reports its arguments and process, one fails.
"""

import textwrap

import pytest

from fresh_process import checked_result, register_fresh_process_script

REPORT_ARGUMENTS = textwrap.dedent(
    """
    import json, os, sys
    print("output before the result is ignored")
    print(json.dumps({"arguments": sys.argv[1:], "process": os.getpid(), "cache": os.environ["MIXGRAPH_CACHE"]}))
    """
)
FAILS = "raise RuntimeError('this script fails on purpose')\n"
register_fresh_process_script("report_arguments", REPORT_ARGUMENTS, "first-only")
register_fresh_process_script("fails_on_purpose", FAILS)


def test_arguments_go_to_the_first_process_only_and_both_share_one_cache(fresh_process_results):
    first, second = checked_result(fresh_process_results, "report_arguments")
    assert first["arguments"] == ["first-only"] and second["arguments"] == []
    assert first["process"] != second["process"]
    assert first["cache"] == second["cache"]


def test_a_failing_script_fails_only_its_own_check_with_its_traceback(fresh_process_results):
    with pytest.raises(AssertionError, match=r"fails_on_purpose: the first process failed:(.|\n)*this script fails on purpose"):
        checked_result(fresh_process_results, "fails_on_purpose")
    assert "error" not in fresh_process_results["report_arguments"][0]


def test_registering_a_different_script_under_a_taken_name_is_an_error():
    with pytest.raises(ValueError, match="'report_arguments'"):
        register_fresh_process_script("report_arguments", "print('{}')\n")
