"""`sync-service calendar add|list|remove|resume`, and the permissions that allow a calendar."""

import pytest

MAIN = {
    "folder": None,
    "read_only": False,
    "hide_private": False,
    "disable_reminders": False,
    "auto_sync_contacts": False,
    "policy": "pccaddie-wins",
    "paused": None,
    "shares_calendar_with": [],
    "import_area": True,
    "mailbox_blocked": None,  # issue 13, defect 7: set while the sync leaves the mailbox alone
}


def test_add_to_the_main_calendar_and_list(club):
    assert club.ok("calendar", "add", "alice", "Tee") == "alice now syncs Tee with the main calendar\n"
    assert club.json("calendar", "list", "alice") == [{"area": "Tee", **MAIN}]
    lines = club.ok("calendar", "list", "alice").splitlines()
    assert lines[0].split() == ["AREA", "FOLDER", "OPTIONS", "STATE"]
    assert lines[1].split() == ["Tee", "(main", "calendar)", "-", "active"]


def test_add_with_a_folder_and_every_option(club):
    out = club.ok(
        "calendar",
        "add",
        "alice",
        "Pro",
        "--folder",
        " Pro shop ",
        "--read-only",
        "--hide-private",
        "--disable-reminders",
        "--auto-sync-contacts",
    )
    assert out.startswith("alice now syncs Pro with the calendar") and "Pro shop" in out
    club.ok("calendar", "add", "alice", "Tee", "--read-only")
    assert club.json("calendar", "list", "alice") == [
        {
            "area": "Pro",
            "folder": "Pro shop",
            "read_only": True,
            "hide_private": True,
            "disable_reminders": True,
            "auto_sync_contacts": True,
            "policy": "pccaddie-wins",
            "paused": None,
            "shares_calendar_with": [],
            "import_area": True,
            "mailbox_blocked": None,
        },
        {"area": "Tee", **MAIN, "read_only": True},
    ]
    table = club.ok("calendar", "list", "alice")
    assert "read only, hide private, disable reminders, auto sync contacts" in table


def test_a_blank_folder_is_the_main_calendar(club):
    assert (
        club.ok("calendar", "add", "alice", "Tee", "--folder", "  ") == "alice now syncs Tee with the main calendar\n"
    )
    assert club.json("calendar", "list", "alice")[0]["folder"] is None


def test_list_of_a_user_without_calendars(club):
    assert club.ok("calendar", "list", "alice") == "(none)\n"
    assert club.json("calendar", "list", "alice") == []


def test_calendars_are_per_user(club):
    club.ok("user", "permissions", "bob", "--appointments", "all")
    club.ok("calendar", "add", "alice", "Tee")
    club.ok("calendar", "add", "bob", "Pro")
    assert [c["area"] for c in club.json("calendar", "list", "alice")] == ["Tee"]
    assert [c["area"] for c in club.json("calendar", "list", "bob")] == ["Pro"]


def test_add_twice_is_refused_and_keeps_the_first_options(club):
    club.ok("calendar", "add", "alice", "Tee", "--read-only")
    line = club.refused("calendar", "add", "alice", "Tee", "--folder", "Other")
    assert line.startswith("Error: alice syncs 'Tee' already")
    assert club.json("calendar", "list", "alice") == [{"area": "Tee", **MAIN, "read_only": True}]


@pytest.mark.parametrize(
    "args, message",
    [
        (["ghost", "Tee"], "Error: unknown user 'ghost'"),
        (["alice", "Nowhere"], "Error: unknown timetable area 'Nowhere'"),
    ],
)
def test_add_with_unknown_user_or_area(club, args, message):
    assert club.refused("calendar", "add", *args).startswith(message)
    assert club.count("calendar_subscription") == 0


def test_list_of_an_unknown_user(club):
    assert club.refused("calendar", "list", "ghost").startswith("Error: unknown user 'ghost'")


def test_remove(club):
    club.ok("calendar", "add", "alice", "Tee")
    club.ok("calendar", "add", "alice", "Pro")
    assert club.ok("calendar", "remove", "alice", "Tee") == "alice no longer syncs Tee\n"
    assert [c["area"] for c in club.json("calendar", "list", "alice")] == ["Pro"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["alice", "Pro"], "Error: alice does not sync 'Pro'"),
        (["ghost", "Tee"], "Error: unknown user 'ghost'"),
        (["alice", "Nowhere"], "Error: unknown timetable area 'Nowhere'"),
    ],
)
@pytest.mark.parametrize("command", ["remove", "resume"])
def test_remove_or_resume_what_is_not_synced(club, command, args, message):
    club.ok("calendar", "add", "alice", "Tee")
    assert club.refused("calendar", command, *args).startswith(message)
    assert club.json("calendar", "list", "alice") == [{"area": "Tee", **MAIN}]


def test_resume_a_paused_calendar(club):
    club.ok("calendar", "add", "alice", "Tee")
    club.execute("UPDATE calendar_subscription SET paused_reason = ?", "mass deletion guard: 40 of 50 deleted")
    assert club.json("calendar", "list", "alice")[0]["paused"] == "mass deletion guard: 40 of 50 deleted"
    assert "paused: mass deletion guard" in club.ok("calendar", "list", "alice")
    assert club.ok("calendar", "resume", "alice", "Tee") == (
        "alice's Tee resumed (it was paused: mass deletion guard: 40 of 50 deleted)\n"
    )
    assert club.json("calendar", "list", "alice") == [{"area": "Tee", **MAIN}]
    assert club.ok("calendar", "resume", "alice", "Tee") == "alice's Tee was not paused\n"


# --- which areas a user's permissions allow -------------------------------------------------------
# In the `club` fixture: group Staff may sync all areas; alice follows Staff; bob has no group and
# owns Pro; Tee belongs to nobody.


@pytest.mark.parametrize(
    "setup, login, area, reason",
    [
        pytest.param(
            [["user", "permissions", "alice", "--appointments", "none"]],
            "alice",
            "Tee",
            "may not sync appointments at all",
            id="none",
        ),
        pytest.param(
            [["user", "permissions", "bob", "--appointments", "own"]],
            "bob",
            "Tee",
            "may only sync the areas they own",
            id="own-not-owned",
        ),
        pytest.param(
            [["user", "permissions", "alice", "--appointments", "listed", "--area", "Pro"]],
            "alice",
            "Tee",
            "may only sync the areas listed",
            id="listed-other-area",
        ),
        pytest.param([], "bob", "Pro", "may not sync appointments at all", id="group-without-group"),
        pytest.param(
            [["group", "add", "Guests"], ["user", "add", "carol", "--group", "Guests"]],
            "carol",
            "Tee",
            "may not sync appointments at all",
            id="group-with-nothing-allowed",
        ),
        pytest.param(
            [["group", "permissions", "Staff", "--appointments", "listed", "--area", "Pro"]],
            "alice",
            "Tee",
            "may only sync the areas listed",
            id="group-listed-other-area",
        ),
        pytest.param(
            [["group", "permissions", "Staff", "--appointments", "own"], ["user", "add", "dave", "--group", "Staff"]],
            "dave",
            "Pro",
            "may only sync the areas they own",
            id="group-own-not-owned",
        ),
    ],
)
def test_calendar_add_refused_by_permissions(club, setup, login, area, reason):
    for command in setup:
        club.ok(*command)
    before = club.ok("calendar", "list", login)
    line = club.refused("calendar", "add", login, area)
    assert line.startswith(f"Error: {login} may not sync the area '{area}': the user {reason}")
    assert club.ok("calendar", "list", login) == before
    assert club.count("calendar_subscription") == 0


@pytest.mark.parametrize(
    "setup, login, area",
    [
        pytest.param([["user", "permissions", "bob", "--appointments", "all"]], "bob", "Tee", id="all"),
        pytest.param([["user", "permissions", "bob", "--appointments", "own"]], "bob", "Pro", id="own-owned"),
        pytest.param(
            [["user", "permissions", "bob", "--appointments", "listed", "--area", "Tee"]], "bob", "Tee", id="listed"
        ),
        pytest.param([], "alice", "Tee", id="group-all"),
        pytest.param(
            [["group", "permissions", "Staff", "--appointments", "listed", "--area", "Pro"]],
            "alice",
            "Pro",
            id="group-listed",
        ),
        pytest.param(
            [["group", "permissions", "Staff", "--appointments", "own"], ["area", "add", "Shop", "--owner", "alice"]],
            "alice",
            "Shop",
            id="group-own",
        ),
    ],
)
def test_calendar_add_allowed_by_permissions(club, setup, login, area):
    for command in setup:
        club.ok(*command)
    club.ok("calendar", "add", login, area)
    assert [c["area"] for c in club.json("calendar", "list", login)] == [area]


def test_a_refusal_leaves_existing_calendars_alone(club):
    club.ok("user", "permissions", "bob", "--appointments", "own")
    club.ok("calendar", "add", "bob", "Pro", "--hide-private")
    before = club.json("calendar", "list", "bob")
    club.refused("calendar", "add", "bob", "Tee")
    assert club.json("calendar", "list", "bob") == before == [{"area": "Pro", **MAIN, "hide_private": True}]


def test_the_users_own_listed_areas_count_not_the_groups(club):
    club.ok("group", "permissions", "Staff", "--appointments", "listed", "--area", "Tee")
    club.ok("user", "permissions", "alice", "--appointments", "listed", "--area", "Pro")
    club.refused("calendar", "add", "alice", "Tee")
    club.ok("calendar", "add", "alice", "Pro")


@pytest.mark.parametrize("policy", ["pccaddie-wins", "exchange-wins", "newest-wins"])
def test_conflict_policy(club, policy):
    club.ok("calendar", "add", "alice", "Tee", "--policy", policy)
    assert club.json("calendar", "list", "alice")[0]["policy"] == policy


def test_unknown_policy_is_a_usage_error(club):
    result = club("calendar", "add", "alice", "Tee", "--policy", "loudest-wins")
    assert result.exit_code == 2 and "Invalid value for '--policy'" in result.stderr


def test_areas_sharing_a_calendar_and_the_import_area(club):
    club.ok("area", "add", "Lessons")
    club.ok("calendar", "add", "alice", "Tee")
    club.ok("calendar", "add", "alice", "Lessons")
    listed = {r["area"]: r for r in club.json("calendar", "list", "alice")}
    assert listed["Tee"]["shares_calendar_with"] == ["Lessons"] and listed["Tee"]["import_area"] is True
    assert listed["Lessons"]["import_area"] is False
    assert "import area" in club.ok("calendar", "list", "alice")
    answer = club.ok("calendar", "import-area", "alice", "Lessons")
    assert answer == "Items made in Outlook go into Lessons unless a category names Tee\n"
    listed = {r["area"]: r for r in club.json("calendar", "list", "alice")}
    assert (listed["Tee"]["import_area"], listed["Lessons"]["import_area"]) == (False, True)
    assert "unknown timetable area" in club.refused("calendar", "import-area", "alice", "Nowhere")
