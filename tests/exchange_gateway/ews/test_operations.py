"""The gateway's Exchange operations against the stand-in EWS server, in this process: real HTTP,
real exchangelib, worker threads under trio (so the real clock, with short bounded waits)."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
import trio
from exchangelib.protocol import close_connections

from exchange_gateway.backends import backends
from exchange_gateway.errors import GatewayError
from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_standin import EmulatorServer

ANNA = ("anna@club.example", "anna-secret")
BOB = ("bob@club.example", "bob-secret")
YEAR = dt.date.today().year + 1  # an appointment still to come (it gets its reminder)
ROUND = {
    "subject": "Monthly medal",
    "start": f"{YEAR}-06-01T07:30:00Z",
    "end": f"{YEAR}-06-01T12:00:00Z",
    "timezone": "Europe/Berlin",
    "location": "Tee 1",
    "body": "Shotgun",
    "reminder_minutes": 15,
    "external_id": "pccaddie:1:abc",
}
MAX = {
    "given_name": "Max",
    "surname": "Muster",
    "street": "Am Golfplatz 1",
    "postal_code": "50667",
    "city": "Köln",
    "country": "Deutschland",
    "phone_mobile": "+49 170 1234567",
    "emails": ["max@example.com", "m.muster@example.com"],
    "external_id": "pccaddie-person:7",
}


@pytest.fixture(scope="module", autouse=True)
def exchangelib_settings():
    configure_exchangelib(ExchangeSettings(request_timeout=10))


@pytest.fixture
def emulator():
    server = EmulatorServer(mailboxes=[ANNA, BOB]).start()
    yield server
    server.stop()
    close_connections()


@pytest.fixture
def ops():
    return ExchangeOperations(
        backends(ExchangeSettings(request_timeout=10)), ExchangeLimits(overall=16, per_mailbox=4, deadline=15)
    )


def account(server, who=ANNA, **extra):
    return {"ews_url": server.url, "mailbox": who[0], "password": who[1], **extra}


async def test_check(emulator, ops):
    result = await ops.check({"account": account(emulator)})
    assert result["mailbox"] == ANNA[0] and result["server_version"].startswith("15.")


async def test_calendar_round_trip(emulator, ops):
    acct = account(emulator)
    first = await ops.changes({"account": acct, "kind": "calendar", "sync_state": None})
    assert first["changes"] == [] and first["complete"]
    (created,) = await ops.create({"account": acct, "kind": "calendar", "items": [ROUND]})
    assert created["ok"] and created["id"] and created["change_key"]
    page = await ops.changes({"account": acct, "kind": "calendar", "sync_state": first["sync_state"]})
    (change,) = page["changes"]
    item = change["item"]
    assert change["type"] == "create"
    for name in ("subject", "start", "end", "location", "reminder_minutes", "external_id", "timezone"):
        assert item[name] == ROUND[name], name
    assert item["body"] == "Shotgun" and item["private"] is False and item["all_day"] is False

    edit = {
        **ROUND,
        "subject": "Monthly medal (moved)",
        "start": f"{YEAR}-06-02T07:30:00Z",
        "end": f"{YEAR}-06-02T12:00:00Z",
        "private": True,
        "reminder_minutes": None,
    }
    (updated,) = await ops.update(
        {
            "account": acct,
            "kind": "calendar",
            "items": [{"id": created["id"], "change_key": created["change_key"], "fields": list(edit), "item": edit}],
        }
    )
    assert updated["ok"] and updated["change_key"] != created["change_key"]
    (got,) = await ops.get({"account": acct, "ids": [created["id"]]})
    assert got["item"]["subject"] == "Monthly medal (moved)" and got["item"]["private"] is True
    assert got["item"]["reminder_minutes"] is None and got["item"]["start"] == f"{YEAR}-06-02T07:30:00Z"

    stale = await ops.update(
        {
            "account": acct,
            "kind": "calendar",
            "items": [{"id": created["id"], "change_key": created["change_key"], "fields": ["subject"], "item": edit}],
        }
    )
    assert stale[0]["ok"] is False and stale[0]["error"]["code"] == "conflict"

    (deleted,) = await ops.delete({"account": acct, "items": [{"id": created["id"]}]})
    assert deleted["ok"]
    (again,) = await ops.delete({"account": acct, "items": [{"id": created["id"]}]})
    assert again["ok"]  # already gone is done
    last = await ops.changes({"account": acct, "kind": "calendar", "sync_state": page["sync_state"]})
    assert [c["type"] for c in last["changes"]] == ["delete"]


async def test_all_day_entries_keep_their_dates(emulator, ops):
    acct = account(emulator)
    xmas = {
        "subject": "Clubhouse closed",
        "all_day": True,
        "start": "2026-12-24",
        "end": "2026-12-26",
        "timezone": "Europe/Berlin",
    }
    (created,) = await ops.create({"account": acct, "items": [xmas]})
    (got,) = await ops.get({"account": acct, "ids": [created["id"]]})
    assert (got["item"]["all_day"], got["item"]["start"], got["item"]["end"]) == (True, "2026-12-24", "2026-12-26")


@pytest.mark.parametrize(
    "first, last",
    [
        ("2027-03-28", "2027-03-28"),
        ("2027-03-26", "2027-03-28"),
        ("2026-10-25", "2026-10-25"),
        ("2026-10-24", "2026-10-26"),
    ],
)
async def test_all_day_entries_across_the_clock_changes(emulator, ops, first, last):
    acct = account(emulator)
    entry = {"subject": "Closed", "all_day": True, "start": first, "end": last, "timezone": "Europe/Berlin"}
    (created,) = await ops.create({"account": acct, "items": [entry]})
    (got,) = await ops.get({"account": acct, "ids": [created["id"]]})
    assert (got["item"]["start"], got["item"]["end"]) == (first, last)


async def test_one_bad_item_never_fails_the_others(emulator, ops):
    acct = account(emulator)
    created = await ops.create({"account": acct, "items": [ROUND, {**ROUND, "subject": "Second"}]})
    assert all(r["ok"] for r in created)
    bogus = "AAMkAGI2TG93AAA="
    results = await ops.update(
        {
            "account": acct,
            "items": [
                {
                    "id": created[0]["id"],
                    "change_key": created[0]["change_key"],
                    "fields": ["subject"],
                    "item": {**ROUND, "subject": "Renamed"},
                },
                {"id": bogus, "change_key": None, "fields": ["subject"], "item": ROUND},
                {
                    "id": created[1]["id"],
                    "change_key": created[1]["change_key"],
                    "fields": ["subject"],
                    "item": {**ROUND, "subject": "Renamed too"},
                },
            ],
        }
    )
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"]["code"] == "not_found"


async def test_find_by_external_id(emulator, ops):
    acct = account(emulator)
    await ops.create({"account": acct, "items": [ROUND, {**ROUND, "external_id": "pccaddie:1:other"}]})
    found = await ops.find_external({"account": acct, "external_ids": ["pccaddie:1:abc", "pccaddie:1:missing"]})
    assert list(found) == ["pccaddie:1:abc"] and found["pccaddie:1:abc"]["subject"] == "Monthly medal"


async def test_sub_calendars(emulator, ops):
    acct = account(emulator)
    first = await ops.ensure_folder({"account": acct, "name": "PC CADDIE Tee times"})
    second = await ops.ensure_folder({"account": acct, "name": "PC CADDIE Tee times"})
    assert first["created"] and not second["created"] and first["id"] == second["id"]
    folders = await ops.folders({"account": acct})
    assert [f["name"] for f in folders] == ["", "PC CADDIE Tee times"]
    await ops.create({"account": acct, "folder": "PC CADDIE Tee times", "items": [ROUND]})
    in_sub = await ops.changes({"account": acct, "folder": "PC CADDIE Tee times", "sync_state": None})
    in_main = await ops.changes({"account": acct, "sync_state": None})
    assert len(in_sub["changes"]) == 1 and in_main["changes"] == []


async def test_contacts(emulator, ops):
    acct = account(emulator)
    (created,) = await ops.create({"account": acct, "kind": "contacts", "items": [MAX]})
    page = await ops.changes({"account": acct, "kind": "contacts", "sync_state": None})
    item = page["changes"][0]["item"]
    for name, value in MAX.items():
        assert item[name] == value, name
    assert item["display_name"] == "Max Muster"
    moved = {**MAX, "city": "Bonn", "phone_mobile": ""}
    (updated,) = await ops.update(
        {
            "account": acct,
            "kind": "contacts",
            "items": [
                {
                    "id": created["id"],
                    "change_key": created["change_key"],
                    "fields": ["city", "phone_mobile"],
                    "item": moved,
                }
            ],
        }
    )
    assert updated["ok"]
    (got,) = await ops.get({"account": acct, "ids": [created["id"]]})
    assert (
        got["item"]["city"] == "Bonn"
        and got["item"]["phone_mobile"] == ""
        and got["item"]["street"] == "Am Golfplatz 1"
    )
    by_mail = await ops.search_contacts({"account": acct, "text": "MAX@example.com"})
    by_name = await ops.search_contacts({"account": acct, "text": "muster"})
    assert [c["id"] for c in by_mail] == [created["id"]] == [c["id"] for c in by_name]
    assert await ops.search_contacts({"account": acct, "text": "nobody"}) == []


async def test_paging_past_512_changes(emulator, ops):
    acct = account(emulator)
    for start in range(0, 600, 200):
        batch = [{**ROUND, "subject": f"Tee time {n}", "external_id": f"x{n}"} for n in range(start, start + 200)]
        assert all(r["ok"] for r in await ops.create({"account": acct, "items": batch}))
    state, seen, pages = None, set(), 0
    while True:
        page = await ops.changes({"account": acct, "sync_state": state, "max_changes": 512})
        seen |= {c["item"]["subject"] for c in page["changes"]}
        state, pages = page["sync_state"], pages + 1
        if page["complete"]:
            break
    assert len(seen) == 600 and pages == 2


@pytest.mark.parametrize(
    "fault, code",
    [
        ({"kind": "server_busy", "back_off_ms": 4000}, "throttled"),
        ({"kind": "server_busy", "back_off_ms": 4000, "style": "message"}, "throttled"),
        ({"kind": "http_503", "retry_after": 7}, "throttled"),
        ({"kind": "http_500"}, "server_error"),
        ({"kind": "unauthorized"}, "auth_failed"),
        ({"kind": "drop"}, "timeout"),  # the answer was lost: whether it was done is not known
    ],
)
async def test_faults_become_stable_codes(emulator, ops, fault, code):
    acct = account(emulator)
    await ops.check({"account": acct})  # a gateway that has been running: it knows the server's version
    emulator.add_fault(**fault, count=1)
    with pytest.raises(GatewayError) as failure:
        await ops.changes({"account": acct, "sync_state": None})
    assert failure.value.code == code, failure.value.message
    emulator.clear_faults()
    if code == "throttled":
        assert failure.value.retry_after >= 1
        ops = ExchangeOperations(backends(ExchangeSettings(request_timeout=10)))  # (this gateway would wait: see below)
    assert (await ops.changes({"account": acct, "sync_state": None}))["complete"]  # fine again afterwards


async def test_wrong_password_and_password_change(emulator, ops):
    with pytest.raises(GatewayError) as wrong:
        await ops.check({"account": account(emulator, (ANNA[0], "wrong"))})
    assert wrong.value.code == "auth_failed"
    acct = account(emulator)
    await ops.check({"account": acct})
    emulator.change_password(ANNA[0], "new-secret")
    with pytest.raises(GatewayError) as changed:
        await ops.check({"account": acct})
    assert changed.value.code == "auth_failed"
    assert (await ops.check({"account": account(emulator, (ANNA[0], "new-secret"))}))["mailbox"] == ANNA[0]


async def test_unreachable_server(ops):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(GatewayError) as failure:
            await ops.check(
                {
                    "account": {
                        "ews_url": f"http://127.0.0.1:{port}/EWS/Exchange.asmx",
                        "mailbox": ANNA[0],
                        "password": "x",
                    }
                }
            )
    assert failure.value.code == "unreachable"


async def test_deadline_answers_timeout_in_time(emulator):
    ops = ExchangeOperations(backends(ExchangeSettings(request_timeout=10)), ExchangeLimits(deadline=0.5))
    emulator.add_fault("delay", seconds=3, count=1)
    started = trio.current_time()
    with pytest.raises(GatewayError) as failure:
        await ops.check({"account": account(emulator)})
    assert failure.value.code == "timeout" and trio.current_time() - started < 2


async def test_invalid_requests(emulator, ops):
    acct = account(emulator)
    cases = [
        ops.create({"account": acct, "items": [{"subject": "x", "start": "soon", "end": "later"}]}),
        ops.create({"account": acct, "kind": "tasks", "items": []}),
        ops.changes({"account": acct, "max_changes": 1000}),
        ops.update({"account": acct, "items": [{"id": "x", "fields": ["colour"], "item": ROUND}]}),
        ops.check({"account": {"mailbox": "a@b.c"}}),
    ]
    for call in cases:
        with pytest.raises(GatewayError) as failure:
            await call
        assert failure.value.code == "invalid"


async def test_a_hundred_requests_at_once(emulator, ops):
    acct, other = account(emulator), account(emulator, BOB)
    results = []

    async def one(n):
        who = acct if n % 2 else other
        created = await ops.create({"account": who, "items": [{**ROUND, "subject": f"#{n}", "external_id": f"n{n}"}]})
        results.append(created[0]["ok"])

    async with trio.open_nursery() as nursery:
        for n in range(100):
            nursery.start_soon(one, n)
    assert results == [True] * 100
    anna = await ops.changes({"account": acct, "sync_state": None})
    bob = await ops.changes({"account": other, "sync_state": None})
    assert len(anna["changes"]) == 50 and len(bob["changes"]) == 50


async def test_throttling_is_honoured_no_request_before_the_back_off_ends(emulator, ops):
    acct, bob = account(emulator), account(emulator, BOB)
    await ops.check({"account": acct})
    emulator.add_fault("server_busy", back_off_ms=1500, count=1)
    with pytest.raises(GatewayError) as first:
        await ops.changes({"account": acct, "sync_state": None})
    requests_then = emulator.request_counts
    with pytest.raises(GatewayError) as second:
        await ops.changes({"account": acct, "sync_state": None})
    assert first.value.code == second.value.code == "throttled"
    assert 0 < second.value.retry_after <= 1.5
    assert emulator.request_counts == requests_then  # answered by the gateway itself, Exchange left alone
    assert (await ops.check({"account": bob}))["mailbox"] == BOB[0]  # other mailboxes go on
    await trio.sleep(second.value.retry_after)
    assert (await ops.changes({"account": acct, "sync_state": None}))["complete"]


async def test_no_credential_reaches_any_log_even_at_debug(emulator, ops):
    import base64
    import logging

    captured = []

    class Capture(logging.Handler):
        def emit(self, record):
            captured.append(self.format(record))

    root = logging.getLogger()
    handler, level = Capture(level=logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        configure_exchangelib(ExchangeSettings(request_timeout=10))
        await ops.check({"account": account(emulator)})
        with pytest.raises(GatewayError):
            await ops.check({"account": account(emulator, (ANNA[0], "wrong-secret"))})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    text = "\n".join(captured)
    basic = base64.b64encode(f"{ANNA[0]}:{ANNA[1]}".encode()).decode()
    for secret in (ANNA[1], "wrong-secret", basic):
        assert secret not in text


async def test_changes_of_many_folders_in_one_request(emulator, ops):
    await ops.create({"account": account(emulator), "items": [ROUND]})
    answers = await ops.changes_many(
        {
            "requests": [
                {"account": account(emulator), "sync_state": None},
                {"account": account(emulator, BOB), "sync_state": None},
                {"account": account(emulator, (ANNA[0], "wrong")), "sync_state": None},
                "not a map",
            ]
        }
    )
    assert [a["ok"] for a in answers] == [True, True, False, False]
    assert len(answers[0]["result"]["changes"]) == 1 and answers[1]["result"]["changes"] == []
    assert answers[2]["error"]["code"] == "auth_failed" and answers[3]["error"]["code"] == "invalid"


async def test_every_write_is_reported_its_own_included_and_without_items_on_request(emulator, ops):
    acct = account(emulator)
    first = await ops.changes({"account": acct, "sync_state": None})
    (ours,) = await ops.create({"account": acct, "items": [ROUND]})
    fresh = ExchangeOperations(backends(ExchangeSettings(request_timeout=10)))  # another gateway
    (elsewhere,) = await fresh.create({"account": acct, "items": [{**ROUND, "subject": "Outlook"}]})
    page = await ops.changes({"account": acct, "sync_state": first["sync_state"], "with_items": False})
    assert {(c["type"], c["id"], c["change_key"], c["item"]) for c in page["changes"]} == {
        ("create", ours["id"], ours["change_key"], None),
        ("create", elsewhere["id"], elsewhere["change_key"], None),
    }
    full = await ops.changes({"account": acct, "sync_state": first["sync_state"]})
    assert {c["item"]["subject"] for c in full["changes"]} == {ROUND["subject"], "Outlook"}
    with pytest.raises(GatewayError) as bad:
        await ops.changes({"account": acct, "sync_state": None, "with_items": "no"})
    assert bad.value.code == "invalid"


async def test_a_create_still_running_is_neither_looked_up_nor_sent_again(emulator, ops):
    acct = account(emulator)
    wanted = {**ROUND, "external_id": "pccaddie:1:in-flight"}
    end = ops._in_flight.begin(acct["mailbox"].lower(), ["pccaddie:1:in-flight"])  # an abandoned create's thread
    with pytest.raises(GatewayError) as busy:
        await ops.find_external({"account": acct, "external_ids": ["pccaddie:1:in-flight"]})
    assert busy.value.code == "busy"
    answers = await ops.create({"account": acct, "items": [wanted, {**ROUND, "external_id": "pccaddie:1:other"}]})
    assert [a["ok"] for a in answers] == [False, True] and answers[0]["error"]["code"] == "busy"
    end()
    assert await ops.find_external({"account": acct, "external_ids": ["pccaddie:1:in-flight"]}) == {}
    (made,) = await ops.create({"account": acct, "items": [wanted]})
    (twin,) = await ops.create({"account": acct, "items": [wanted]})
    found = await ops.find_external({"account": acct, "external_ids": ["pccaddie:1:in-flight"], "all_matches": True})
    assert {e["id"] for e in found["pccaddie:1:in-flight"]} == {made["id"], twin["id"]}
