"""A wrong password costs one failed login, not one per calendar per cycle (issue 13, defect 7)."""

from __future__ import annotations

from typing import Any, Mapping

import pytest
import trio
import trio.testing

from protocol.accounts import AppCredentials
from protocol.rpc import RemoteError
from sync_service.admin.accounts import set_account, set_app_account
from sync_service.admin.areas import add_area
from sync_service.admin.persons import PersonInput, add_person
from sync_service.admin.subscriptions import CalendarOptions, add_calendar, add_contact
from sync_service.admin.users import PermissionChange, set_user_permissions
from sync_service.core.permissions import Contacts, FieldMode
from sync_service.engine.calendar_sync import EngineSettings, SubscriptionOutcome
from sync_service.engine.database import DbRunner
from sync_service.engine.exchange_client import GatewayExchangeClient, MailboxTrouble
from sync_service.engine.mailbox_health import MailboxGate, Verdict, auth_refusal, verdict
from sync_service.engine.runner import CycleEngine
from sync_service.store.app_registration import store_app
from sync_service.store.mailbox_blocks import block_of, blocked_mailboxes, clear_block, record_block
from tests.logcapture import captured_log
from tests.sync_service.engine.conftest import BERLIN, Club, make_club
from tests.sync_service.engine.fake_exchange import FakeExchange

EWS = "https://mail.example.com/EWS/Exchange.asmx"
REFUSED = "Exchange refused the user name or password, or access to the mailbox"

# -- the pure verdict ---------------------------------------------------------------------------


def test_verdict_of_an_outcome():
    assert verdict(SubscriptionOutcome(1, "anna/x", error=f"auth_failed: {REFUSED}", mailbox="a@x")) is Verdict.BLOCKED
    assert auth_refusal(SubscriptionOutcome(1, "anna/x", error=f"auth_failed: {REFUSED}")) == REFUSED
    assert verdict(SubscriptionOutcome(1, "anna/x", error="unreachable: no route", mailbox="a@x")) is Verdict.OPEN
    assert verdict(SubscriptionOutcome(1, "anna/x", mailbox="a@x")) is Verdict.OPEN
    assert verdict(SubscriptionOutcome(1, "anna/x", not_syncing="paused: by hand")) is Verdict.UNDECIDED
    assert auth_refusal(SubscriptionOutcome(1, "anna/x", error="throttled: wait")) is None


# -- the gate, on trio's virtual clock ----------------------------------------------------------


async def test_the_first_of_a_mailbox_goes_alone_and_a_refusal_stops_the_others(autojump_clock):
    gate = MailboxGate()
    went: list[str] = []

    async def subscription(name: str, refused: bool) -> None:
        ticket = await gate.enter(7)
        if not ticket.go:
            went.append(f"{name} skipped")
            return
        went.append(f"{name} {'probe' if ticket.probe else 'follows'}")
        await trio.sleep(1)
        gate.leave(ticket, Verdict.BLOCKED if refused else Verdict.OPEN)

    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c"):
            nursery.start_soon(subscription, name, True)
    assert sorted(line.split()[1] for line in went) == ["probe", "skipped", "skipped"]
    assert went[0].endswith("probe")
    assert gate.state(7) is Verdict.BLOCKED


async def test_once_the_login_is_accepted_the_others_go_at_once(autojump_clock):
    gate = MailboxGate()
    started: dict[str, float] = {}

    async def subscription(name: str) -> None:
        ticket = await gate.enter(7)
        started[name] = trio.current_time()
        await trio.sleep(1)
        gate.leave(ticket, Verdict.OPEN)

    began = trio.current_time()
    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c"):
            nursery.start_soon(subscription, name)
    assert sorted(started.values()) == [began, began + 1, began + 1]  # one alone, then the two together


async def test_a_subscription_that_made_no_call_hands_the_probe_on(autojump_clock):
    gate = MailboxGate()
    order: list[tuple[str, bool]] = []

    async def subscription(name: str, result: Verdict) -> None:
        ticket = await gate.enter(7)
        order.append((name, ticket.probe))
        await trio.sleep(1)
        gate.leave(ticket, result)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(subscription, "paused", Verdict.UNDECIDED)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(subscription, "b", Verdict.OPEN)
        nursery.start_soon(subscription, "c", Verdict.OPEN)
    assert order[0] == ("paused", True)
    assert sorted(probe for _, probe in order[1:]) == [False, True]  # the next one probed, then the last


async def test_users_blocked_before_the_cycle_are_skipped_and_others_unaffected(autojump_clock):
    gate = MailboxGate(blocked=[7])
    assert not (await gate.enter(7)).go
    other = await gate.enter(8)
    assert other.go and other.probe


# -- the cycle engine against in-memory mailboxes that check the password ----------------------


class Mailboxes:
    """anna's calendar and contacts mailboxes; a call with a password other than `password` is
    refused as Exchange refuses it. Every call is a login: `logins` counts them, `refused` the
    failed ones."""

    def __init__(self, password: str = "pw", reason: str | None = None) -> None:
        self.password = password
        self.reason = reason  # the gateway's reason of its auth_failed (None: an older gateway's)
        self.calendar = FakeExchange(kind="calendar")
        self.contacts = FakeExchange(kind="contacts")
        self.logins = 0
        self.refused = 0

    def _login(self, account: Mapping[str, str]) -> None:
        self.logins += 1
        if account["credentials"].get("password") != self.password:  # the wire form (an app's has none)
            self.refused += 1
            raise MailboxTrouble("auth_failed", REFUSED, reason=self.reason)

    def client_for(self, account: Mapping[str, str], kind: str) -> Any:
        mailboxes, target = self, self.calendar if kind == "calendar" else self.contacts

        class Client:
            def __getattr__(self, name: str) -> Any:
                method = getattr(target, name)

                async def call(*args: Any, **kwargs: Any) -> Any:
                    mailboxes._login(account)
                    return await method(*args, **kwargs)

                return call

        return Client()

    async def changes_many(self, requests: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
        """The gateway's `exchange.changes_many`: every request at once, each answered in place."""
        answers: list[Mapping[str, Any]] = [{}] * len(requests)

        async def one(index: int, request: dict[str, Any]) -> None:
            try:
                self._login(request["account"])
                page = await self.calendar.changes(request["folder"], request["sync_state"], request["max_changes"])
                answers[index] = {"ok": True, "result": page}
            except MailboxTrouble as trouble:
                error = {"code": trouble.code, "message": trouble.message}
                answers[index] = {
                    "ok": False,
                    "error": error if trouble.reason is None else {**error, "reason": trouble.reason},
                }

        async with trio.open_nursery() as nursery:
            for index, request in enumerate(requests):
                nursery.start_soon(one, index, request)
        return answers


def three_calendars_and_contacts(tmp_path) -> Club:
    """anna syncs three areas (the main calendar and two sub-calendars) and a contact list."""
    club = make_club(tmp_path)

    def more() -> None:
        set_user_permissions("anna", PermissionChange(contacts=Contacts.YES, address=FieldMode.SYNC))
        for area in ("Lessons", "Rooms"):
            add_area(area)
            add_calendar("anna", area, CalendarOptions(folder_name=area))
        person = add_person(PersonInput(first_name="Bea", last_name="Birdie"))
        add_contact("anna", person.id)

    club.write(more)
    return club


def engine(club: Club) -> CycleEngine:
    return CycleEngine(DbRunner(club.db), EngineSettings(BERLIN, club.vault))


def set_password(club: Club, password: str) -> None:
    club.write(set_account, "anna", EWS, "anna@club.example", None, password, club.vault)


def refusals_logged(log: list[str]) -> list[str]:
    return [line for line in log if "not synchronised: Exchange refused the login" in line]


async def test_a_wrong_password_costs_one_failed_login_until_the_account_is_set(tmp_path):
    club = three_calendars_and_contacts(tmp_path)
    mailboxes = Mailboxes()
    cycles = engine(club)
    summary = await cycles.run(mailboxes.client_for)
    assert summary.errors == [] and mailboxes.refused == 0 and mailboxes.logins > 0
    set_password(club, "a-typo")
    with captured_log() as log:
        summary = await cycles.run(mailboxes.client_for)
        assert mailboxes.refused == 1  # three calendars and a contact list: one login tried
        assert len(summary.not_syncing) == 3 and len(summary.errors) == 1
        for _ in range(5):
            logins = mailboxes.logins
            summary = await cycles.run(mailboxes.client_for)
            assert mailboxes.logins == logins  # nothing at all is asked of the mailbox
            assert len(summary.not_syncing) == 4 and summary.errors == []
    assert len(refusals_logged(log)) == 1  # said once, not every cycle
    assert "sync-service account set anna" in refusals_logged(log)[0]

    restarted = engine(club)  # a restart does not try the password again
    with captured_log() as log:
        logins = mailboxes.logins
        for _ in range(3):
            await restarted.run(mailboxes.client_for)
        assert mailboxes.logins == logins
    assert len(refusals_logged(log)) == 1

    set_password(club, "pw")  # the technician fixes the password
    with captured_log() as log:
        summary = await restarted.run(mailboxes.client_for)
    assert summary.errors == [] and summary.not_syncing == [] and mailboxes.refused == 1
    assert any("anna: mailbox anna@club.example: the account was set again" in line for line in log)


async def test_setting_the_same_wrong_password_again_allows_one_more_try(tmp_path):
    club = three_calendars_and_contacts(tmp_path)
    mailboxes = Mailboxes(password="changed-in-active-directory")  # the account never was right
    cycles = engine(club)
    await cycles.run(mailboxes.client_for)
    await cycles.run(mailboxes.client_for)
    assert mailboxes.refused == 1
    set_password(club, "pw")  # `account set` with the (still wrong) password: one try more
    await cycles.run(mailboxes.client_for)
    await cycles.run(mailboxes.client_for)
    assert mailboxes.refused == 2


async def test_a_successful_account_check_lifts_the_block(tmp_path):
    club = three_calendars_and_contacts(tmp_path)
    mailboxes = Mailboxes(password="new-password")
    cycles = engine(club)
    await cycles.run(mailboxes.client_for)
    assert mailboxes.refused == 1
    with club.db.connection_context():
        user_id = next(iter(blocked_mailboxes()))
    mailboxes.password = "pw"  # the password in Active Directory is set back
    await cycles.run(mailboxes.client_for)
    assert mailboxes.refused == 1 and mailboxes.logins == 1  # still left alone
    club.write(clear_block, user_id)  # what `account check anna` does when Exchange accepts the login
    summary = await cycles.run(mailboxes.client_for)
    assert summary.errors == [] and summary.not_syncing == [] and mailboxes.logins > 1


async def test_the_prefetch_logs_in_once_per_mailbox(tmp_path):
    club = three_calendars_and_contacts(tmp_path)
    mailboxes = Mailboxes()
    cycles = engine(club)
    await cycles.run(mailboxes.client_for, mailboxes.changes_many)
    await cycles.run(mailboxes.client_for, mailboxes.changes_many)  # every calendar's first sync done
    mailboxes.password = "changed-in-active-directory"
    for _ in range(4):
        summary = await cycles.run(mailboxes.client_for, mailboxes.changes_many)
    assert mailboxes.refused == 1
    assert len(summary.not_syncing) == 4


async def test_a_block_is_kept_only_for_the_account_as_it_was_refused(tmp_path):
    club = make_club(tmp_path)
    with club.db.connection_context(), club.db.atomic():
        user_id = blocked_user = record_block(1, "auth_failed", REFUSED)
        assert blocked_user is not None and block_of(1) == blocked_user
    set_password(club, "pw")  # the same password: a new encryption, a new account as far as the block goes
    with club.db.connection_context(), club.db.atomic():
        assert block_of(1) is None and blocked_mailboxes() == {}
        assert record_block(99, "auth_failed", REFUSED) is None  # no such user's account: nothing recorded
    assert user_id is not None


async def test_a_block_that_cannot_be_recorded_still_leaves_the_mailbox_alone_this_cycle(tmp_path):
    import peewee as pw

    class FullDisk(DbRunner):
        async def run(self, function, *args):
            if function is record_block:
                raise pw.OperationalError("database or disk is full")
            return await super().run(function, *args)

    club = three_calendars_and_contacts(tmp_path)
    mailboxes = Mailboxes(password="changed-in-active-directory")
    cycles = CycleEngine(FullDisk(club.db), EngineSettings(BERLIN, club.vault))
    with captured_log() as log:
        summary = await cycles.run(mailboxes.client_for)
    assert mailboxes.refused == 1 and len(summary.not_syncing) == 3
    told = [line for line in log if REFUSED in line]
    assert len(told) == 1 and "the refused login could not be recorded: database or disk is full" in told[0]
    with club.db.connection_context():
        assert blocked_mailboxes() == {}  # the next cycle meets the refusal again (one login) and tries to record it


# -- the gateway's reason of a refusal is recorded with the block (issue 16) ---------------------


@pytest.mark.parametrize("prefetching", [False, True])
async def test_the_gateways_reason_is_recorded_with_the_block_and_told_in_one_line(tmp_path, prefetching):
    club = three_calendars_and_contacts(tmp_path)
    mailboxes = Mailboxes(reason="mailbox_out_of_reach")
    cycles = engine(club)
    many = mailboxes.changes_many if prefetching else None
    await cycles.run(mailboxes.client_for, many)
    await cycles.run(mailboxes.client_for, many)  # every calendar's first sync done: the next is prefetched
    mailboxes.password = "changed-in-active-directory"
    with captured_log() as log:
        await cycles.run(mailboxes.client_for, many)
    assert mailboxes.refused == 1
    told = [line for line in log if REFUSED in line]
    assert len(told) == 1 and "anna: mailbox anna@club.example not synchronised: Exchange refused the login" in told[0]
    with club.db.connection_context():
        (block,) = blocked_mailboxes().values()
    assert (block.reason, block.cause) == (REFUSED, "mailbox_out_of_reach")


async def test_an_older_gateways_refusal_is_recorded_without_a_cause(tmp_path):
    club = three_calendars_and_contacts(tmp_path)
    mailboxes = Mailboxes(password="changed-in-active-directory")
    await engine(club).run(mailboxes.client_for)
    with club.db.connection_context():
        (block,) = blocked_mailboxes().values()
    assert (block.reason, block.cause) == (REFUSED, None)


class RefusingPeer:
    """A gateway connection whose every request is answered with `details`."""

    def __init__(self, details: dict[str, Any]) -> None:
        self.details = details

    async def request(self, op: str, args: Mapping[str, Any], timeout: float | None = None) -> Any:
        raise RemoteError("auth_failed", "refused", self.details)


@pytest.mark.parametrize(
    ("details", "reason"),
    [({"reason": "app_refused"}, "app_refused"), ({}, None), ({"reason": 7}, None)],
    ids=["named", "older-gateway", "malformed"],
)
async def test_the_client_carries_the_gateways_reason(details, reason):
    client = GatewayExchangeClient(RefusingPeer(details), {"mailbox": "anna@club.example"})  # type: ignore[arg-type]
    with pytest.raises(MailboxTrouble) as trouble:
        await client.get(["id"])
    assert (trouble.value.code, trouble.value.message, trouble.value.reason) == ("auth_failed", "refused", reason)


# -- the summary advises by cause, as the block's line does (issue 16) ----------------------------

APP = AppCredentials("contoso.onmicrosoft.com", "0a1b2c3d-client", "app-S3cret", graph_url="https://graph.example/v1.0")


@pytest.mark.parametrize(
    ("app", "reason", "said", "not_said"),
    [
        (False, "password_refused", "`sync-service account set anna`", "app set"),
        (True, "app_refused", "`sync-service app set", "account set"),
        (True, "mailbox_out_of_reach", "RBAC for Applications", "app set"),
        (True, None, "`sync-service app set", "account set"),  # an older gateway: told by the wording
    ],
    ids=["password", "app-refused", "out-of-reach", "older-gateway"],
)
async def test_the_summary_advises_by_cause(tmp_path, app, reason, said, not_said):
    club = three_calendars_and_contacts(tmp_path)
    if app:
        club.write(store_app, APP, club.vault)
        club.write(set_app_account, "anna", "anna@club.example", club.vault)  # Graph: every call refused below
    mailboxes = Mailboxes(password="changed-in-active-directory", reason=reason)
    cycles = engine(club)
    first = await cycles.run(mailboxes.client_for)
    (error,) = first.errors  # the probe's refusal, with its remedy
    assert error.startswith("anna/") and f"auth_failed: {REFUSED}; " in error
    second = await cycles.run(mailboxes.client_for)
    assert mailboxes.refused == 1 and len(second.not_syncing) == 4
    for line in [error, *first.not_syncing, *second.not_syncing]:
        assert said in line and not_said not in line, line
    assert all("left alone until" in line for line in first.not_syncing + second.not_syncing)
