"""`sync-service appointment add|update|delete|list`: times in the club's zone (default Europe/Berlin)."""

import datetime as dt

import pytest


@pytest.fixture
def tt(club):
    """The club, plus persons 1 and 2."""
    club.ok("person", "add", "--first-name", "Anna", "--last-name", "Schmidt")
    club.ok("person", "add", "--first-name", "Bernd", "--last-name", "Adler")
    return club


def add(run, *args, area="Tee", title="Lesson"):
    """appointment add; the new id."""
    out = run.ok("appointment", "add", area, "--title", title, *args)
    assert out.strip().isdigit(), out  # the id only
    return int(out)


def only(run, *args):
    [row] = run.json("appointment", "list", *args)
    return row


def stored_times(run, appointment_id):
    return run.rows('SELECT start, "end" FROM appointment WHERE id = ?', appointment_id)[0]


# --- add and list ---------------------------------------------------------------------------------


def test_add_prints_the_new_id_only(tt):
    assert (
        tt.ok("appointment", "add", "Tee", "--title", "A", "--start", "2026-06-01T09:30", "--end", "2026-06-01T10:30")
        == "1\n"
    )
    assert (
        tt.ok("appointment", "add", "Tee", "--title", "B", "--start", "2026-06-02T09:30", "--end", "2026-06-02T10:30")
        == "2\n"
    )


def test_add_and_list_as_json(tt):
    appointment_id = add(
        tt,
        "--start",
        "2026-06-01T09:30",
        "--end",
        "2026-06-01T10:45",
        "--location",
        " Range ",
        "--text",
        "Bring balls\nand clubs",
        "--private",
        "--person",
        "2",
        "--person",
        "1",
        area="Pro",
    )
    row = only(tt)
    created = dt.datetime.fromisoformat(row.pop("created"))
    modified = dt.datetime.fromisoformat(row.pop("modified"))
    assert created.utcoffset() == dt.timedelta(0) and modified.utcoffset() == dt.timedelta(0)
    assert row == {
        "id": appointment_id,
        "area": "Pro",
        "title": "Lesson",
        "start": "2026-06-01T09:30:00+02:00",
        "end": "2026-06-01T10:45:00+02:00",
        "all_day": False,
        "location": "Range",
        "text": "Bring balls\nand clubs",
        "private": True,
        "persons": [1, 2],
    }


def test_times_with_an_offset_are_stored_as_club_wall_time(tt):
    appointment_id = add(tt, "--start", "2026-06-01T07:30Z", "--end", "2026-06-01T09:30-02:00")
    assert stored_times(tt, appointment_id) == ("2026-06-01 09:30:00", "2026-06-01 13:30:00")
    row = only(tt)
    assert (row["start"], row["end"]) == ("2026-06-01T09:30:00+02:00", "2026-06-01T13:30:00+02:00")


def test_winter_times_show_plus_one_hour(tt):
    add(tt, "--start", "2026-01-15 10:00", "--end", "2026-01-15T11:00:00+01:00")
    row = only(tt)
    assert (row["start"], row["end"]) == ("2026-01-15T10:00:00+01:00", "2026-01-15T11:00:00+01:00")


def test_an_ambiguous_autumn_time_is_its_first_occurrence(tt):
    add(tt, "--start", "2026-10-25T02:30", "--end", "2026-10-25T03:30")
    row = only(tt)
    assert row["start"] == "2026-10-25T02:30:00+02:00"
    assert row["end"] == "2026-10-25T03:30:00+01:00"


def test_the_club_time_zone_comes_from_the_config(tt):
    (tt.home / "config.toml").write_text('[club]\ntimezone = "America/New_York"\n')
    add(tt, "--start", "2026-06-01T09:30", "--end", "2026-06-01T16:00Z")
    row = only(tt)
    assert (row["start"], row["end"]) == ("2026-06-01T09:30:00-04:00", "2026-06-01T12:00:00-04:00")


def test_all_day_entries_show_dates_with_the_inclusive_last_day(tt):
    add(tt, "--all-day", "--start", "2026-06-01", "--end", "2026-06-03", title="Tournament")
    add(tt, "--all-day", "--start", "2026-06-10", title="Club day")  # one day
    first, second = tt.json("appointment", "list")
    assert (first["start"], first["end"], first["all_day"]) == ("2026-06-01", "2026-06-03", True)
    assert (second["start"], second["end"]) == ("2026-06-10", "2026-06-10")
    # stored as local midnights, the end exclusive
    assert stored_times(tt, 1) == ("2026-06-01 00:00:00", "2026-06-04 00:00:00")
    assert stored_times(tt, 2) == ("2026-06-10 00:00:00", "2026-06-11 00:00:00")


def test_list_table(tt):
    add(tt, "--start", "2026-06-01T09:30", "--end", "2026-06-01T10:30", "--person", "1", title="Lesson")
    add(tt, "--all-day", "--private", "--start", "2026-06-02", title="Closed")
    lines = tt.ok("appointment", "list").splitlines()
    assert lines[0].split() == ["ID", "AREA", "START", "END", "TITLE", "FLAGS", "PERSONS"]
    assert lines[1].split() == ["1", "Tee", "2026-06-01", "09:30", "2026-06-01", "10:30", "Lesson", "-", "1"]
    assert lines[2].split() == ["2", "Tee", "2026-06-02", "2026-06-02", "Closed", "all-day,private", "-"]


def test_list_when_there_is_none(tt):
    assert tt.ok("appointment", "list") == "(none)\n"
    assert tt.json("appointment", "list") == []


def test_list_is_by_start_and_filters_by_area(tt):
    add(tt, "--start", "2026-06-02T08:00", "--end", "2026-06-02T09:00", area="Pro", title="Late")
    add(tt, "--start", "2026-06-01T08:00", "--end", "2026-06-01T09:00", area="Tee", title="Early")
    add(tt, "--start", "2026-06-01T12:00", "--end", "2026-06-01T13:00", area="Pro", title="Noon")
    assert [r["title"] for r in tt.json("appointment", "list")] == ["Early", "Noon", "Late"]
    assert [r["title"] for r in tt.json("appointment", "list", "--area", "Pro")] == ["Noon", "Late"]
    assert tt.refused("appointment", "list", "--area", "Nowhere").startswith("Error: unknown timetable area")


def test_list_from_and_to(tt):
    add(tt, "--start", "2026-06-01T08:00", "--end", "2026-06-01T09:00", title="June 1")
    add(tt, "--start", "2026-06-02T23:00", "--end", "2026-06-03T01:00", title="Overnight")
    add(tt, "--start", "2026-06-05T08:00", "--end", "2026-06-05T09:00", title="June 5")
    titles = lambda *args: [r["title"] for r in tt.json("appointment", "list", *args)]  # noqa: E731
    assert titles("--from", "2026-06-02") == ["Overnight", "June 5"]
    assert titles("--to", "2026-06-02") == ["June 1", "Overnight"]
    assert titles("--from", "2026-06-03", "--to", "2026-06-04") == ["Overnight"]
    assert tt.refused("appointment", "list", "--from", "June").startswith("Error: 'June' is not a date")


def test_list_from_leaves_out_all_day_entries_that_ended_before(tt):
    add(tt, "--all-day", "--start", "2026-05-31", title="Yesterday")
    assert tt.json("appointment", "list", "--from", "2026-06-01") == []


# --- add refusals: one line, exit 1, no appointment -----------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(
            ["Nowhere", "--title", "A", "--start", "2026-06-01T09:00", "--end", "2026-06-01T10:00"],
            "unknown timetable area 'Nowhere'",
            id="unknown-area",
        ),
        pytest.param(
            [
                "Tee",
                "--title",
                "A",
                "--start",
                "2026-06-01T09:00",
                "--end",
                "2026-06-01T10:00",
                "--person",
                "1",
                "--person",
                "999",
            ],
            "unknown person 999",
            id="unknown-person",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--start", "2026-03-29T02:30", "--end", "2026-03-29T04:00"],
            "2026-03-29 02:30 does not exist in Europe/Berlin",
            id="start-in-dst-gap",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--start", "2026-03-29T01:30", "--end", "2026-03-29T02:15"],
            "2026-03-29 02:15 does not exist in Europe/Berlin",
            id="end-in-dst-gap",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--start", "2026-06-01T10:00", "--end", "2026-06-01T09:59"],
            "is before the start",
            id="end-before-start",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--start", "2026-06-01T10:00Z", "--end", "2026-06-01T11:00"],
            "is before the start",
            id="end-before-start-with-offset",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--all-day", "--start", "2026-06-03", "--end", "2026-06-01"],
            "is before the first day",
            id="all-day-end-before-start",
        ),
        pytest.param(["Tee", "--title", "A", "--start", "2026-06-01T09:00"], "--end is needed", id="no-end"),
        pytest.param(["Tee", "--title", "A", "--end", "2026-06-01T09:00"], "needs --title and --start", id="no-start"),
        pytest.param(
            ["Tee", "--start", "2026-06-01T09:00", "--end", "2026-06-01T10:00"],
            "needs --title and --start",
            id="no-title",
        ),
        pytest.param(
            ["Tee", "--title", "  ", "--start", "2026-06-01T09:00", "--end", "2026-06-01T10:00"],
            "needs a title",
            id="blank-title",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--start", "tomorrow", "--end", "2026-06-01T10:00"],
            "'tomorrow' is not a date and time",
            id="bad-start",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--start", "2026-06-01", "--end", "2026-06-01T10:00"],
            "has no time of day",
            id="date-for-timed",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--start", "2026-06-31T09:00", "--end", "2026-07-01T10:00"],
            "is not a date and time",
            id="no-such-day",
        ),
        pytest.param(
            ["Tee", "--title", "A", "--all-day", "--start", "first of June"], "is not a date", id="bad-all-day-date"
        ),
    ],
)
def test_add_refusals_write_nothing(tt, args, message):
    line = tt.refused("appointment", "add", *args)
    assert message in line
    assert tt.json("appointment", "list") == []
    assert tt.count("appointment") == 0
    assert tt.count("booking") == 0


@pytest.mark.parametrize(
    "args",
    [
        ["add", "Tee", "--title", "A", "--start", "2026-06-01T09:00", "--end", "2026-06-01T10:00", "--person", "x"],
        ["add", "--title", "A", "--start", "2026-06-01T09:00", "--end", "2026-06-01T10:00"],
        ["update", "one", "--title", "B"],
        ["delete", "one"],
        ["delete"],
        ["list", "--bogus"],
    ],
)
def test_usage_errors(tt, args):
    tt.usage_error("appointment", *args)
    assert tt.count("appointment") == 0


def test_the_same_person_twice_is_one_booking(tt):
    add(tt, "--start", "2026-06-01T09:00", "--end", "2026-06-01T10:00", "--person", "1", "--person", "1")
    assert only(tt)["persons"] == [1]
    assert tt.count("booking") == 1


# --- update ---------------------------------------------------------------------------------------


@pytest.fixture
def lesson(tt):
    """Appointment 1 in Tee, 2026-06-01 09:30-10:30, person 1 booked."""
    add(tt, "--start", "2026-06-01T09:30", "--end", "2026-06-01T10:30", "--location", "Range", "--person", "1")
    return tt


def test_update_changes_only_what_is_given(lesson):
    before = only(lesson)
    assert lesson.ok("appointment", "update", "1", "--title", "Group lesson", "--private") == "appointment 1 updated\n"
    after = only(lesson)
    assert after["title"] == "Group lesson" and after["private"] is True
    for unchanged in ("area", "start", "end", "all_day", "location", "text", "persons"):
        assert after[unchanged] == before[unchanged], unchanged
    lesson.ok("appointment", "update", "1", "--not-private", "--location", "", "--text", "Note")
    after = only(lesson)
    assert (after["private"], after["location"], after["text"]) == (False, "", "Note")


def test_update_times(lesson):
    lesson.ok("appointment", "update", "1", "--start", "2026-06-01T08:00Z", "--end", "2026-06-01T11:00")
    row = only(lesson)
    assert (row["start"], row["end"]) == ("2026-06-01T10:00:00+02:00", "2026-06-01T11:00:00+02:00")


def test_update_only_the_end(lesson):
    lesson.ok("appointment", "update", "1", "--end", "2026-06-01T12:00")
    row = only(lesson)
    assert (row["start"], row["end"]) == ("2026-06-01T09:30:00+02:00", "2026-06-01T12:00:00+02:00")


def test_update_only_the_end_keeps_the_seconds_of_the_start(tt):
    add(tt, "--start", "2026-06-01T09:30:15", "--end", "2026-06-01T10:30")
    tt.ok("appointment", "update", "1", "--end", "2026-06-01T12:00")
    assert only(tt)["start"] == "2026-06-01T09:30:15+02:00"


def test_update_move_to_another_area(lesson):
    lesson.ok("appointment", "update", "1", "--area", "Pro")
    assert only(lesson)["area"] == "Pro"
    assert lesson.json("appointment", "list", "--area", "Tee") == []


def test_update_persons_replace_the_bookings(lesson):
    lesson.ok("appointment", "update", "1", "--person", "2")
    assert only(lesson)["persons"] == [2]
    lesson.ok("appointment", "update", "1", "--person", "1", "--person", "2")
    assert only(lesson)["persons"] == [1, 2]
    lesson.ok("appointment", "update", "1", "--title", "Keep bookings")
    assert only(lesson)["persons"] == [1, 2]
    lesson.ok("appointment", "update", "1", "--no-persons")
    assert only(lesson)["persons"] == []
    assert lesson.count("booking") == 0


def test_update_timed_to_all_day_and_back(lesson):
    lesson.ok("appointment", "update", "1", "--all-day", "--start", "2026-06-01", "--end", "2026-06-02")
    row = only(lesson)
    assert (row["all_day"], row["start"], row["end"]) == (True, "2026-06-01", "2026-06-02")
    assert stored_times(lesson, 1) == ("2026-06-01 00:00:00", "2026-06-03 00:00:00")
    lesson.ok("appointment", "update", "1", "--timed", "--start", "2026-06-01T14:00", "--end", "2026-06-01T15:00")
    row = only(lesson)
    assert (row["all_day"], row["start"], row["end"]) == (
        False,
        "2026-06-01T14:00:00+02:00",
        "2026-06-01T15:00:00+02:00",
    )


def test_update_the_last_day_of_an_all_day_entry(tt):
    add(tt, "--all-day", "--start", "2026-06-01", "--end", "2026-06-03")
    tt.ok("appointment", "update", "1", "--end", "2026-06-05")
    row = only(tt)
    assert (row["start"], row["end"]) == ("2026-06-01", "2026-06-05")


def test_update_the_first_day_of_an_all_day_entry_keeps_its_last_day(tt):
    add(tt, "--all-day", "--start", "2026-06-01", "--end", "2026-06-03")
    tt.ok("appointment", "update", "1", "--start", "2026-06-02")
    row = only(tt)
    assert (row["start"], row["end"]) == ("2026-06-02", "2026-06-03")


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["--person", "999"], "unknown person 999", id="unknown-person"),
        pytest.param(["--area", "Nowhere"], "unknown timetable area 'Nowhere'", id="unknown-area"),
        pytest.param(
            ["--start", "2026-06-01T11:00", "--end", "2026-06-01T10:00"], "is before the start", id="end-before-start"
        ),
        pytest.param(["--end", "2026-06-01T09:00"], "is before the start", id="end-before-kept-start"),
        pytest.param(["--start", "2026-03-29T02:30", "--end", "2026-03-29T04:00"], "does not exist", id="dst-gap"),
        pytest.param(["--start", "2026-06-01T23:00"], "is before the start", id="start-after-kept-end"),
        pytest.param(["--all-day"], "needs --start", id="all-day-without-start"),
        pytest.param(["--title", ""], "needs a title", id="empty-title"),
        pytest.param(["--person", "2", "--no-persons"], "either --person or --no-persons", id="persons-and-none"),
    ],
)
def test_update_refusals_change_nothing(lesson, args, message):
    before = only(lesson)
    line = lesson.refused("appointment", "update", "1", "--title", "Changed", "--location", "Changed", *args)
    assert message in line
    assert only(lesson) == before


def test_update_an_unknown_appointment(lesson):
    assert lesson.refused("appointment", "update", "999", "--title", "X").startswith("Error: unknown appointment 999")


# --- delete ---------------------------------------------------------------------------------------


def test_delete(lesson):
    add(lesson, "--start", "2026-06-02T09:30", "--end", "2026-06-02T10:30", title="Other")
    assert lesson.ok("appointment", "delete", "1") == "appointment 1 deleted\n"
    assert [r["id"] for r in lesson.json("appointment", "list")] == [2]
    assert lesson.count("booking") == 0  # its bookings went with it
    assert [p["id"] for p in lesson.json("person", "list")] == [2, 1]  # the persons stay


def test_delete_an_unknown_appointment(lesson):
    assert lesson.refused("appointment", "delete", "999").startswith("Error: unknown appointment 999")
    lesson.ok("appointment", "delete", "1")
    assert lesson.refused("appointment", "delete", "1").startswith("Error: unknown appointment 1")


def test_update_only_the_start_keeps_the_end(tt):
    add(tt, "--start", "2026-06-01T09:30", "--end", "2026-06-01T12:00")
    tt.ok("appointment", "update", "1", "--start", "2026-06-01T10:00")
    entry = only(tt)
    assert (entry["start"], entry["end"]) == ("2026-06-01T10:00:00+02:00", "2026-06-01T12:00:00+02:00")
