"""What the commands say of, and do to, a mailbox the sync leaves alone after Exchange refused its
login (issue 13, defect 7): `calendar list`, `contact list`, `account set`, `account check`."""

from __future__ import annotations

import pytest

from sync_service.admin import exchange_calls
from sync_service.gateway_calls import GatewayCallFailed

URL = "https://mail.example.com/EWS/Exchange.asmx"
REFUSED = "Exchange refused the user name or password, or access to the mailbox"


@pytest.fixture
def anna(club):
    club.ok(
        "account",
        "set",
        "alice",
        "--ews-url",
        URL,
        "--mailbox",
        "alice@club.example",
        "--password-stdin",
        input="a-typo\n",
    )
    club.ok("calendar", "add", "alice", "Tee")
    club.ok("person", "add", "--first-name", "Bea", "--last-name", "Birdie")
    club.ok("contact", "add", "alice", "--person", "1")
    return club


def block(cli) -> None:
    """What the sync service records when Exchange answers `auth_failed` (see the engine's tests)."""
    from sync_service.store.database import open_database
    from sync_service.store.mailbox_blocks import record_block

    db = open_database(cli.home / "pccaddie.sqlite3")
    with db.atomic():
        assert record_block(1, "auth_failed", REFUSED) is not None
    db.close()


def blocks(cli) -> list[tuple]:
    return cli.rows("SELECT user_id, code FROM mailbox_block")


def test_calendar_and_contact_lists_say_the_mailbox_is_left_alone(anna):
    assert anna.json("calendar", "list", "alice")[0]["mailbox_blocked"] is None
    assert "mailbox_blocked" not in anna.json("contact", "list", "alice")[0]  # only while it is left alone
    assert "active" in anna.ok("calendar", "list", "alice")
    block(anna)
    [row] = anna.json("calendar", "list", "alice")
    assert REFUSED in row["mailbox_blocked"] and "sync-service account set alice" in row["mailbox_blocked"]
    text = anna.ok("calendar", "list", "alice")
    assert "login refused" in text and "active" not in text
    assert text.splitlines()[-1].startswith("alice: Exchange refused the login")
    assert "account check alice" in text
    assert REFUSED in anna.json("contact", "list", "alice")[0]["mailbox_blocked"]
    assert anna.ok("contact", "list", "alice").splitlines()[-1].startswith("alice: Exchange refused the login")


def test_account_set_lifts_the_block(anna):
    block(anna)
    anna.ok(
        "account",
        "set",
        "alice",
        "--ews-url",
        URL,
        "--mailbox",
        "alice@club.example",
        "--password-stdin",
        input="right\n",
    )
    assert blocks(anna) == []
    assert anna.json("calendar", "list", "alice")[0]["mailbox_blocked"] is None


def test_a_successful_account_check_lifts_the_block(anna, monkeypatch):
    block(anna)
    asked = []

    def gateway_accepts(home, config, op, args, timeout=120.0):
        asked.append((op, args["account"]["mailbox"]))
        return {"mailbox": "alice@club.example", "server_version": "15.1", "calendar": "Calendar"}

    monkeypatch.setattr(exchange_calls, "call_gateway", gateway_accepts)
    out = anna.ok("account", "check", "alice")
    assert asked == [("exchange.check", "alice@club.example")]
    assert "alice: OK" in out and "takes this mailbox up again" in out
    assert blocks(anna) == []
    assert "takes this mailbox up again" not in anna.ok("account", "check", "alice")  # nothing to lift now


def test_a_refused_account_check_blocks_the_mailbox(anna, monkeypatch):
    def gateway_refuses(home, config, op, args, timeout=120.0):
        raise GatewayCallFailed("auth_failed", f"{REFUSED} (auth_failed)")

    monkeypatch.setattr(exchange_calls, "call_gateway", gateway_refuses)
    assert REFUSED in anna.refused("account", "check", "alice")
    assert blocks(anna) == [(1, "auth_failed")]


def test_a_refused_account_check_records_the_gateways_reason(anna, monkeypatch):
    """The block keeps the cause the gateway named, so its line advises by it (not by wording)."""

    def gateway_refuses(home, config, op, args, timeout=120.0):
        raise GatewayCallFailed("auth_failed", "Exchange refused the login (auth_failed)", "mailbox_out_of_reach")

    monkeypatch.setattr(exchange_calls, "call_gateway", gateway_refuses)
    anna.refused("account", "check", "alice")
    assert anna.rows("SELECT user_id, cause FROM mailbox_block") == [(1, "mailbox_out_of_reach")]


def test_an_unreachable_gateway_changes_nothing(anna, monkeypatch):
    block(anna)

    def gateway_away(home, config, op, args, timeout=120.0):
        raise GatewayCallFailed("gateway_unavailable", "cannot connect (is `exchange-gateway run` started?)")

    monkeypatch.setattr(exchange_calls, "call_gateway", gateway_away)
    anna.refused("account", "check", "alice")
    assert blocks(anna) == [(1, "auth_failed")]
