"""`sync-service area add|list`."""

import pytest


def test_area_add_and_list(run):
    run.ok("user", "add", "bob")
    run.ok("user", "add", "alice")
    assert run.ok("area", "add", "Tee") == "area Tee added (id 1)\n"
    assert run.ok("area", "add", "Pro", "--owner", "bob", "--owner", "alice") == "area Pro added (id 2)\n"
    assert run.json("area", "list") == [
        {"id": 2, "name": "Pro", "owners": ["alice", "bob"]},
        {"id": 1, "name": "Tee", "owners": []},
    ]
    lines = run.ok("area", "list").splitlines()
    assert lines[0].split() == ["ID", "AREA", "OWNERS"]
    assert lines[1].split() == ["2", "Pro", "alice,", "bob"]
    assert lines[2].split() == ["1", "Tee", "-"]


def test_area_list_when_there_is_none(run):
    assert run.ok("area", "list") == "(none)\n"
    assert run.json("area", "list") == []


def test_the_same_owner_twice_is_one_owner(run):
    run.ok("user", "add", "bob")
    run.ok("area", "add", "Pro", "--owner", "bob", "--owner", "bob")
    assert run.json("area", "list") == [{"id": 1, "name": "Pro", "owners": ["bob"]}]


def test_area_names_are_trimmed(run):
    run.ok("area", "add", "  Tee  ")
    assert run.json("area", "list")[0]["name"] == "Tee"


@pytest.mark.parametrize("name", ["", "  "])
def test_area_add_needs_a_name(run, name):
    assert run.refused("area", "add", name) == "Error: a timetable area needs a name"
    assert run.json("area", "list") == []


def test_area_add_twice_is_refused(run):
    run.ok("area", "add", "Tee")
    assert run.refused("area", "add", "Tee") == "Error: the timetable area 'Tee' exists already"
    assert run.json("area", "list") == [{"id": 1, "name": "Tee", "owners": []}]


def test_area_add_with_an_unknown_owner_adds_no_area(run):
    run.ok("user", "add", "bob")
    line = run.refused("area", "add", "Pro", "--owner", "bob", "--owner", "ghost")
    assert line.startswith("Error: unknown user 'ghost'")
    assert run.json("area", "list") == []
    assert run.count("area_owner") == 0
