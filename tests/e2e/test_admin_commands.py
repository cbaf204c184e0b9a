"""The admin commands of `sync-service` as real processes: one admin story, and a refusal."""

import json
import sqlite3

import pytest

from sandbox.processes import run_command

pytestmark = pytest.mark.e2e


def sync_service(home, *args, input=None):
    return run_command("sync-service", "--home", str(home), *args, input=input)


def ok(home, *args, input=None):
    result = sync_service(home, *args, input=input)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(home, *args, input=None):
    result = sync_service(home, *args, input=input)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_the_admin_story(tmp_path):
    home = tmp_path / "home"
    assert ok(home, "param", "set", "SYNC_EXCH", "1") == "SYNC_EXCH = 1\n"
    assert ok(home, "param", "get", "SYNC_EXCH") == "1\n"
    ok(home, "group", "add", "Trainers")
    ok(home, "group", "permissions", "Trainers", "--appointments", "own", "--contacts", "yes")
    ok(home, "user", "add", "pro", "--group", "Trainers")
    ok(home, "area", "add", "Lessons", "--owner", "pro")
    ok(home, "calendar", "add", "pro", "Lessons", "--folder", "PC CADDIE")
    ok(
        home,
        "account",
        "set",
        "pro",
        "--ews-url",
        "https://mail.example.com/EWS/Exchange.asmx",
        "--mailbox",
        "pro@example.com",
        "--password-stdin",
        input="s3cret-Pa55\n",
    )
    person_id = ok(home, "person", "add", "--first-name", "Anna", "--last-name", "Schmidt").strip()
    assert person_id == "1"
    appointment_id = ok(
        home,
        "appointment",
        "add",
        "Lessons",
        "--title",
        "Lesson",
        "--start",
        "2026-06-01T07:30Z",
        "--end",
        "2026-06-01T10:30",
        "--person",
        person_id,
    ).strip()
    assert appointment_id == "1"

    [row] = json.loads(ok(home, "appointment", "list", "--json"))
    assert {k: row[k] for k in ("id", "area", "title", "start", "end", "all_day", "persons")} == {
        "id": 1,
        "area": "Lessons",
        "title": "Lesson",
        "start": "2026-06-01T09:30:00+02:00",
        "end": "2026-06-01T10:30:00+02:00",
        "all_day": False,
        "persons": [1],
    }
    assert json.loads(ok(home, "calendar", "list", "pro", "--json"))[0]["folder"] == "PC CADDIE"
    assert json.loads(ok(home, "account", "show", "pro", "--json"))["password"] == "********"
    [user] = json.loads(ok(home, "user", "list", "--json"))
    assert user["effective"]["appointments"] == "own" and user["effective"]["areas"] == ["Lessons"]

    database = home / "pccaddie.sqlite3"
    wal = home / "pccaddie.sqlite3-wal"
    assert b"s3cret-Pa55" not in database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    connection = sqlite3.connect(database)
    try:
        assert connection.execute('SELECT start, "end" FROM appointment').fetchall() == [
            ("2026-06-01 09:30:00", "2026-06-01 10:30:00")
        ]
    finally:
        connection.close()


def test_refusals_are_one_line_and_write_nothing(tmp_path):
    home = tmp_path / "home"
    ok(home, "user", "add", "guest")
    ok(home, "area", "add", "Tee")
    line = refused(home, "calendar", "add", "guest", "Tee")
    assert line.startswith("Error: guest may not sync the area 'Tee'")
    assert ok(home, "calendar", "list", "guest", "--json") == "[]\n"

    line = refused(
        home, "appointment", "add", "Tee", "--title", "X", "--start", "2026-03-29T02:30", "--end", "2026-03-29T04:00"
    )
    assert line == (
        "Error: 2026-03-29 02:30 does not exist in Europe/Berlin: "
        "the clocks skip that hour (daylight saving time starts)"
    )
    assert refused(home, "param", "set", "SYNC_EXCH_ATTEMPTS", "0").startswith("Error: SYNC_EXCH_ATTEMPTS")
    assert json.loads(ok(home, "appointment", "list", "--json")) == []


def test_usage_error_is_exit_2(tmp_path):
    result = sync_service(tmp_path / "home", "user", "permissions", "someone", "--appointments", "sometimes")
    assert result.returncode == 2
    assert "Invalid value for '--appointments'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_command_waits_while_pc_caddie_is_writing(tmp_path):
    """PC CADDIE holds the write lock for a moment: the command waits (busy timeout) and succeeds."""
    import sqlite3
    import threading

    assert run_command("sync-service", "--home", str(tmp_path), "area", "add", "Tee times").returncode == 0
    writer = sqlite3.connect(tmp_path / "pccaddie.sqlite3", isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO timetable_area (name) VALUES ('Rooms')")
    release = threading.Timer(1.5, lambda: writer.execute("COMMIT"))
    release.start()
    try:
        result = run_command("sync-service", "--home", str(tmp_path), "area", "add", "Lessons")
    finally:
        release.join()
        writer.close()
    assert result.returncode == 0, result.stderr
    listed = run_command("sync-service", "--home", str(tmp_path), "area", "list", "--json")
    assert sorted(a["name"] for a in __import__("json").loads(listed.stdout)) == ["Lessons", "Rooms", "Tee times"]
