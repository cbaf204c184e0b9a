"""`sync-service filter add|list|remove`: exclusion filters on appointment titles."""

import pytest


@pytest.fixture
def alice(run):
    run.ok("user", "add", "alice")
    run.ok("user", "add", "bob")
    return run


def test_add_list_remove(alice):
    assert alice.ok("filter", "add", "alice", "Test") == "filter 'Test' added for alice\n"
    assert alice.ok("filter", "add", "alice", "*Turnier") == "filter '*Turnier' added for alice\n"
    assert alice.ok("filter", "add", "alice", "Privat*") == "filter 'Privat*' added for alice\n"
    assert alice.ok("filter", "add", "alice", "Start*Ende") == "filter 'Start*Ende' added for alice\n"
    assert alice.json("filter", "list", "alice") == ["*Turnier", "Privat*", "Start*Ende", "Test"]
    lines = alice.ok("filter", "list", "alice").splitlines()
    assert lines == ["PATTERN", "*Turnier", "Privat*", "Start*Ende", "Test"]
    assert alice.ok("filter", "remove", "alice", "Privat*") == "filter 'Privat*' removed for alice\n"
    assert alice.json("filter", "list", "alice") == ["*Turnier", "Start*Ende", "Test"]


def test_filters_are_trimmed(alice):
    assert alice.ok("filter", "add", "alice", "  Test  ") == "filter 'Test' added for alice\n"
    assert alice.json("filter", "list", "alice") == ["Test"]
    alice.ok("filter", "remove", "alice", " Test ")
    assert alice.json("filter", "list", "alice") == []


def test_filters_are_per_user(alice):
    alice.ok("filter", "add", "alice", "Test")
    alice.ok("filter", "add", "bob", "Test")  # the same pattern for another user is fine
    alice.ok("filter", "remove", "bob", "Test")
    assert alice.json("filter", "list", "alice") == ["Test"]
    assert alice.json("filter", "list", "bob") == []
    assert alice.ok("filter", "list", "bob") == "(none)\n"


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("Te*st*", "has 2 '*': at most one is allowed"),
        ("**", "has 2 '*'"),
        ("*a*b*", "has 3 '*'"),
        ("", "a filter may not be empty"),
        ("   ", "a filter may not be empty"),
        ("*", "would exclude everything"),
    ],
)
def test_bad_filters(alice, pattern, message):
    alice.ok("filter", "add", "alice", "Keep")
    line = alice.refused("filter", "add", "alice", pattern)
    assert message in line
    assert alice.json("filter", "list", "alice") == ["Keep"]


def test_add_twice_is_refused(alice):
    alice.ok("filter", "add", "alice", "Test")
    assert alice.refused("filter", "add", "alice", " Test") == "Error: alice has the filter 'Test' already"
    assert alice.count("exclusion_filter") == 1


def test_remove_a_filter_that_is_not_there(alice):
    alice.ok("filter", "add", "alice", "Test")
    assert alice.refused("filter", "remove", "alice", "test") == "Error: alice has no filter 'test'"
    assert alice.json("filter", "list", "alice") == ["Test"]


@pytest.mark.parametrize(
    "args", [["add", "ghost", "Test"], ["list", "ghost"], ["remove", "ghost", "Test"]], ids=["add", "list", "remove"]
)
def test_unknown_user(alice, args):
    assert alice.refused("filter", *args).startswith("Error: unknown user 'ghost'")
    assert alice.count("exclusion_filter") == 0
