"""The replies and requests as dataclasses (protocol/entries.py) keep the wire as it was: what
each `to_wire` gives is the map the code before them wrote by hand, key for key and in the same
order (the same msgpack bytes), so that an older peer reads us as before; `from_wire` reads it
back, and refuses anything malformed with EntryError."""

import msgpack
import pytest

from protocol.entries import (
    CalendarEntry,
    Change,
    ChangePage,
    ContactEntry,
    CreateRequest,
    EntryError,
    Fetched,
    Found,
    ItemError,
    ItemRef,
    ItemResult,
    UpdateRequest,
    contacts_from_wire,
    request_wire,
)

LESSON = CalendarEntry(
    subject="Lesson",
    start="2026-06-01T07:30:00Z",
    end="2026-06-01T08:30:00Z",
    body="Bring clubs",
    location="Range",
    timezone="Europe/Berlin",
    reminder_minutes=15,
    categories=("Lessons",),
    external_id="pccaddie:1:abc",
    written="digest-1",
)
# the calendar entry as appointment_content.to_entry wrote it by hand
LESSON_SENT = {
    "subject": "Lesson",
    "start": "2026-06-01T07:30:00Z",
    "end": "2026-06-01T08:30:00Z",
    "all_day": False,
    "body": "Bring clubs",
    "location": "Range",
    "timezone": "Europe/Berlin",
    "private": False,
    "reminder_minutes": 15,
    "categories": ["Lessons"],
    "external_id": "pccaddie:1:abc",
    "written": "digest-1",
}
MAX = ContactEntry(
    given_name="Max",
    surname="Muster",
    phone_home="",
    phone_business="+49 221 1",
    phone_mobile="",
    emails=("max@example.com",),
    external_id="pccaddie-contact:1:7:x",
)


def same_bytes(sent: object, before: object) -> bool:
    return msgpack.packb(sent, use_bin_type=True) == msgpack.packb(before, use_bin_type=True)


def test_a_calendar_create_sends_the_entry_the_engine_wrote_by_hand():
    assert same_bytes(request_wire(LESSON), LESSON_SENT)
    untitled = CalendarEntry(subject="", start="2026-06-05", end="2026-06-06", all_day=True, timezone="UTC")
    assert request_wire(untitled) == {
        **LESSON_SENT,
        "subject": "",
        "start": "2026-06-05",
        "end": "2026-06-06",
        "all_day": True,
        "body": "",
        "location": "",
        "timezone": "UTC",
        "reminder_minutes": None,
        "categories": [],
        "external_id": None,
        "written": None,
    }


def test_a_calendar_update_and_a_copys_label_send_the_whole_entry_and_the_fields_named():
    update = UpdateRequest(ItemRef("AAMk1", "ck1"), ("subject", "written"), LESSON)
    before = {"id": "AAMk1", "change_key": "ck1", "fields": ["subject", "written"], "item": LESSON_SENT}
    assert same_bytes(update.to_wire(), before)
    label = UpdateRequest(ItemRef("AAMk2", None), ("external_id",), LESSON)
    assert same_bytes(
        label.to_wire(), {"id": "AAMk2", "change_key": None, "fields": ["external_id"], "item": LESSON_SENT}
    )


def test_a_contact_create_sends_its_external_id_and_its_groups_fields_only():
    fields = ("external_id", "given_name", "surname", "phone_home", "phone_business", "phone_mobile", "emails")
    before = {
        "external_id": "pccaddie-contact:1:7:x",
        "given_name": "Max",
        "surname": "Muster",
        "phone_home": "",
        "phone_business": "+49 221 1",
        "phone_mobile": "",
        "emails": ["max@example.com"],
    }
    assert same_bytes(CreateRequest(MAX, fields).to_wire(), before)
    assert same_bytes(request_wire(CreateRequest(MAX, fields)), before)


def test_a_contact_update_carries_only_the_fields_it_writes():
    update = UpdateRequest(ItemRef("AAMk3", "ck3"), ("phone_home", "phone_business", "phone_mobile"), MAX)
    before = {
        "id": "AAMk3",
        "change_key": "ck3",
        "fields": ["phone_home", "phone_business", "phone_mobile"],
        "item": {"phone_home": "", "phone_business": "+49 221 1", "phone_mobile": ""},
    }
    assert same_bytes(update.to_wire(), before)


def test_a_delete_sends_the_reference():
    assert same_bytes(ItemRef("AAMk4").to_wire(), {"id": "AAMk4", "change_key": None})
    assert ItemRef.from_wire(ItemRef("AAMk4", "ck").to_wire()) == ItemRef("AAMk4", "ck")


def test_the_gateway_reads_an_update_as_it_reads_today():
    update = UpdateRequest(ItemRef("AAMk1", "ck1"), ("subject", "written"), LESSON)
    assert UpdateRequest.from_wire("calendar", update.to_wire()) == update
    contact = UpdateRequest(ItemRef("AAMk3"), ("emails",), MAX)
    assert UpdateRequest.from_wire("contacts", contact.to_wire()) == UpdateRequest(
        ItemRef("AAMk3"), ("emails",), ContactEntry(emails=("max@example.com",))
    )
    for fields in ([], ["id"], ["no_such_field"], "subject"):
        with pytest.raises(EntryError, match="fields must name"):
            UpdateRequest.from_wire("calendar", {**update.to_wire(), "fields": fields})
    with pytest.raises(EntryError, match="needs an id"):
        UpdateRequest.from_wire("calendar", {**update.to_wire(), "id": None})


@pytest.mark.parametrize(
    "result, before",
    [
        (ItemResult(True, "AAMk1", "ck2"), {"ok": True, "id": "AAMk1", "change_key": "ck2"}),
        (
            ItemResult(True, "AAMk1", "ck2", shortened=("street",)),
            {"ok": True, "id": "AAMk1", "change_key": "ck2", "shortened": ["street"]},
        ),
        (
            ItemResult(False, "AAMk1", error=ItemError("conflict", "changed")),
            {"ok": False, "id": "AAMk1", "error": {"code": "conflict", "message": "changed"}},
        ),
        (
            ItemResult(False, None, error=ItemError("throttled", "slow down", 2.5), shortened=("subject",)),
            {
                "ok": False,
                "id": None,
                "error": {"retry_after": 2.5, "code": "throttled", "message": "slow down"},
                "shortened": ["subject"],
            },
        ),
    ],
)
def test_an_items_result_is_what_the_gateway_answered(result, before):
    assert same_bytes(result.to_wire(), before)
    assert ItemResult.from_wire(before) == result


@pytest.mark.parametrize(
    "wire",
    [
        None,
        {},
        {"ok": "yes"},
        {"ok": False, "id": "A"},  # a failure says why
        {"ok": False, "id": "A", "error": {"message": "no code"}},
        {"ok": True, "id": 5},
        {"ok": True, "id": "A", "shortened": "street"},
        {"ok": False, "id": "A", "error": {"code": "throttled", "message": "m", "retry_after": "soon"}},
    ],
)
def test_a_malformed_result_is_refused(wire):
    with pytest.raises(EntryError):
        ItemResult.from_wire(wire)


def test_a_result_names_its_code_and_a_failure_of_the_gateway_becomes_its_error():
    class Refusal(Exception):
        code, message, retry_after = "invalid", "no", None

    failed = ItemResult.failed("A", Refusal(), ["body"])
    assert (failed.ok, failed.id, failed.code, failed.error, failed.shortened) == (
        False,
        "A",
        "invalid",
        ItemError("invalid", "no"),
        ("body",),
    )
    assert ItemResult(True, "A").code is None


def test_get_answers_an_entry_or_why_not():
    answered = CalendarEntry(**{**LESSON.__dict__, "id": "AAMk1", "change_key": "ck1", "recurring": True})
    ok = Fetched("AAMk1", answered)
    assert same_bytes(ok.to_wire(), {"ok": True, "item": answered.to_wire()})
    assert Fetched.from_wire("calendar", ok.to_wire()) == ok
    gone = Fetched("AAMk9", error=ItemError("not_found", "gone"))
    assert same_bytes(gone.to_wire(), {"ok": False, "id": "AAMk9", "error": {"code": "not_found", "message": "gone"}})
    assert Fetched.from_wire("calendar", gone.to_wire()) == gone and gone.code == "not_found" and not gone.ok
    contact = Fetched.from_wire("contacts", {"ok": True, "item": {**MAX.to_wire(), "id": "C1"}})
    assert isinstance(contact.entry, ContactEntry) and contact.id == "C1"
    for wire in ({"ok": True}, {"ok": True, "item": {"subject": 5}}, {"item": {}}, {"ok": False, "id": "A"}):
        with pytest.raises(EntryError):
            Fetched.from_wire("calendar", wire)


def test_an_answer_is_read_by_its_types_only_the_values_are_exchanges():
    """What Exchange holds is read as it is (a reminder two months ahead, four e-mail addresses
    through Graph); what the gateway is asked to write is checked."""
    held = {**LESSON_SENT, "reminder_minutes": 60 * 24 * 60, "end": "2026-05-01T00:00:00Z"}
    assert CalendarEntry.from_wire(held, checked=False).reminder_minutes == 60 * 24 * 60
    with pytest.raises(EntryError):
        CalendarEntry.from_wire(held)
    four = {"emails": ["a@b.c", "d@e.f", "g@h.i", "j@k.l"]}
    assert len(ContactEntry.from_wire(four, checked=False).emails) == 4
    with pytest.raises(EntryError):
        ContactEntry.from_wire(four)
    with pytest.raises(EntryError):
        CalendarEntry.from_wire({**LESSON_SENT, "subject": 5}, checked=False)


def test_an_answered_entry_keeps_what_only_exchange_tells():
    wire = {**LESSON_SENT, "id": "A", "change_key": "k", "recurring": True, "last_modified": "2026-05-01T10:00:00Z"}
    read = CalendarEntry.from_wire(wire, checked=False)
    assert (read.recurring, read.last_modified) == (True, "2026-05-01T10:00:00Z")
    contact = ContactEntry.from_wire({**MAX.to_wire(), "last_modified": "2026-05-01T10:00:00Z"}, checked=False)
    assert contact.last_modified == "2026-05-01T10:00:00Z"


def test_a_page_of_changes_is_what_exchange_changes_answered():
    page = ChangePage(
        (
            Change("create", "A", change_key="a1"),
            Change("delete", "B"),
            Change("unsupported", "C", change_key="c1", item_type="DistributionList"),
        ),
        "state-2",
        False,
    )
    before = {
        "changes": [
            {"type": "create", "id": "A", "change_key": "a1", "item": None},
            {"type": "delete", "id": "B", "change_key": None, "item": None},
            {"type": "unsupported", "id": "C", "change_key": "c1", "item": None, "item_type": "DistributionList"},
        ],
        "sync_state": "state-2",
        "complete": False,
    }
    assert same_bytes(page.to_wire(), before)
    assert ChangePage.from_wire("calendar", before) == page
    with_item = {"type": "update", "id": "A", "change_key": "a2", "item": {**LESSON_SENT, "id": "A"}}
    assert Change.from_wire("calendar", with_item).entry == CalendarEntry(**{**LESSON.__dict__, "id": "A"})


@pytest.mark.parametrize(
    "wire",
    [
        {"changes": [], "sync_state": "s"},  # no `complete`
        {"changes": None, "sync_state": "s", "complete": True},
        {"changes": [{"type": "moved", "id": "A"}], "sync_state": "s", "complete": True},
        {"changes": [{"type": "create", "id": ""}], "sync_state": "s", "complete": True},
        {"changes": [{"type": "create", "id": "A", "change_key": 1}], "sync_state": "s", "complete": True},
        {"changes": [], "sync_state": 7, "complete": True},
    ],
)
def test_a_malformed_page_is_refused(wire):
    with pytest.raises(EntryError):
        ChangePage.from_wire("calendar", wire)


def test_found_by_external_id_with_and_without_all_matches():
    one, two = (CalendarEntry(**{**LESSON.__dict__, "id": i}) for i in ("A", "B"))
    found = Found({"pccaddie:1:abc": (one, two)})
    every = {"pccaddie:1:abc": [one.to_wire(), two.to_wire()]}
    assert same_bytes(found.to_wire(), every) and Found.from_wire("calendar", every) == found
    first = {"pccaddie:1:abc": one.to_wire()}
    assert same_bytes(found.to_wire(all_matches=False), first)
    assert Found.from_wire("calendar", first, all_matches=False) == Found({"pccaddie:1:abc": (one,)})
    assert found.first("pccaddie:1:abc") == one and found.first("pccaddie:1:zzz") is None
    with pytest.raises(EntryError):
        Found.from_wire("calendar", {"pccaddie:1:abc": one.to_wire()})  # all_matches answers lists
    with pytest.raises(EntryError):
        Found.from_wire("calendar", [])


def test_search_contacts_answers_contacts():
    assert contacts_from_wire([MAX.to_wire()]) == [MAX]
    for wire in ({"a": 1}, [5]):
        with pytest.raises(EntryError):
            contacts_from_wire(wire)
