"""`sync-service group add|permissions|list` and `user add|permissions|list`."""

import pytest

NOTHING = {"contacts": "no", "address": "no", "phone": "no", "email": "no", "appointments": "none", "areas": []}
AS_GROUP = {
    "contacts": "group",
    "address": "group",
    "phone": "group",
    "email": "group",
    "appointments": "group",
    "areas": [],
}


# --- groups ---------------------------------------------------------------------------------------


def test_group_add_starts_with_no_permissions(run):
    assert run.ok("group", "add", "Staff") == "group Staff added\n"
    assert run.json("group", "list") == [{"name": "Staff", **NOTHING}]


def test_group_add_trims_the_name(run):
    assert run.ok("group", "add", "  Staff ") == "group Staff added\n"
    assert [g["name"] for g in run.json("group", "list")] == ["Staff"]


def test_group_list_is_sorted_and_empty_list_says_none(run):
    assert run.ok("group", "list") == "(none)\n"
    assert run.json("group", "list") == []
    run.ok("group", "add", "Trainers")
    run.ok("group", "add", "Office")
    assert [g["name"] for g in run.json("group", "list")] == ["Office", "Trainers"]
    lines = run.ok("group", "list").splitlines()
    assert lines[0].split() == ["GROUP", "PERMISSIONS"]
    assert lines[1].startswith("Office ")


@pytest.mark.parametrize("name", ["", "   "])
def test_group_add_needs_a_name(run, name):
    assert run.refused("group", "add", name) == "Error: a group needs a name"
    assert run.json("group", "list") == []


def test_group_add_twice_is_refused(run):
    run.ok("group", "add", "Staff")
    assert run.refused("group", "add", "Staff") == "Error: the group 'Staff' exists already"
    assert run.count("user_group") == 1


def test_group_permissions_set_and_show(run):
    run.ok("group", "add", "Staff")
    run.ok("area", "add", "Tee")
    run.ok("area", "add", "Pro")
    out = run.ok(
        "group",
        "permissions",
        "Staff",
        "--contacts",
        "yes",
        "--address",
        "export",
        "--phone",
        "sync",
        "--email",
        "no",
        "--appointments",
        "listed",
        "--area",
        "Tee",
        "--area",
        "Pro",
    )
    assert out == (
        "Staff: contacts yes; address export, phone sync, e-mail no; appointments listed (areas: Pro, Tee)\n"
    )
    assert run.ok("group", "permissions", "Staff") == out  # without options: shows
    assert run.json("group", "list") == [
        {
            "name": "Staff",
            "contacts": "yes",
            "address": "export",
            "phone": "sync",
            "email": "no",
            "appointments": "listed",
            "areas": ["Pro", "Tee"],
        }
    ]


def test_group_permissions_change_only_what_is_given(run):
    run.ok("group", "add", "Staff")
    run.ok("area", "add", "Tee")
    run.ok("area", "add", "Pro")
    run.ok("group", "permissions", "Staff", "--appointments", "listed", "--area", "Tee", "--phone", "sync")
    run.ok("group", "permissions", "Staff", "--contacts", "yes")
    [group] = run.json("group", "list")
    assert (group["contacts"], group["phone"], group["appointments"], group["areas"]) == (
        "yes",
        "sync",
        "listed",
        ["Tee"],
    )
    run.ok("group", "permissions", "Staff", "--area", "Pro")  # --area replaces the list
    assert run.json("group", "list")[0]["areas"] == ["Pro"]


@pytest.mark.parametrize(
    "option",
    [
        ["--contacts", "group"],
        ["--address", "group"],
        ["--phone", "group"],
        ["--email", "group"],
        ["--appointments", "group"],
    ],
)
def test_a_groups_setting_may_not_be_group(run, option):
    run.ok("group", "add", "Staff")
    line = run.refused("group", "permissions", "Staff", "--contacts", "yes", *option)
    assert "cannot be 'group'" in line
    assert run.json("group", "list") == [{"name": "Staff", **NOTHING}]  # --contacts yes was not written either


def test_group_permissions_of_an_unknown_group(run):
    assert run.refused("group", "permissions", "Nobody", "--contacts", "yes").startswith(
        "Error: unknown group 'Nobody'"
    )
    assert run.refused("group", "permissions", "Nobody").startswith("Error: unknown group 'Nobody'")
    assert run.count("user_group") == 0


def test_group_permissions_with_an_unknown_area_writes_nothing(run):
    run.ok("group", "add", "Staff")
    run.ok("area", "add", "Tee")
    line = run.refused("group", "permissions", "Staff", "--appointments", "listed", "--area", "Tee", "--area", "Nope")
    assert line.startswith("Error: unknown timetable area 'Nope'")
    assert run.json("group", "list") == [{"name": "Staff", **NOTHING}]
    assert run.count("group_listed_area") == 0


@pytest.mark.parametrize(
    "option",
    [["--appointments", "some"], ["--contacts", "maybe"], ["--address", "yes"], ["--phone", "all"], ["--email", "x"]],
)
def test_group_permissions_bad_choice_is_a_usage_error(run, option):
    run.ok("group", "add", "Staff")
    run.usage_error("group", "permissions", "Staff", *option)
    assert run.json("group", "list") == [{"name": "Staff", **NOTHING}]


# --- users ----------------------------------------------------------------------------------------


def test_user_add_follows_the_group_in_everything(run):
    assert run.ok("user", "add", "alice") == "user alice added\n"
    assert run.json("user", "list") == [
        {"login": "alice", "name": "alice", "group": None, "permissions": AS_GROUP, "effective": NOTHING}
    ]


def test_user_add_with_group_and_name(run):
    run.ok("group", "add", "Staff")
    assert run.ok("user", "add", "alice", "--group", "Staff", "--name", "Alice Adams") == (
        "user alice added to group Staff\n"
    )
    [alice] = run.json("user", "list")
    assert (alice["login"], alice["name"], alice["group"]) == ("alice", "Alice Adams", "Staff")


def test_user_add_with_an_unknown_group_adds_nobody(run):
    assert run.refused("user", "add", "alice", "--group", "Nope").startswith("Error: unknown group 'Nope'")
    assert run.json("user", "list") == []


def test_user_add_twice_is_refused(run):
    run.ok("user", "add", "alice")
    assert run.refused("user", "add", "alice") == "Error: the user 'alice' exists already"
    assert run.count("pcc_user") == 1


@pytest.mark.parametrize("login", ["", "  "])
def test_user_add_needs_a_login(run, login):
    assert run.refused("user", "add", login) == "Error: a user needs a name"
    assert run.json("user", "list") == []


def test_user_list_table_and_order(run):
    assert run.ok("user", "list") == "(none)\n"
    run.ok("user", "add", "carol")
    run.ok("user", "add", "alice")
    assert [u["login"] for u in run.json("user", "list")] == ["alice", "carol"]
    lines = run.ok("user", "list").splitlines()
    assert lines[0].split()[:3] == ["LOGIN", "NAME", "GROUP"]
    assert lines[1].split()[:3] == ["alice", "alice", "-"]


def test_user_permissions_own_settings_and_effective(run):
    run.ok("user", "add", "alice")
    run.ok("area", "add", "Tee")
    out = run.ok(
        "user",
        "permissions",
        "alice",
        "--contacts",
        "yes",
        "--address",
        "sync",
        "--phone",
        "export",
        "--email",
        "no",
        "--appointments",
        "listed",
        "--area",
        "Tee",
    )
    expected = "contacts yes; address sync, phone export, e-mail no; appointments listed (areas: Tee)"
    assert out == f"alice: {expected}\neffective: {expected}\n"
    assert run.ok("user", "permissions", "alice") == out
    [alice] = run.json("user", "list")
    settings = {
        "contacts": "yes",
        "address": "sync",
        "phone": "export",
        "email": "no",
        "appointments": "listed",
        "areas": ["Tee"],
    }
    assert alice["permissions"] == settings
    assert alice["effective"] == settings


def test_user_effective_permissions_come_from_the_group(run):
    run.ok("group", "add", "Staff")
    run.ok("area", "add", "Tee")
    run.ok(
        "group",
        "permissions",
        "Staff",
        "--contacts",
        "yes",
        "--address",
        "export",
        "--phone",
        "sync",
        "--email",
        "sync",
        "--appointments",
        "listed",
        "--area",
        "Tee",
    )
    run.ok("user", "add", "alice", "--group", "Staff")
    run.ok("user", "permissions", "alice", "--phone", "no")
    [alice] = run.json("user", "list")
    assert alice["permissions"] == {**AS_GROUP, "phone": "no"}
    assert alice["effective"] == {
        "contacts": "yes",
        "address": "export",
        "phone": "no",
        "email": "sync",
        "appointments": "listed",
        "areas": ["Tee"],
    }
    assert run.ok("user", "permissions", "alice").splitlines()[1] == (
        "effective: contacts yes; address export, phone no, e-mail sync; appointments listed (areas: Tee)"
    )


def test_user_with_own_appointments_shows_the_owned_areas(run):
    run.ok("user", "add", "bob")
    run.ok("area", "add", "Pro", "--owner", "bob")
    run.ok("area", "add", "Tee")
    run.ok("user", "permissions", "bob", "--appointments", "own")
    [bob] = run.json("user", "list")
    assert bob["effective"]["appointments"] == "own"
    assert bob["effective"]["areas"] == ["Pro"]
    assert bob["permissions"]["areas"] == []


def test_user_setting_group_without_a_group_means_no(run):
    run.ok("user", "add", "alice")
    run.ok("user", "permissions", "alice", "--contacts", "yes")
    run.ok("user", "permissions", "alice", "--contacts", "group")  # a user's setting may be 'group'
    [alice] = run.json("user", "list")
    assert alice["permissions"]["contacts"] == "group"
    assert alice["effective"]["contacts"] == "no"


def test_user_permissions_of_an_unknown_user(run):
    assert run.refused("user", "permissions", "ghost", "--contacts", "yes").startswith("Error: unknown user 'ghost'")
    assert run.refused("user", "permissions", "ghost").startswith("Error: unknown user 'ghost'")


def test_user_permissions_with_an_unknown_area_writes_nothing(run):
    run.ok("user", "add", "alice")
    line = run.refused("user", "permissions", "alice", "--appointments", "all", "--area", "Nope")
    assert line.startswith("Error: unknown timetable area 'Nope'")
    [alice] = run.json("user", "list")
    assert alice["permissions"] == AS_GROUP  # --appointments all was rolled back too
    assert run.count("user_listed_area") == 0


@pytest.mark.parametrize(
    "option",
    [["--appointments", "bogus"], ["--contacts", "export"], ["--address", "yes"], ["--phone", ""], ["--email", "all"]],
)
def test_user_permissions_bad_choice_is_a_usage_error(run, option):
    run.ok("user", "add", "alice")
    result = run.usage_error("user", "permissions", "alice", *option)
    assert "Invalid value" in result.stderr
    assert run.json("user", "list")[0]["permissions"] == AS_GROUP
