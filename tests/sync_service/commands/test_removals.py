"""`user remove`, `account remove`, `area remove`: refused while in use, naming what uses it;
with --force, everything that goes with it goes in one transaction, and the output says so."""

import pytest

URL = "https://mail.example.com/EWS/Exchange.asmx"
TABLES = (
    "calendar_subscription",
    "contact_subscription",
    "exclusion_filter",
    "exchange_account",
    "appointment_link",
    "contact_link",
    "sync_conflict",
    "sync_statistic",
    "sync_report_line",
    "mailbox_block",
    "area_owner",
    "user_listed_area",
)


def with_account(club, login="alice"):
    club.ok(
        "account",
        "set",
        login,
        "--ews-url",
        URL,
        "--mailbox",
        f"{login}@club.example",
        "--password-stdin",
        input="pw\n",
    )


@pytest.fixture
def syncing(club):
    """alice syncs Tee, with an account, a filter, one person on her contact list and a linked item."""
    with_account(club)
    club.ok("calendar", "add", "alice", "Tee")
    club.ok("filter", "add", "alice", "Private*")
    person = club.ok("person", "add", "--first-name", "Anna", "--last-name", "Ace").strip()
    club.ok("contact", "add", "alice", "--person", person)
    club.execute(
        "INSERT INTO appointment_link (subscription_id, exchange_id, digest, origin, external_id, updated) "
        "SELECT id, 'AAA=', 'd', 'pccaddie', 'pccaddie:1:x', '2030-01-01 00:00:00' FROM calendar_subscription"
    )
    alice = "(SELECT id FROM pcc_user WHERE login = 'alice')"
    sub = "(SELECT id FROM calendar_subscription)"
    # what the cycles wrote: a conflict, a statistic, a report line, and a refused login's block
    club.execute(
        f"INSERT INTO sync_conflict (user_id, subscription_id, winner, loser_content, created) "
        f"VALUES ({alice}, {sub}, 'pccaddie', '{{}}', '2030-01-01 00:00:00')"
    )
    club.execute(
        f"INSERT INTO sync_statistic (cycle_started, user_id, subscription_id, direction, created) "
        f"VALUES ('2030-01-01 00:00:00', {alice}, {sub}, 'to-exchange', 1)"
    )
    club.execute(
        f"INSERT INTO sync_report_line (cycle_started, user_id, subscription_id, action, side, item) "
        f"VALUES ('2030-01-01 00:00:00', {alice}, {sub}, 'create', 'exchange', '1')"
    )
    club.execute(
        f"INSERT INTO mailbox_block (user_id, credentials, code, reason, since) "
        f"VALUES ({alice}, 'x', 'auth_failed', 'refused', '2030-01-01 00:00:00')"
    )
    return club


def test_user_remove_of_an_unused_user(club):
    assert club.ok("user", "remove", "bob") == "the user 'bob' is removed\nit no longer owns 'Pro'\n"
    assert [r[0] for r in club.rows("SELECT login FROM pcc_user")] == ["alice"]
    assert club.count("area_owner") == 0


def test_user_remove_is_refused_while_it_syncs(syncing):
    line = syncing.refused("user", "remove", "alice")
    assert line == (
        "Error: the user 'alice' syncs the calendar(s) of 'Tee' and 1 contact(s): remove them first "
        "(`calendar remove`, `contact remove`), or remove the user with --force"
    )
    assert syncing.count("pcc_user") == 2 and syncing.count("appointment_link") == 1


def test_user_remove_with_force_takes_everything_of_the_user(syncing):
    syncing.ok("user", "permissions", "alice", "--appointments", "listed", "--area", "Pro")
    out = syncing.ok("user", "remove", "alice", "--force")
    assert out.splitlines() == [
        "the user 'alice' is removed",
        "its calendar(s) 'Tee' with 1 linked item(s), their conflicts and statistics",
        "its contact list (1 person(s), 0 linked contact(s))",
        "its Exchange account",
        "the items the sync made in Exchange stay there and are no longer synchronised "
        "(nothing is deleted in Exchange; PC CADDIE's appointments and persons stay)",
    ]
    for table in TABLES:
        if table != "area_owner":
            assert syncing.count(table) == 0, table
    assert syncing.count("pcc_user") == 1
    assert syncing.count("person") == 1 and syncing.count("timetable_area") == 2


def test_account_remove_is_refused_while_the_user_syncs(syncing):
    line = syncing.refused("account", "remove", "alice")
    assert line.startswith("Error: the user 'alice' syncs the calendar(s) of 'Tee' and 1 contact(s) with this account")
    assert syncing.count("exchange_account") == 1


def test_account_remove_with_force_forgets_the_exchange_ids(syncing):
    out = syncing.ok("account", "remove", "alice", "--force")
    assert out.splitlines() == [
        "the Exchange account of 'alice' is removed",
        "the calendar(s) of 'Tee' and 1 contact(s) stay set up and stop syncing until `account set`",
        "the 1 item(s) the sync made stay in Exchange; a later `account set` finds them again by our external id "
        "(none is made twice in the same mailbox)",
    ]
    assert syncing.count("exchange_account") == 0 and syncing.count("calendar_subscription") == 1
    assert syncing.count("mailbox_block") == 0 and syncing.count("sync_statistic") == 1
    assert syncing.rows("SELECT exchange_id, pending_create FROM appointment_link") == [(None, 1)]
    assert syncing.refused("account", "show", "alice").startswith("Error: the user 'alice' has no Exchange account")


def test_account_remove_of_an_unused_account_and_of_none(club):
    with_account(club, "bob")
    assert club.ok("account", "remove", "bob") == "the Exchange account of 'bob' is removed\n"
    assert club.refused("account", "remove", "bob") == "Error: the user 'bob' has no Exchange account"
    assert club.refused("account", "remove", "ghost").startswith("Error: unknown user 'ghost'")


def test_area_remove_of_an_unused_area(club):
    club.ok("user", "permissions", "bob", "--appointments", "listed", "--area", "Tee")
    assert club.ok("area", "remove", "Tee") == (
        "the area 'Tee' is removed\nit is taken off the 'listed' areas of 1 user(s) or group(s)\n"
    )
    assert [r["name"] for r in club.json("area", "list")] == ["Pro"]
    assert club.count("user_listed_area") == 0


def test_area_remove_is_refused_while_synced_and_forced(syncing):
    assert syncing.refused("area", "remove", "Tee") == (
        "Error: the area 'Tee' is synced by alice: remove those calendars first (`calendar remove`), "
        "or remove the area with --force"
    )
    out = syncing.ok("area", "remove", "Tee", "--force")
    assert out.splitlines() == [
        "the area 'Tee' is removed",
        "the calendars of alice syncing it, with 1 linked item(s), are removed",
        "the items the sync made in Exchange stay there and are no longer synchronised",
    ]
    assert syncing.count("calendar_subscription") == 0 and syncing.count("appointment_link") == 0
    assert syncing.count("sync_conflict") == syncing.count("sync_statistic") == syncing.count("sync_report_line") == 0
    assert syncing.count("contact_subscription") == 1  # the user's contacts are not the area's


def test_area_remove_is_refused_while_it_holds_appointments_even_with_force(club):
    club.ok(
        "appointment", "add", "Pro", "--title", "Lesson", "--start", "2030-05-01T09:00", "--end", "2030-05-01T10:00"
    )
    for extra in ((), ("--force",)):
        assert club.refused("area", "remove", "Pro", *extra) == (
            "Error: the area 'Pro' holds 1 appointment(s): move or delete them first "
            "(an area is never removed with its appointments)"
        )
    assert club.count("timetable_area") == 2


def test_removing_what_does_not_exist(club):
    assert club.refused("user", "remove", "ghost").startswith("Error: unknown user 'ghost'")
    assert club.refused("area", "remove", "Nowhere").startswith("Error: unknown timetable area 'Nowhere'")
