"""A wrong password is tried once, not every minute (issue 13, defect 7): the real gateway and the
stand-in Exchange server, whose failed logins (HTTP 401) are counted."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from sandbox.world import MAILBOX, PASSWORD, World

NEW_PASSWORD = "changed-in-active-directory"
REFUSAL_LOGGED = "not synchronised: Exchange refused the login"


@pytest.fixture
def world(tmp_path):
    world = World.start(tmp_path / "home")
    yield world
    world.stop()


def wait_until(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def failed_logins(world: World) -> int:
    """The stand-in's count of requests it answered 401 (no or wrong credentials)."""
    return int(world.control("/emulator/state", method="GET")["requests"]["counts"].get("-", 0))


def set_account(world: World, password: str) -> None:
    world.caddie(
        "account",
        "set",
        "anna",
        "--ews-url",
        world.url,
        "--mailbox",
        MAILBOX,
        "--password-stdin",
        input=password + "\n",
    )


def test_after_a_refused_login_the_mailbox_is_left_alone_until_its_account_is_set_or_checked(world):
    world.set_up("anna", "Tee times")
    world.caddie("area", "add", "Lessons")
    world.caddie("calendar", "add", "anna", "Lessons", "--folder", "Lessons")
    person = world.caddie("person", "add", "--first-name", "Bea", "--last-name", "Birdie").stdout.strip()
    world.caddie("contact", "add", "anna", "--person", person)
    world.add("Medal")
    world.sync_now()
    assert world.outlook_titles() == ["Medal"] and failed_logins(world) == 0

    # the password is changed in Active Directory; the sync still has the old one
    world.control("/emulator/password", {"mailbox": MAILBOX, "password": NEW_PASSWORD})
    world.password = NEW_PASSWORD
    sync = world.start_sync("1")
    sync.wait_for("Sync ended", count=6, timeout=60)  # six cycles of two calendars and a contact list
    refused = failed_logins(world)
    assert 1 <= refused <= 1, f"{refused} failed logins: a storm that locks the Windows account"
    assert sum(REFUSAL_LOGGED in line for line in sync.lines()) == 1  # said once, not every cycle
    [calendar, lessons] = world.json("calendar", "list", "anna")
    assert calendar["mailbox_blocked"] and "sync-service account set anna" in calendar["mailbox_blocked"]
    assert "login refused" in world.caddie("calendar", "list", "anna").stdout

    # a restart does not try again
    assert sync.stop() == 0
    ended = sync.count("Sync ended")  # the log goes on in the same file
    sync = world.start_sync("1")
    sync.wait_for("Sync ended", count=ended + 4, timeout=60)
    assert failed_logins(world) == refused
    assert sum(REFUSAL_LOGGED in line for line in sync.lines()) == 2  # once more, after the restart

    # `account set` with the new password: synchronising again, without a failed login
    set_account(world, NEW_PASSWORD)
    world.add("Stableford")
    wait_until("Stableford in Outlook", lambda: world.outlook_titles() == ["Medal", "Stableford"])
    assert failed_logins(world) == refused
    assert world.json("calendar", "list", "anna")[0]["mailbox_blocked"] is None

    # the password is changed back; the stand-in refuses once, then `account check` after the
    # technician had Active Directory's password restored lifts the block
    world.control("/emulator/password", {"mailbox": MAILBOX, "password": PASSWORD})
    world.password = PASSWORD
    wait_until("the login refused and recorded", lambda: world.json("calendar", "list", "anna")[0]["mailbox_blocked"])
    refused_again = failed_logins(world)
    assert refused_again == refused + 1
    ended = sync.count("Sync ended")
    sync.wait_for("Sync ended", count=ended + 3, timeout=30)
    assert failed_logins(world) == refused_again
    world.control("/emulator/password", {"mailbox": MAILBOX, "password": NEW_PASSWORD})
    checked = world.caddie("account", "check", "anna", "--gateway", world.gateway)
    assert "takes this mailbox up again" in checked.stdout
    world.password = NEW_PASSWORD
    world.add("Foursome")
    wait_until("Foursome in Outlook", lambda: "Foursome" in world.outlook_titles())
    assert failed_logins(world) == refused_again
