"""The gateway under the failures a real Exchange server produces (issue 13), each switched on in
the stand-in: nothing is sent twice, no item is blamed for the mailbox's failure, no item over
Exchange's limits stalls its calendar, the folder list follows what the user does in Outlook,
reminders go only on what is still to come, and reads ask only for what the sync uses."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from exchangelib import BASIC, DELEGATE, Account, CalendarItem, Configuration, Credentials, FailFast, ItemId
from exchangelib.protocol import close_connections
from lxml import etree

from exchange_gateway.backends import backends
from exchange_gateway.errors import GatewayError
from exchange_gateway.ews import calendar_xml, convert
from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.ews.folders import DEFAULT_MAX_AGE
from exchange_gateway.ews.services import SyncItems
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_standin import EmulatorServer, dispatcher
from protocol.entries import CalendarEntry
from protocol.framing import DEFAULT_MAX_FRAME_SIZE
from tests.exchange_standin.conftest import envelope, post

ANNA = ("anna@club.example", "anna-secret")
YEAR = dt.date.today().year + 1
PAST = dt.date.today().year - 1


def entry(n: int, year: int = YEAR, **overrides: object) -> dict[str, object]:
    return {
        "subject": f"Lesson {n}",
        "start": f"{year}-06-{n:02d}T07:30:00Z",
        "end": f"{year}-06-{n:02d}T08:30:00Z",
        "timezone": "Europe/Berlin",
        "location": "Range",
        "body": f"Bring clubs ({n})",
        "reminder_minutes": 15,
        "external_id": f"pccaddie:1:{n}",
        **overrides,
    }


@pytest.fixture(scope="module", autouse=True)
def exchangelib_settings():
    configure_exchangelib(ExchangeSettings(request_timeout=10))


@pytest.fixture
def emulator():
    server = EmulatorServer(mailboxes=[ANNA]).start()
    yield server
    server.stop()
    close_connections()


def gateway(folder_max_age: float = DEFAULT_MAX_AGE, **limits: object) -> ExchangeOperations:
    return ExchangeOperations(
        backends(ExchangeSettings(request_timeout=10), folder_max_age),
        ExchangeLimits(deadline=15, **limits),  # type: ignore[arg-type]
    )


@pytest.fixture
def ops():
    return gateway()


def account(server: EmulatorServer) -> dict[str, str]:
    return {"ews_url": server.url, "mailbox": ANNA[0], "password": ANNA[1]}


def outlook(server: EmulatorServer) -> Account:
    config = Configuration(
        service_endpoint=server.url, credentials=Credentials(*ANNA), auth_type=BASIC, retry_policy=FailFast()
    )
    return Account(ANNA[0], config=config, autodiscover=False, access_type=DELEGATE)


def stored(server: EmulatorServer, folder: str = "Calendar") -> list[dict[str, object]]:
    (mailbox,) = server.state()["mailboxes"]
    return [item for item in mailbox["items"] if item["folder"] == folder]


def subjects(server: EmulatorServer) -> list[str]:
    return sorted(str(item["subject"]) for item in stored(server))


async def ready(ops: ExchangeOperations, server: EmulatorServer) -> dict[str, str]:
    acct = account(server)
    await ops.check({"account": acct})  # a gateway that has been running: it knows the server's version
    return acct


# -- 1. a failed batch is never sent again ---------------------------------------------------------


@pytest.mark.parametrize(
    "fault, code",
    [
        ({"kind": "timeout_after_work", "keep": 1}, "timeout"),  # 1 answered, then ErrorTimeoutExpired
        ({"kind": "timeout_after_work"}, "timeout"),
        ({"kind": "fault_after_work"}, "server_error"),  # done, then a SOAP fault
        ({"kind": "drop", "process": True}, "timeout"),  # done, then the connection is gone
    ],
)
async def test_a_create_batch_answered_with_a_failure_after_the_work_is_not_sent_again(emulator, ops, fault, code):
    acct = await ready(ops, emulator)
    emulator.add_fault(**fault, operations=["CreateItem"], count=1)
    with pytest.raises(GatewayError) as failure:
        await ops.create({"account": acct, "items": [entry(n) for n in range(1, 5)]})
    assert failure.value.code == code  # the whole request: no item is blamed, none is sent again
    assert subjects(emulator) == [f"Lesson {n}" for n in range(1, 5)]  # 4 creates are 4 items, not 8
    found = await ops.find_external({"account": acct, "external_ids": [f"pccaddie:1:{n}" for n in range(1, 5)]})
    assert sorted(found) == [f"pccaddie:1:{n}" for n in range(1, 5)]  # and each is found by its external id


async def test_an_update_batch_answered_with_a_timeout_after_the_work_is_not_sent_again(emulator, ops):
    acct = await ready(ops, emulator)
    made = await ops.create({"account": acct, "items": [entry(n) for n in range(1, 4)]})
    emulator.add_fault("timeout_after_work", operations=["UpdateItem"], keep=1, count=1)
    before = emulator.request_counts.get("UpdateItem", 0)
    with pytest.raises(GatewayError) as failure:
        await ops.update(
            {
                "account": acct,
                "items": [
                    {
                        "id": m["id"],
                        "change_key": m["change_key"],
                        "fields": ["location"],
                        "item": entry(n, location="Hut"),
                    }
                    for n, m in enumerate(made, start=1)
                ],
            }
        )
    assert failure.value.code == "timeout"
    assert emulator.request_counts["UpdateItem"] == before + 1  # one request, never repeated item by item
    got = await ops.get({"account": acct, "ids": [m["id"] for m in made]})
    assert [g["item"]["location"] for g in got] == ["Hut"] * 3  # Exchange did it all


# -- 2. the mailbox's failure blames no item -------------------------------------------------------


async def test_a_full_mailbox_answers_the_whole_request_and_reads_still_work(emulator, ops):
    acct = await ready(ops, emulator)
    (made,) = await ops.create({"account": acct, "items": [entry(1)]})
    emulator.add_fault("quota_exceeded", fraction=1.0)
    with pytest.raises(GatewayError) as create:
        await ops.create({"account": acct, "items": [entry(2), entry(3)]})
    renamed = {"id": made["id"], "change_key": made["change_key"], "fields": ["subject"], "item": entry(1, subject="x")}
    with pytest.raises(GatewayError) as update:
        await ops.update({"account": acct, "items": [renamed]})
    assert create.value.code == update.value.code == "mailbox_full"
    assert len((await ops.changes({"account": acct, "sync_state": None}))["changes"]) == 1  # reads work
    (deleted,) = await ops.delete({"account": acct, "items": [{"id": made["id"]}]})  # deletes free space
    assert deleted["ok"]


@pytest.mark.parametrize(
    "code, answer",
    [
        ("ErrorMailboxStoreUnavailable", "unreachable"),
        ("ErrorMailboxMoveInProgress", "unreachable"),
        ("ErrorTimeoutExpired", "timeout"),
        ("ErrorInternalServerTransientError", "server_error"),
    ],
)
async def test_a_mailbox_or_server_error_in_the_items_messages_answers_the_whole_request(emulator, ops, code, answer):
    acct = await ready(ops, emulator)
    made = await ops.create({"account": acct, "items": [entry(1), entry(2)]})
    emulator.add_fault("error_message", code=code, operations=["UpdateItem", "DeleteItem"], fraction=1.0)
    with pytest.raises(GatewayError) as update:
        await ops.update(
            {
                "account": acct,
                "items": [
                    {"id": m["id"], "change_key": m["change_key"], "fields": ["subject"], "item": entry(n, subject="x")}
                    for n, m in enumerate(made, start=1)
                ],
            }
        )
    with pytest.raises(GatewayError) as delete:
        await ops.delete({"account": acct, "items": [{"id": m["id"]} for m in made]})
    assert update.value.code == delete.value.code == answer


async def test_a_server_busy_message_keeps_its_back_off(emulator, ops):
    acct = await ready(ops, emulator)
    emulator.add_fault("server_busy", style="message", back_off_ms=4000, count=1)
    with pytest.raises(GatewayError) as failure:
        await ops.changes({"account": acct, "sync_state": None})
    assert failure.value.code == "throttled" and failure.value.retry_after == pytest.approx(4.0, abs=0.5)


# -- 3. Exchange's limits --------------------------------------------------------------------------


async def test_text_over_exchanges_limits_is_shortened_and_said_so(emulator, ops):
    acct = await ready(ops, emulator)
    long_title, long_place = "Ü" * 300, "Driving range " * 30
    results = await ops.create(
        {"account": acct, "items": [entry(1, subject=long_title, location=long_place), entry(2)]}
    )
    assert [r["ok"] for r in results] == [True, True]
    assert results[0]["shortened"] == ["subject", "location"] and "shortened" not in results[1]
    (got,) = await ops.get({"account": acct, "ids": [results[0]["id"]]})
    assert got["item"]["subject"] == "Ü" * 255 and len(got["item"]["location"]) <= 255
    assert got["item"]["location"] == long_place[:255].rstrip()
    (updated,) = await ops.update(
        {
            "account": acct,
            "items": [
                {
                    "id": results[1]["id"],
                    "change_key": results[1]["change_key"],
                    "fields": ["subject"],
                    "item": entry(2, subject="x" * 256),
                }
            ],
        }
    )
    assert updated["ok"] and updated["shortened"] == ["subject"]


async def test_a_contact_with_long_names_is_shortened(emulator, ops):
    acct = await ready(ops, emulator)
    person = {"given_name": "G" * 200, "surname": "S" * 300, "city": "C" * 256, "external_id": "pccaddie-person:1"}
    (made,) = await ops.create({"account": acct, "kind": "contacts", "items": [person]})
    assert made["ok"] and made["shortened"] == ["surname", "city"]
    (got,) = await ops.get({"account": acct, "kind": "contacts", "ids": [made["id"]]})
    assert got["item"]["surname"] == "S" * 255 and len(got["item"]["display_name"]) == 255


async def test_an_item_exchangelib_refuses_fails_alone(emulator, ops):
    acct = await ready(ops, emulator)
    results = await ops.create({"account": acct, "items": [entry(1), entry(2, timezone="Mars/Olympus"), entry(3)]})
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"]["code"] == "invalid"
    assert subjects(emulator) == ["Lesson 1", "Lesson 3"]


def refusing(monkeypatch: pytest.MonkeyPatch, subject: str) -> list[object]:
    """exchangelib made to refuse (as it checks an item while it writes the request) the item
    built for `subject`, which nothing refuses before; returns the items checked, each time.
    The items go through exchangelib's own writing, as for a server before Exchange 2010 (a newer
    one's calendar items are written by calendar_xml: tests below)."""
    monkeypatch.setattr(calendar_xml, "writer_for", lambda version, names: None)
    checked: list[object] = []
    build, clean = convert.calendar_item, CalendarItem.clean

    def calendar_item(entry: CalendarEntry, *args: object, **kwargs: object) -> CalendarItem:
        item = build(entry, *args, **kwargs)  # type: ignore[arg-type]
        if entry.subject == subject:
            item.reminder_minutes_before_start = -5  # IntegerField(min=0): refused by clean()
        return item

    def counted(self: CalendarItem, version: object = None) -> None:
        checked.append(self)
        clean(self, version=version)

    monkeypatch.setattr(convert, "calendar_item", calendar_item)
    monkeypatch.setattr(CalendarItem, "clean", counted)
    return checked


async def test_a_create_checks_each_item_once(emulator, ops, monkeypatch):
    acct = await ready(ops, emulator)
    checked = refusing(monkeypatch, "nothing is refused")
    results = await ops.create({"account": acct, "items": [entry(n) for n in (1, 2, 3)]})
    assert [r["ok"] for r in results] == [True, True, True]
    assert len(checked) == 3 and len({id(item) for item in checked}) == 3  # by exchangelib, as it writes them


async def test_an_item_refused_only_as_the_request_is_written_fails_alone(emulator, ops, monkeypatch):
    acct = await ready(ops, emulator)
    refusing(monkeypatch, "Lesson 2")
    creates = emulator.request_counts.get("CreateItem", 0)
    results = await ops.create({"account": acct, "items": [entry(1), entry(2), entry(3)]})
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"]["code"] == "invalid" and results[1]["id"] is None
    assert subjects(emulator) == ["Lesson 1", "Lesson 3"]
    assert emulator.request_counts["CreateItem"] == creates + 1  # the refused request was never sent


def refusing_written(monkeypatch: pytest.MonkeyPatch, subject: str) -> list[str]:
    """The values of the item for `subject` made such that exchangelib's check refuses them
    (a reminder of -5 minutes), which nothing refuses before; returns the subjects written."""
    written: list[str] = []
    values, element = convert.calendar_values, calendar_xml.CalendarXml.element

    def calendar_values(entry: CalendarEntry, *args: object, **kwargs: object) -> dict[str, object]:
        made = values(entry, *args, **kwargs)  # type: ignore[arg-type]
        if entry.subject == subject:
            made["reminder_minutes_before_start"] = -5  # IntegerField(min=0)
        return made

    def counted(self: calendar_xml.CalendarXml, made: dict[str, object]) -> object:
        written.append(str(made["subject"]))
        return element(self, made)

    monkeypatch.setattr(convert, "calendar_values", calendar_values)
    monkeypatch.setattr(calendar_xml.CalendarXml, "element", counted)
    return written


async def test_a_calendar_item_is_written_and_checked_once(emulator, ops, monkeypatch):
    acct = await ready(ops, emulator)
    written = refusing_written(monkeypatch, "nothing is refused")
    results = await ops.create({"account": acct, "items": [entry(n) for n in (1, 2, 3)]})
    assert [r["ok"] for r in results] == [True, True, True]
    assert written == ["Lesson 1", "Lesson 2", "Lesson 3"]


async def test_a_calendar_item_exchangelib_would_refuse_fails_alone_and_unsent(emulator, ops, monkeypatch):
    acct = await ready(ops, emulator)
    refusing_written(monkeypatch, "Lesson 2")
    creates = emulator.request_counts.get("CreateItem", 0)
    results = await ops.create({"account": acct, "items": [entry(1), entry(2), entry(3)]})
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"]["code"] == "invalid" and results[1]["id"] is None
    assert "reminder_minutes_before_start" in results[1]["error"]["message"]
    assert subjects(emulator) == ["Lesson 1", "Lesson 3"]
    assert emulator.request_counts["CreateItem"] == creates + 1


# -- 4. an invalid sync state ----------------------------------------------------------------------


async def test_an_invalid_sync_state_has_its_own_code(emulator, ops):
    acct = await ready(ops, emulator)
    first = await ops.changes({"account": acct, "sync_state": None})
    emulator.add_fault("invalid_sync_state", count=1)
    with pytest.raises(GatewayError) as failure:
        await ops.changes({"account": acct, "sync_state": first["sync_state"]})
    assert failure.value.code == "sync_state_invalid"
    with pytest.raises(GatewayError) as foreign:
        await ops.changes({"account": acct, "sync_state": "H4sIAAAAAAAAA2NgYGBgBGIAAAD//w=="})
    assert foreign.value.code == "sync_state_invalid"
    assert (await ops.changes({"account": acct, "sync_state": None}))["complete"]  # afresh: fine


# -- 5. the folder list follows Outlook ------------------------------------------------------------


async def test_folder_names_are_compared_as_exchange_does(emulator, ops):
    acct = await ready(ops, emulator)
    made = await ops.ensure_folder({"account": acct, "name": "PC CADDIE Tee times"})
    again = await ops.ensure_folder({"account": acct, "name": "pc caddie TEE TIMES"})
    assert made["created"] and not again["created"] and again["id"] == made["id"]
    await ops.create({"account": acct, "folder": "Pc Caddie Tee Times", "items": [entry(1)]})
    assert len(stored(emulator, "PC CADDIE Tee times")) == 1


async def test_a_folder_made_in_outlook_after_the_list_was_read_is_found(emulator, ops):
    acct = await ready(ops, emulator)
    await ops.ensure_folder({"account": acct, "name": "Lessons"})  # the gateway has read the list
    emulator.store.lock.acquire()
    try:
        mailbox = emulator.store.mailbox(ANNA[0])
        assert mailbox is not None
        calendar = mailbox.distinguished["calendar"]
        mailbox.new_folder(calendar, "Rooms", "IPF.Appointment", "CalendarFolder")
    finally:
        emulator.store.lock.release()
    page = await ops.changes({"account": acct, "folder": "Rooms", "sync_state": None})
    assert page["complete"] and page["changes"] == []


async def test_a_folder_moved_to_deleted_items_is_not_the_sub_calendar_any_more(emulator):
    ops = gateway(folder_max_age=0)  # the list is trusted no longer than this
    acct = await ready(ops, emulator)
    made = await ops.ensure_folder({"account": acct, "name": "Lessons"})
    await ops.changes({"account": acct, "folder": "Lessons", "sync_state": None})
    emulator.change_folder(ANNA[0], "Lessons", "trash")  # the user deletes it in Outlook
    with pytest.raises(GatewayError) as gone:
        await ops.changes({"account": acct, "folder": "Lessons", "sync_state": None})
    assert gone.value.code == "not_found"
    again = await ops.ensure_folder({"account": acct, "name": "Lessons"})
    assert again["created"] and again["id"] != made["id"]
    await ops.create({"account": acct, "folder": "Lessons", "items": [entry(1)]})
    assert len(stored(emulator, "Lessons")) == 1
    names = [f["name"] for f in await ops.folders({"account": acct})]
    assert names == ["", "Lessons"]


async def test_a_folder_deleted_in_outlook_is_made_again_at_once(emulator, ops):
    acct = await ready(ops, emulator)
    await ops.ensure_folder({"account": acct, "name": "Lessons"})
    await ops.changes({"account": acct, "folder": "Lessons", "sync_state": None})
    emulator.change_folder(ANNA[0], "Lessons", "delete")
    with pytest.raises(GatewayError) as gone:
        await ops.changes({"account": acct, "folder": "Lessons", "sync_state": None})
    assert gone.value.code == "not_found"
    assert (await ops.ensure_folder({"account": acct, "name": "Lessons"}))["created"]
    assert (await ops.changes({"account": acct, "folder": "Lessons", "sync_state": None}))["complete"]


# -- 6. reminders ----------------------------------------------------------------------------------


async def test_reminders_go_only_on_appointments_still_to_come(emulator, ops):
    acct = await ready(ops, emulator)
    past, coming = await ops.create({"account": acct, "items": [entry(1, year=PAST), entry(2)]})
    mine = outlook(emulator)
    old, new = mine.fetch(ids=[(past["id"], None), (coming["id"], None)])
    assert old.reminder_is_set is False  # no wall of overdue reminders in Outlook
    assert new.reminder_is_set is True and new.reminder_minutes_before_start == 15


async def test_an_update_leaves_a_dismissed_reminder_alone_unless_the_time_changed(emulator, ops):
    acct = await ready(ops, emulator)
    (made,) = await ops.create({"account": acct, "items": [entry(1)]})
    mine = outlook(emulator)
    (item,) = mine.fetch(ids=[(made["id"], None)])
    item.reminder_is_set = False  # the user dismissed it
    item.save(update_fields=["reminder_is_set"])
    every_field = ["subject", "body", "location", "private", "reminder_minutes", "external_id"]
    (renamed,) = await ops.update(
        {
            "account": acct,
            "items": [
                {
                    "id": item.id,
                    "change_key": item.changekey,
                    "fields": every_field,
                    "item": entry(1, subject="Renamed"),
                }
            ],
        }
    )
    (item,) = mine.fetch(ids=[(made["id"], None)])
    assert renamed["ok"] and item.subject == "Renamed" and item.reminder_is_set is False
    moved = entry(1, start=f"{YEAR}-07-01T07:30:00Z", end=f"{YEAR}-07-01T08:30:00Z")
    (done,) = await ops.update(
        {
            "account": acct,
            "items": [{"id": item.id, "change_key": renamed["change_key"], "fields": ["start", "end"], "item": moved}],
        }
    )
    (item,) = mine.fetch(ids=[(made["id"], None)])
    assert done["ok"] and item.reminder_is_set is True  # a new time: reminded again


# -- 8. reads ask for what is used, replies stay under the frame limit ----------------------------


async def test_reads_ask_only_for_the_fields_the_sync_uses(emulator, ops, monkeypatch):
    acct = await ready(ops, emulator)
    (made,) = await ops.create({"account": acct, "items": [entry(1)]})
    asked: list[bytes] = []
    handle = dispatcher.handle

    def recording(store, mailbox, request):
        if request.operation in ("GetItem", "FindItem"):
            asked.append(etree.tostring(request.element))
        return handle(store, mailbox, request)

    monkeypatch.setattr(dispatcher, "handle", recording)
    (got,) = await ops.get({"account": acct, "ids": [made["id"]]})
    await ops.find_external({"account": acct, "external_ids": ["pccaddie:1:1"]})
    assert got["ok"] and got["item"]["subject"] == "Lesson 1" and asked
    for request in asked:
        asked_for = [e for e in etree.fromstring(request).iter() if etree.QName(e).localname.endswith("FieldURI")]
        assert b"MimeContent" not in request and len(asked_for) <= 70, len(asked_for)  # all fields: ~300


async def test_a_get_reply_stays_within_its_budget_and_answers_every_item(emulator):
    ops = gateway(reply_bytes=60_000)
    acct = await ready(ops, emulator)
    made = await ops.create({"account": acct, "items": [entry(n, body="x" * 20_000) for n in range(1, 6)]})
    answers = await ops.get({"account": acct, "ids": [m["id"] for m in made]})
    assert [a.get("id") or a["item"]["id"] for a in answers] == [m["id"] for m in made]
    assert [a["ok"] for a in answers] == [True, True, False, False, False]
    assert {a["error"]["code"] for a in answers if not a["ok"]} == {"busy"}  # asked for again, later
    import msgpack

    assert len(msgpack.packb(answers)) <= 60_000 < DEFAULT_MAX_FRAME_SIZE


# -- 10. smaller ones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault, code, retry_after",
    [
        ({"kind": "http_503", "retry_after": 7}, "throttled", 7.0),  # the server's own Retry-After
        ({"kind": "http_503"}, "unreachable", None),  # no wait made up
        ({"kind": "drop", "reset": True}, "timeout", None),  # reset: whether it was done is not known
    ],
)
async def test_transport_failures_keep_their_real_code(emulator, ops, fault, code, retry_after):
    acct = await ready(ops, emulator)
    emulator.add_fault(**fault, count=1)
    with pytest.raises(GatewayError) as failure:
        await ops.changes({"account": acct, "sync_state": None})
    assert (failure.value.code, failure.value.retry_after) == (code, retry_after)


async def test_a_read_flag_change_in_the_feed_is_no_change_to_the_sync(emulator, ops, monkeypatch):
    acct = await ready(ops, emulator)
    (made,) = await ops.create({"account": acct, "items": [entry(1)]})
    real = SyncItems.call

    def with_a_read_flag(self, **kwargs):  # what exchangelib yields for a t:ReadFlagChange: a tuple
        yield "read_flag_change", (ItemId(id=made["id"]), True)
        yield from real(self, **kwargs)

    monkeypatch.setattr(SyncItems, "call", with_a_read_flag)
    page = await ops.changes({"account": acct, "sync_state": None})
    assert [(c["type"], c["id"]) for c in page["changes"]] == [("create", made["id"])] and page["complete"]


async def test_an_item_with_an_unreadable_time_zone_is_read_as_utc_and_fails_nothing_else(emulator, ops):
    acct = await ready(ops, emulator)
    (ours,) = await ops.create({"account": acct, "items": [entry(1)]})
    imported = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>'
        '<t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem>'
        f"<t:Subject>Imported</t:Subject><t:Start>{YEAR}-07-01T10:00:00Z</t:Start>"
        f"<t:End>{YEAR}-07-01T11:00:00Z</t:End><t:StartTimeZone><t:Periods>"
        '<t:Period Bias="-PT1H" Name="Standard" Id="custom"/></t:Periods></t:StartTimeZone>'
        "</t:CalendarItem></m:Items></m:CreateItem>"
    )
    assert post(emulator, imported).status_code == 200
    page = await ops.changes({"account": acct, "sync_state": None})
    items = {c["item"]["subject"]: c["item"] for c in page["changes"]}
    assert set(items) == {"Lesson 1", "Imported"}
    assert (items["Imported"]["timezone"], items["Imported"]["start"]) == ("UTC", f"{YEAR}-07-01T10:00:00Z")
    got = await ops.get({"account": acct, "ids": [ours["id"], items["Imported"]["id"]]})
    assert [g["ok"] for g in got] == [True, True]


def test_the_stand_in_refuses_an_unknown_fault(emulator):
    reply = requests.post(f"{emulator.base_url}/emulator/faults", json={"kind": "error_message", "code": "nope"})
    assert reply.status_code == 400 and "ResponseCode" in reply.json()["error"]
