"""`sync-service param set|get|list`."""

import pytest


def test_defaults_without_anything_set(run):
    assert run.ok("param", "get", "SYNC_EXCH") == "0\n"
    assert run.ok("param", "get", "SYNC_EXCH_ATTEMPTS") == "10\n"
    assert run.json("param", "list") == [
        {"name": "SYNC_EXCH", "value": "0", "default": True},
        {"name": "SYNC_EXCH_ATTEMPTS", "value": "10", "default": True},
    ]


def test_set_then_get_and_list(run):
    assert run.ok("param", "set", "SYNC_EXCH", "1") == "SYNC_EXCH = 1\n"
    assert run.ok("param", "set", "SYNC_EXCH_ATTEMPTS", "3") == "SYNC_EXCH_ATTEMPTS = 3\n"
    assert run.ok("param", "set", "OTHER_PARAM", "anything at all") == "OTHER_PARAM = anything at all\n"
    assert run.ok("param", "get", "SYNC_EXCH") == "1\n"
    assert run.ok("param", "get", "SYNC_EXCH_ATTEMPTS") == "3\n"
    assert run.ok("param", "get", "OTHER_PARAM") == "anything at all\n"
    assert run.json("param", "list") == [
        {"name": "OTHER_PARAM", "value": "anything at all", "default": False},
        {"name": "SYNC_EXCH", "value": "1", "default": False},
        {"name": "SYNC_EXCH_ATTEMPTS", "value": "3", "default": False},
    ]


def test_list_as_a_table_marks_defaults(run):
    run.ok("param", "set", "SYNC_EXCH", "1")
    lines = run.ok("param", "list").splitlines()
    assert lines[0].split() == ["NAME", "VALUE"]
    assert lines[1].split() == ["SYNC_EXCH", "1"]
    assert lines[2].split() == ["SYNC_EXCH_ATTEMPTS", "10", "(default)"]


def test_set_replaces_the_value(run):
    run.ok("param", "set", "SYNC_EXCH", "1")
    run.ok("param", "set", "SYNC_EXCH", "0")
    assert run.ok("param", "get", "SYNC_EXCH") == "0\n"
    assert run.rows("SELECT name, value FROM special_parameter") == [("SYNC_EXCH", "0")]


def test_names_are_case_insensitive_and_values_trimmed(run):
    assert run.ok("param", "set", "sync_exch", " 1 ") == "SYNC_EXCH = 1\n"
    assert run.ok("param", "get", "Sync_Exch") == "1\n"
    assert run.ok("param", "set", "SYNC_EXCH_ATTEMPTS", "007") == "SYNC_EXCH_ATTEMPTS = 7\n"


@pytest.mark.parametrize("value", ["2", "yes", "on", "", "-1", "01", "1.0"])
def test_sync_exch_is_0_or_1(run, value):
    line = run.refused("param", "set", "--", "SYNC_EXCH", value)  # "--": values may start with "-"
    assert "SYNC_EXCH" in line
    assert run.ok("param", "get", "SYNC_EXCH") == "0\n"
    assert run.count("special_parameter") == 0


@pytest.mark.parametrize("value", ["0", "-3", "+3", "abc", "", "2.5", "1e3", "ten"])
def test_attempts_is_a_positive_integer(run, value):
    run.ok("param", "set", "SYNC_EXCH_ATTEMPTS", "4")
    line = run.refused("param", "set", "--", "SYNC_EXCH_ATTEMPTS", value)
    assert "SYNC_EXCH_ATTEMPTS" in line
    assert run.ok("param", "get", "SYNC_EXCH_ATTEMPTS") == "4\n"


def test_attempts_with_a_superscript_digit_is_refused_cleanly(run):
    run.refused("param", "set", "SYNC_EXCH_ATTEMPTS", "²")


@pytest.mark.parametrize("name", ["1ABC", "WITH SPACE", "DASH-ED", "", "Ä"])
def test_bad_parameter_names(run, name):
    assert "is not a parameter name" in run.refused("param", "set", name, "1")
    assert run.count("special_parameter") == 0


def test_get_of_a_parameter_never_set(run):
    assert run.refused("param", "get", "NEVER_SET") == "Error: the parameter NEVER_SET is not set"


def test_set_needs_a_value(run):
    run.usage_error("param", "set", "SYNC_EXCH")
