"""The ExchangeClient contract: what the sync engine may rely on, whichever implementation it talks to.

Each test runs against the in-memory fake and against the gateway on the stand-in EWS server
(conftest.py). A difference between them is a bug in one of the two: the fake must behave as
Exchange (through the gateway) does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, AsyncIterator, Sequence

import pytest

from protocol.entries import (
    CalendarEntry,
    Change,
    ContactEntry,
    Entry,
    ItemError,
    ItemRef,
    ItemResult,
    Occurrences,
    UpdateRequest,
)
from sync_service.engine.exchange_client import ExchangeClient, GatewayExchangeClient, MailboxTrouble
from tests.contract.mailboxes import IMPLEMENTATIONS, Mailbox, open_mailbox
from tests.sync_service.engine.fake_exchange import FakeExchange

MAIN = ""  # the main calendar (contacts folder)
ENTRY_KEYS = {
    "id",
    "change_key",
    "subject",
    "start",
    "end",
    "all_day",
    "body",
    "body_html",
    "location",
    "timezone",
    "private",
    "reminder_minutes",
    "categories",
    "external_id",
    "written",
    "recurring",
    "last_modified",
}
CONTACT_KEYS = {
    "id",
    "change_key",
    "given_name",
    "surname",
    "display_name",
    "street",
    "postal_code",
    "city",
    "country",
    "phone_home",
    "phone_business",
    "phone_mobile",
    "emails",
    "external_id",
    "last_modified",
}
FORMATTED = (
    "<html><head><style>p{color:red}</style></head><body><p>Bring &amp; share</p><p>Line 2<br>Line 3</p></body></html>"
)


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    """An entry's values as its dataclass holds them (lists as tuples)."""
    return {name: tuple(value) if isinstance(value, list) else value for name, value in values.items()}


def entry(n: int = 1, **overrides: Any) -> CalendarEntry:
    """A calendar entry as the engine writes it: every field given."""
    return CalendarEntry(
        **_typed(
            {
                "subject": f"Lesson {n}",
                "start": f"2026-06-{n:02d}T07:30:00Z",
                "end": f"2026-06-{n:02d}T08:30:00Z",
                "all_day": False,
                "body": f"Bring clubs ({n})",
                "location": "Driving range",
                "timezone": "Europe/Berlin",
                "private": False,
                "reminder_minutes": 15,
                "categories": ["Lessons"],
                "external_id": f"pccaddie:1:{n}",
                "written": f"digest-{n}",
                **overrides,
            }
        )
    )


def user_entry(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """What a person types into Outlook: no external id."""
    return {
        "subject": f"Dentist {n}",
        "start": f"2026-07-{n:02d}T13:00:00Z",
        "end": f"2026-07-{n:02d}T14:00:00Z",
        "timezone": "Europe/Berlin",
        **overrides,
    }


def contact(n: int = 1, **overrides: Any) -> ContactEntry:
    return ContactEntry(
        **_typed(
            {
                "given_name": "Max",
                "surname": f"Muster{n}",
                "display_name": "",
                "street": "Am Golfplatz 1",
                "postal_code": "50667",
                "city": "Köln",
                "country": "Deutschland",
                "phone_home": "",
                "phone_business": "",
                "phone_mobile": "+49 170 1234567",
                "emails": [f"max{n}@example.com"],
                "external_id": f"pccaddie-person:{n}",
                **overrides,
            }
        )
    )


async def wire_answer(mailbox: Mailbox, op: str, **args: Any) -> Any:
    """What the implementation answers on the wire, before the client reads it into entries (the
    fake builds its answers on the wire too)."""
    client = mailbox.client
    if isinstance(client, GatewayExchangeClient):
        return await client._ask(f"exchange.{op}", **args)
    assert isinstance(client, FakeExchange)
    return getattr(client, f"_{op}")(**args)


async def wire_item(mailbox: Mailbox, item_id: str) -> dict[str, Any]:
    """An item as `get` answers it on the wire: every field of its entry is there."""
    (answer,) = await wire_answer(mailbox, "get", ids=[item_id])
    assert answer["ok"], answer
    return dict(answer["item"])


def known_gateway_bug(mailbox: Mailbox, request: pytest.FixtureRequest, reason: str) -> None:
    """The gateway does not keep this part of the contract yet (reported): expected to fail there,
    and to be noticed (strict) once it is fixed."""
    if mailbox.implementation == "gateway":
        request.applymarker(pytest.mark.xfail(reason=f"gateway bug: {reason}", strict=True))


def graph_cannot(mailbox: Mailbox, request: pytest.FixtureRequest, reason: str) -> None:
    """Microsoft Graph cannot keep this part of the contract (a limit of its API, reported): expected
    to fail on the Graph backend, and to be noticed (strict) should it ever pass."""
    if mailbox.backend == "graph":
        request.applymarker(pytest.mark.xfail(reason=f"Microsoft Graph: {reason}", strict=True))


def change_of(item: ItemRef | Entry, type_: str) -> Change:
    assert item.id is not None
    return Change(type_, item.id, change_key=item.change_key)


def ref_of(item: ItemRef | Entry) -> ItemRef:
    assert item.id is not None
    return ItemRef(item.id, item.change_key)


async def create(client: ExchangeClient, *entries: Entry, folder: str = MAIN) -> list[ItemRef]:
    """Create through the client; each result checked, as a reference (id, change key)."""
    results = await client.create(folder, list(entries))
    assert [r.ok for r in results] == [True] * len(entries), results
    assert all(r.id and r.change_key for r in results), results
    return [ItemRef(r.id, r.change_key) for r in results if r.id]


def updating(ref: ItemRef | Entry, fields: Sequence[str], item: Entry) -> UpdateRequest:
    return UpdateRequest(ref_of(ref), tuple(fields), item)


async def update(client: ExchangeClient, ref: ItemRef | Entry, fields: Sequence[str], item: Entry) -> ItemRef:
    (result,) = await client.update([updating(ref, fields, item)])
    assert result.ok and result.id == ref.id, result
    assert result.id is not None
    return ItemRef(result.id, result.change_key)


async def delete(client: ExchangeClient, *item_ids: str) -> list[ItemResult]:
    return await client.delete([ItemRef(item_id) for item_id in item_ids])


async def get_one(client: ExchangeClient, item_id: str) -> Entry:
    (answer,) = await client.get([item_id])
    assert answer.entry is not None, answer
    return answer.entry


async def current(client: ExchangeClient, item_id: str) -> ItemRef:
    """The reference (id, change key) of an item as it is now."""
    return ref_of(await get_one(client, item_id))


async def state_now(client: ExchangeClient, folder: str = MAIN) -> str:
    """A sync state that knows everything there is."""
    _, state = await read_all(client, None, folder)
    return state


async def read_all(
    client: ExchangeClient, state: str | None, folder: str = MAIN, max_changes: int = 512
) -> tuple[list[Change], str]:
    """Every change since `state`, page by page, and the state after them."""
    changes: list[Change] = []
    for _ in range(100):
        page = await client.changes(folder, state, max_changes)
        changes += page.changes
        assert isinstance(page.sync_state, str) and page.sync_state
        state = page.sync_state
        if page.complete:
            return changes, state
    raise AssertionError("the feed never completed")


def by_id(changes: Sequence[Change]) -> dict[str, Change]:
    ids = [c.id for c in changes]
    assert len(ids) == len(set(ids)), f"one change per item: {changes}"
    return {c.id: c for c in changes}


# -- change keys ------------------------------------------------------------------------------------


async def test_the_mark_of_what_was_written_survives_an_outlook_edit(mailbox: Mailbox):
    client = mailbox.client
    (made,) = await create(client, entry())
    assert (await get_one(client, made.id)).written == "digest-1"
    await update(client, made, ["subject", "written"], entry(subject="Lesson (moved)", written="digest-2"))
    await mailbox.outlook.update(made.id, location="Putting green", subject="Lesson (Outlook)")
    item = await get_one(client, made.id)
    assert (item.written, item.subject) == ("digest-2", "Lesson (Outlook)")
    await update(client, item, ["location"], entry(written="digest-3"))
    assert (await get_one(client, made.id)).written == "digest-2"  # written only when named
    theirs = await mailbox.outlook.create(**user_entry())
    assert (await get_one(client, theirs)).written is None


async def test_every_write_gets_a_new_change_key(mailbox: Mailbox):
    client = mailbox.client
    (made,) = await create(client, entry())
    keys = [made.change_key]
    changed = await update(client, made, ["subject"], entry(subject="Lesson (moved)"))
    keys.append(changed.change_key)
    await mailbox.outlook.update(made.id, location="Putting green")
    by_user = await current(client, made.id)
    keys.append(by_user.change_key)
    categorised = await update(client, by_user, ["categories"], entry(categories=["Lessons", "Juniors"]))
    keys.append(categorised.change_key)
    assert len(set(keys)) == len(keys), keys
    assert (await current(client, made.id)).change_key == keys[-1]


# -- the change feed --------------------------------------------------------------------------------


async def test_a_new_calendar_has_nothing_to_report(mailbox: Mailbox):
    page = await mailbox.client.changes(MAIN, None, 10)
    assert page.changes == () and page.complete is True and page.sync_state


async def test_the_feed_reports_the_syncs_own_writes_with_the_change_keys_they_returned(mailbox: Mailbox):
    client = mailbox.client
    state = await state_now(client)
    first, second = await create(client, entry(1), entry(2))
    changes, state = await read_all(client, state)
    assert by_id(changes) == {first.id: change_of(first, "create"), second.id: change_of(second, "create")}

    changed = await update(client, first, ["subject"], entry(1, subject="Lesson (moved)"))
    changes, state = await read_all(client, state)
    assert changes == [change_of(changed, "update")]

    (deleted,) = await delete(client, second.id)
    assert deleted.ok and deleted.id == second.id
    changes, state = await read_all(client, state)
    assert [(c.kind, c.id, c.entry) for c in changes] == [("delete", second.id, None)]
    assert (await read_all(client, state))[0] == []


async def test_the_feed_reports_the_users_writes_with_their_current_change_keys(mailbox: Mailbox):
    client, outlook = mailbox.client, mailbox.outlook
    state = await state_now(client)
    made = await outlook.create(**user_entry())
    changes, state = await read_all(client, state)
    assert changes == [change_of(await current(client, made), "create")]

    await outlook.update(made, subject="Dentist (moved)")
    changes, state = await read_all(client, state)
    assert changes == [change_of(await current(client, made), "update")]

    await outlook.delete(made)
    changes, state = await read_all(client, state)
    assert [(c.kind, c.id, c.entry) for c in changes] == [("delete", made, None)]


async def test_the_feed_carries_ids_and_change_keys_the_items_come_through_get(mailbox: Mailbox):
    client = mailbox.client
    ours = (await create(client, entry()))[0].id
    theirs = await mailbox.outlook.create(**user_entry())
    changes, _ = await read_all(client, None)
    assert {c.id for c in changes} == {ours, theirs}
    for change in changes:
        assert change.entry is None and set(change.to_wire()) == {"type", "id", "change_key", "item"}, change
    answers = await client.get([c.id for c in changes])
    assert [a.ok for a in answers] == [True, True]
    for change, answer in zip(changes, answers):
        assert (answer.entry.id, answer.entry.change_key) == (change.id, change.change_key)
    assert {a.entry.subject for a in answers} == {"Lesson 1", "Dentist 1"}


async def test_made_and_deleted_between_two_reads_is_not_reported_at_all(mailbox: Mailbox):
    client = mailbox.client
    state = await state_now(client)
    (ours,) = await create(client, entry())
    await delete(client, ours.id)
    theirs = await mailbox.outlook.create(**user_entry())
    await mailbox.outlook.delete(theirs)
    assert (await read_all(client, state))[0] == []


async def test_made_and_changed_between_two_reads_is_one_create_with_the_latest_change_key(mailbox: Mailbox):
    client = mailbox.client
    state = await state_now(client)
    (ours,) = await create(client, entry())
    ours = await update(client, ours, ["subject"], entry(subject="Lesson (moved)"))
    theirs = await mailbox.outlook.create(**user_entry())
    await mailbox.outlook.update(theirs, subject="Dentist (moved)")
    changes, _ = await read_all(client, state)
    assert by_id(changes) == {
        ours.id: change_of(ours, "create"),
        theirs: change_of(await current(client, theirs), "create"),
    }


async def test_changed_several_times_between_two_reads_is_one_update(mailbox: Mailbox):
    client = mailbox.client
    (made,) = await create(client, entry())
    state = await state_now(client)
    made = await update(client, made, ["subject"], entry(subject="Lesson (moved)"))
    await mailbox.outlook.update(made.id, location="Putting green")
    made = await current(client, made.id)
    made = await update(client, made, ["categories"], entry(categories=["Juniors"]))
    changes, _ = await read_all(client, state)
    assert changes == [change_of(made, "update")]


async def test_deleting_an_item_known_at_the_last_read_is_a_delete(mailbox: Mailbox):
    client = mailbox.client
    (ours,) = await create(client, entry())
    theirs = await mailbox.outlook.create(**user_entry())
    state = await state_now(client)
    await mailbox.outlook.delete(ours.id)
    (deleted,) = await delete(client, theirs)
    assert deleted.to_wire() == {"ok": True, "id": theirs, "change_key": None}
    changes, _ = await read_all(client, state)
    assert {c.id: (c.kind, c.entry) for c in changes} == {
        ours.id: ("delete", None),
        theirs: ("delete", None),
    }


async def test_changed_then_deleted_between_two_reads_is_a_delete(mailbox: Mailbox):
    client = mailbox.client
    (made,) = await create(client, entry())
    state = await state_now(client)
    await update(client, made, ["subject"], entry(subject="Lesson (moved)"))
    await mailbox.outlook.delete(made.id)
    changes, _ = await read_all(client, state)
    assert [(c.kind, c.id) for c in changes] == [("delete", made.id)]


async def test_reading_again_from_the_same_state_tells_the_same(mailbox: Mailbox):
    client = mailbox.client
    state = await state_now(client)
    await create(client, entry(1), entry(2))
    first, _ = await read_all(client, state)
    again, _ = await read_all(client, state)
    assert by_id(again) == by_id(first) and len(first) == 2


async def test_paging_with_max_changes(mailbox: Mailbox):
    client = mailbox.client
    made = await create(client, *(entry(n) for n in range(1, 6)))
    pages, state = [], None
    for _ in range(10):
        page = await client.changes(MAIN, state, 2)
        pages.append(page)
        assert page.sync_state != state
        state = page.sync_state
        if page.complete:
            break
    assert [len(p.changes) for p in pages] == [2, 2, 1]
    assert [p.complete for p in pages] == [False, False, True]
    changes = [c for p in pages for c in p.changes]
    assert by_id(changes) == {m.id: change_of(m, "create") for m in made}
    after = await client.changes(MAIN, state, 2)
    assert after.changes == () and after.complete is True

    whole = await client.changes(MAIN, None, 5)  # exactly max_changes: one complete page
    assert len(whole.changes) == 5 and whole.complete is True


async def test_paging_tells_each_item_once_as_it_is_now(mailbox: Mailbox):
    client = mailbox.client
    first, second = await create(client, entry(1), entry(2))
    first = await update(client, first, ["subject"], entry(1, subject="Lesson (moved)"))
    third, gone = await create(client, entry(3), entry(4))
    await delete(client, gone.id)  # never told: never to be told
    changes, _ = await read_all(client, None, max_changes=1)
    assert by_id(changes) == {m.id: change_of(m, "create") for m in (first, second, third)}


async def test_every_page_but_the_last_tells_something(mailbox: Mailbox):
    client = mailbox.client
    made = await create(client, *(entry(n) for n in range(1, 5)))
    await delete(client, *(m.id for m in made[:2]))
    page = await client.changes(MAIN, None, 1)
    assert page.changes == (change_of(made[2], "create"),) and page.complete is False


async def test_changes_made_between_pages_are_not_lost(mailbox: Mailbox):
    client = mailbox.client
    first, second, third = await create(client, entry(1), entry(2), entry(3))
    page = await client.changes(MAIN, None, 2)
    assert not page.complete
    told = by_id(page.changes)
    (early,) = [m for m in (first, second, third) if m.id in told][:1]
    moved = await update(client, early, ["subject"], entry(9, subject="Moved"))
    late = await mailbox.outlook.create(**user_entry())
    rest, _ = await read_all(client, page.sync_state, max_changes=2)
    assert by_id(rest) == {
        **{m.id: change_of(m, "create") for m in (first, second, third) if m.id not in told},
        moved.id: change_of(moved, "update"),
        late: change_of(await current(client, late), "create"),
    }


async def test_a_sync_state_that_is_not_the_mailboxs_is_mailbox_trouble(mailbox: Mailbox):
    with pytest.raises(MailboxTrouble) as trouble:
        await mailbox.client.changes(MAIN, "not a sync state", 10)
    assert trouble.value.code == "sync_state_invalid"  # ErrorInvalidSyncStateData: read afresh from no state


@pytest.mark.parametrize("max_changes", [0, 513])
async def test_max_changes_is_one_to_512(mailbox: Mailbox, max_changes: int):
    with pytest.raises(MailboxTrouble) as trouble:
        await mailbox.client.changes(MAIN, None, max_changes)
    assert trouble.value.code == "invalid"


# -- writes, per item -------------------------------------------------------------------------------


async def test_an_update_with_a_stale_change_key_is_a_conflict_and_the_others_succeed(mailbox: Mailbox):
    client = mailbox.client
    first, second, third = await create(client, entry(1), entry(2), entry(3))
    await mailbox.outlook.update(second.id, subject="Changed in Outlook")
    results = await client.update(
        [updating(m, ["location"], entry(n, location="Hut")) for n, m in enumerate((first, second, third), start=1)]
    )
    assert [r.ok for r in results] == [True, False, True], results
    assert results[1].error.code == "conflict" and results[1].error.message
    assert (results[0].id, results[2].id) == (first.id, third.id)
    assert (await get_one(client, second.id)).location == "Driving range"  # not written
    assert (await get_one(client, third.id)).location == "Hut"


async def test_an_update_or_delete_of_a_missing_item(mailbox: Mailbox):
    client = mailbox.client
    kept, gone = await create(client, entry(1), entry(2))
    await mailbox.outlook.delete(gone.id)
    results = await client.update(
        [updating(gone, ["subject"], entry(2)), updating(kept, ["subject"], entry(1, subject="New"))]
    )
    assert [r.ok for r in results] == [False, True]
    assert results[0].error.code == "not_found"
    assert (await get_one(client, kept.id)).subject == "New"
    # deleting what is already gone is done (the gateway answers so), the others are deleted too
    results = await delete(client, gone.id, kept.id)
    assert [r.to_wire() for r in results] == [
        {"ok": True, "id": gone.id, "change_key": None},
        {"ok": True, "id": kept.id, "change_key": None},
    ]


async def test_a_failed_update_answer_names_its_item(mailbox: Mailbox, request: pytest.FixtureRequest):
    client = mailbox.client
    kept, gone = await create(client, entry(1), entry(2))
    await mailbox.outlook.update(kept.id, subject="Changed in Outlook")
    await mailbox.outlook.delete(gone.id)
    results = await client.update([updating(ref, ["subject"], entry()) for ref in (kept, gone)])
    assert [(r.ok, r.id, r.error.code) for r in results] == [
        (False, kept.id, "conflict"),
        (False, gone.id, "not_found"),
    ]


async def test_get_answers_in_order_and_a_missing_id_is_not_found(mailbox: Mailbox):
    client = mailbox.client
    first, gone, last = await create(client, entry(1), entry(2), entry(3))
    await delete(client, gone.id)
    answers = await client.get([last.id, gone.id, first.id])
    assert [a.ok for a in answers] == [True, False, True]
    assert (answers[0].entry.id, answers[2].entry.id) == (last.id, first.id)
    assert answers[1].id == gone.id and answers[1].error.code == "not_found"


@pytest.mark.parametrize(
    "fields",
    [[], ["no_such_field"], ["id"], ["recurring"], ["last_modified"]],
    ids=["none", "unknown", "id", "recurring", "last_modified"],
)
async def test_an_update_must_name_entry_fields_to_write(
    mailbox: Mailbox, request: pytest.FixtureRequest, fields: list[str]
):
    (made,) = await create(mailbox.client, entry())
    with pytest.raises(MailboxTrouble) as trouble:
        await mailbox.client.update([updating(made, fields, entry())])
    assert trouble.value.code == "invalid"


# -- looking up by external id ----------------------------------------------------------------------


async def test_find_external_finds_by_our_external_id_and_nothing_else(mailbox: Mailbox):
    client = mailbox.client
    first, second = await create(client, entry(1), entry(2))
    await mailbox.outlook.create(**user_entry(1, subject="pccaddie:1:1"))  # the id as text is not ours
    await mailbox.outlook.create_message("pccaddie:1:1")
    found = await client.find_external(MAIN, ["pccaddie:1:1", "pccaddie:1:404"])
    assert set(found.items) == {"pccaddie:1:1"}
    assert found.items["pccaddie:1:1"] == (await get_one(client, first.id),)
    assert (await client.find_external(MAIN, [])).items == {}


# -- items of other kinds ---------------------------------------------------------------------------


async def test_a_message_in_the_calendar_is_unsupported(mailbox: Mailbox, request: pytest.FixtureRequest):
    graph_cannot(mailbox, request, "calendarView's delta holds events only: a message in the calendar is never told")
    client = mailbox.client
    state = await state_now(client)
    message = await mailbox.outlook.create_message("Meeting request: greens committee")
    changes, _ = await read_all(client, state)
    assert [(c.kind, c.id, c.item_type, c.entry) for c in changes] == [("unsupported", message, "Message", None)]
    assert changes[0].change_key
    (answer,) = await client.get([message])
    assert answer.ok is False and answer.id == message and answer.error.code == "unsupported"
    state = await state_now(client)
    await mailbox.outlook.delete(message)
    changes, _ = await read_all(client, state)
    assert [(c.kind, c.id) for c in changes] == [("delete", message)]


async def test_a_contact_group_is_unsupported(contacts: Mailbox, request: pytest.FixtureRequest):
    graph_cannot(contacts, request, "v1.0 has no contact groups: the contacts' delta never tells one")
    client = contacts.client
    state = await state_now(client)
    group = await contacts.outlook.create_group("Board members")
    changes, _ = await read_all(client, state)
    assert [(c.kind, c.id, c.item_type, c.entry) for c in changes] == [("unsupported", group, "DistributionList", None)]
    (answer,) = await client.get([group])
    assert answer.ok is False and answer.id == group and answer.error.code == "unsupported"
    assert (await client.find_external(MAIN, ["Board members"])).items == {}


async def test_a_contact_round_trips(contacts: Mailbox):
    client = contacts.client
    state = await state_now(client)
    (made,) = await create(client, contact())
    item = await get_one(client, made.id)
    assert set(await wire_item(contacts, made.id)) == CONTACT_KEYS
    assert item.to_wire() == {
        **contact().to_wire(),
        "display_name": "Max Muster1",
        "id": made.id,
        "change_key": made.change_key,
        "last_modified": item.last_modified,
    }
    assert isinstance(item.last_modified, str)
    changes, _ = await read_all(client, state)
    assert changes == [change_of(made, "create")]
    found = await client.find_external(MAIN, ["pccaddie-person:1"])
    assert found.items["pccaddie-person:1"] == (item,)


# -- a user's copy ----------------------------------------------------------------------------------


async def test_a_copy_made_in_outlook_carries_the_originals_external_id(mailbox: Mailbox):
    client = mailbox.client
    (original,) = await create(client, entry())
    state = await state_now(client)
    copy = await mailbox.outlook.copy(original.id)
    assert copy != original.id
    changes, _ = await read_all(client, state)
    assert changes == [change_of(await current(client, copy), "create")]
    copied = await get_one(client, copy)
    assert copied.external_id == "pccaddie:1:1" and copied.subject == "Lesson 1"
    found = await client.find_external(MAIN, ["pccaddie:1:1"])
    assert found.first("pccaddie:1:1").id in {original.id, copy}


# -- content ----------------------------------------------------------------------------------------


async def test_an_entry_round_trips_field_by_field(mailbox: Mailbox):
    client = mailbox.client
    written = entry(3, body="Line 1\nLine 2", private=True, reminder_minutes=None, categories=["Lessons", "Juniors"])
    (made,) = await create(client, written)
    item = await get_one(client, made.id)
    assert set(await wire_item(mailbox, made.id)) == ENTRY_KEYS
    assert item.to_wire() == {
        **written.to_wire(),
        "id": made.id,
        "change_key": made.change_key,
        "body_html": False,
        "recurring": False,
        "last_modified": item.last_modified,
    }
    assert isinstance(item.last_modified, str) and item.last_modified.endswith("Z")


async def test_an_all_day_entry_round_trips(mailbox: Mailbox):
    written = entry(4, all_day=True, start="2026-12-24", end="2026-12-26")
    (made,) = await create(mailbox.client, written)
    item = await get_one(mailbox.client, made.id)
    assert (item.all_day, item.start, item.end) == (True, "2026-12-24", "2026-12-26")


async def test_categories_round_trip_both_ways(mailbox: Mailbox):
    client = mailbox.client
    (made,) = await create(client, entry(categories=["Lessons", "Juniors"]))
    assert (await get_one(client, made.id)).categories == ("Lessons", "Juniors")
    await mailbox.outlook.update(made.id, categories=["Lessons", "Red category"])
    assert (await get_one(client, made.id)).categories == ("Lessons", "Red category")
    await update(client, await current(client, made.id), ["categories"], entry(categories=[]))
    assert (await get_one(client, made.id)).categories == ()
    theirs = await mailbox.outlook.create(**user_entry(categories=["Tee times"]))
    assert (await get_one(client, theirs)).categories == ("Tee times",)


async def test_a_formatted_body_written_in_outlook_reads_as_its_text(mailbox: Mailbox):
    client = mailbox.client
    made = await mailbox.outlook.create(**user_entry(html_body=FORMATTED))
    item = await get_one(client, made)
    assert (item.body, item.body_html) == ("Bring & share\nLine 2\nLine 3", True)

    await update(client, item, ["subject"], dataclasses.replace(item, subject="Dentist (moved)"))
    item = await get_one(client, made)
    assert (item.body, item.body_html) == ("Bring & share\nLine 2\nLine 3", True)  # left as it was

    await update(client, item, ["body"], dataclasses.replace(item, body="Plain now"))
    item = await get_one(client, made)
    assert (item.body, item.body_html) == ("Plain now", False)  # the sync writes text

    await mailbox.outlook.update(made, body="Typed as text")
    assert (await get_one(client, made)).body == "Typed as text"


async def test_a_users_item_has_the_full_entry(mailbox: Mailbox):
    made = await mailbox.outlook.create(**user_entry(location="Clubhouse", body="Bring cake"))
    item = await get_one(mailbox.client, made)
    assert set(await wire_item(mailbox, made)) == ENTRY_KEYS
    assert (item.subject, item.location, item.body, item.external_id) == (
        "Dentist 1",
        "Clubhouse",
        "Bring cake",
        None,
    )
    assert (item.start, item.end, item.timezone) == (
        "2026-07-01T13:00:00Z",
        "2026-07-01T14:00:00Z",
        "Europe/Berlin",
    )


# -- folders ----------------------------------------------------------------------------------------


async def test_ensure_folder_then_changes_on_it(mailbox: Mailbox):
    client = mailbox.client
    assert await client.ensure_folder("Pro shop") is True  # made now
    assert await client.ensure_folder("Pro shop") is False  # there already: nothing happens
    page = await client.changes("Pro shop", None, 10)
    assert page.changes == () and page.complete is True
    (made,) = await create(client, entry(), folder="Pro shop")
    changes, _ = await read_all(client, page.sync_state, "Pro shop")
    assert changes == [change_of(made, "create")]
    found = await client.find_external("Pro shop", ["pccaddie:1:1"])
    assert found.first("pccaddie:1:1").id == made.id


async def test_a_contact_folder_by_name_then_changes_on_it(contacts: Mailbox):
    """A contact folder is a sub-folder of the contacts folder by its name (on Graph: a childFolder
    of Contacts, not one of the top-level folders /contactFolders lists)."""
    client = contacts.client
    assert await client.ensure_folder("Members") is True
    assert await client.ensure_folder("Members") is False
    page = await client.changes("Members", None, 10)
    assert page.changes == () and page.complete is True
    (made,) = await create(client, contact(1), folder="Members")
    changes, _ = await read_all(client, page.sync_state, "Members")
    assert changes == [change_of(made, "create")]
    found = await client.find_external("Members", [contact(1).external_id])
    assert found.first(contact(1).external_id).id == made.id


async def test_a_missing_folder_is_mailbox_trouble_not_found(mailbox: Mailbox):
    client = mailbox.client
    calls = [
        lambda: client.changes("No such calendar", None, 10),
        lambda: client.create("No such calendar", [entry()]),
        lambda: client.find_external("No such calendar", ["pccaddie:1:1"]),
    ]
    for call in calls:
        with pytest.raises(MailboxTrouble) as trouble:
            await call()
        assert trouble.value.code == "not_found"


# -- text over Exchange's limits; looking contacts up -------------------------------------------------


async def test_a_create_or_update_names_the_fields_it_shortened(contacts: Mailbox):
    client = contacts.client
    long_street = "Lange Straße " * 30  # over Exchange's 255
    fitting, overlong = await client.create(MAIN, [contact(1), contact(2, street=long_street)])
    assert fitting.ok is True and fitting.shortened == ()
    assert "shortened" not in fitting.to_wire()  # on the wire only when there are some
    assert overlong.ok is True and overlong.shortened == ("street",)
    stored = await get_one(client, overlong.id)
    assert stored.street != long_street.strip() and len(stored.street) <= 255
    unsure = ItemRef(fitting.id)  # no change key: written whatever the item's version
    (named,) = await client.update([updating(unsure, ["street"], contact(1, street=long_street))])
    assert named.ok is True and named.shortened == ("street",)
    (unnamed,) = await client.update([updating(unsure, ["city"], contact(1, street=long_street, city="Bonn"))])
    assert unnamed.ok is True and unnamed.shortened == ()  # the street was not written


async def test_search_contacts_by_email_or_name(contacts: Mailbox):
    client = contacts.client
    (max_,) = await create(client, contact(1, emails=["Familie@Muster.de"]))
    erika = await contacts.outlook.create(
        given_name="Erika", surname="Muster", display_name="Erika Muster", emails=["familie@muster.de"]
    )
    await contacts.outlook.create(
        given_name="Peter", surname="Schmidt", display_name="Peter Schmidt", emails=["peter@example.com"]
    )
    by_mail = await client.search_contacts("FAMILIE@muster.de")
    assert sorted(c.id for c in by_mail) == sorted([max_.id, erika])
    assert {c.external_id for c in by_mail} == {"pccaddie-person:1", None}  # our id, as stored
    assert [c.id for c in await client.search_contacts("erika muster")] == [erika]
    assert [c.surname for c in await client.search_contacts("schmidt peter")] == ["Schmidt"]
    assert await client.search_contacts("muster.de") == []  # an e-mail address matches whole
    assert set((await wire_answer(contacts, "search_contacts", text="FAMILIE@muster.de"))[0]) == CONTACT_KEYS
    with pytest.raises(MailboxTrouble) as trouble:
        await client.search_contacts("  ")
    assert trouble.value.code == "invalid"


# -- recurring series (issue 17) ----------------------------------------------------------------------
# A weekly training on Mondays 18:00-19:30 UTC, four times from 5 January 2026.

FIRST, WEEK = dt.datetime(2026, 1, 5, 18, 0, tzinfo=dt.timezone.utc), dt.timedelta(days=7)
LENGTH = dt.timedelta(minutes=90)


def _utc(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def nth_start(index: int) -> str:
    """The original start of occurrence `index` (1-based)."""
    return _utc(FIRST + (index - 1) * WEEK)


@pytest.fixture(params=IMPLEMENTATIONS)
async def series_mailbox(request: pytest.FixtureRequest) -> AsyncIterator[Mailbox]:
    """A calendar, for the series' tests."""
    async with open_mailbox(request.param, "calendar") as opened:
        yield opened


async def training(mailbox: Mailbox, count: int = 4) -> str:
    """The series made in Outlook: its master's id."""
    return await mailbox.outlook.create_series(
        count, subject="Junior training", start=nth_start(1), end=_utc(FIRST + LENGTH), location="Range"
    )


async def occurrences(mailbox: Mailbox, series: Sequence[str], start: str, end: str) -> Occurrences:
    """`exchange.occurrences` through the client."""
    return await mailbox.client.occurrences(MAIN, list(series), start, end)


async def of_series(
    mailbox: Mailbox, master: str, start: str = "2026-01-01T00:00:00Z", end: str = "2026-02-01T00:00:00Z"
) -> tuple[CalendarEntry, ...]:
    found = (await occurrences(mailbox, [master], start, end)).by_series[master]
    assert not isinstance(found, ItemError), found
    assert all(isinstance(e, CalendarEntry) for e in found)
    return found


def series_changes(mailbox: Mailbox, changes: Sequence[Change], *masters: str) -> list[tuple[str, str]]:
    """The feed's changes of the series `masters`, checked to be all there is, but on Graph: its
    calendarView delta names a deleted occurrence by the occurrence's own id only, and the gateway
    passes that on as a delete besides the master's change (an id the engine never held)."""
    told = [(c.kind, c.id) for c in changes if c.id in masters]
    others = [c for c in changes if c.id not in masters]
    if mailbox.backend == "graph":
        assert all(c.kind == "delete" for c in others), others
    else:
        assert not others, others
    return told


async def test_the_feed_reports_a_series_as_its_master(series_mailbox: Mailbox):
    master = await training(series_mailbox)
    changes, _ = await read_all(series_mailbox.client, None)
    assert [(c.kind, c.id) for c in changes] == [("create", master)]
    entry = await get_one(series_mailbox.client, master)
    assert isinstance(entry, CalendarEntry)
    assert (entry.series_type, entry.series_id, entry.original_start, entry.recurring) == ("master", None, None, True)
    assert (entry.subject, entry.start) == ("Junior training", nth_start(1))


async def test_occurrences_in_a_window_its_boundaries_included_and_excluded(series_mailbox: Mailbox):
    """One that ends exactly at the window's start is in it; one that starts exactly at its end is not."""
    master = await training(series_mailbox)
    found = await of_series(series_mailbox, master, _utc(FIRST + WEEK + LENGTH), nth_start(4))
    assert [(e.series_type, e.series_id, e.original_start, e.start) for e in found] == [
        ("occurrence", master, nth_start(n), nth_start(n)) for n in (2, 3)
    ]
    assert all(e.id and e.id != master and e.change_key and e.recurring for e in found)
    assert [e.occurrence_key for e in found] == [(master, nth_start(2)), (master, nth_start(3))]
    fetched = await get_one(series_mailbox.client, found[0].id or "")
    assert isinstance(fetched, CalendarEntry)
    assert (fetched.series_type, fetched.series_id, fetched.original_start, fetched.subject) == (
        "occurrence",
        master,
        nth_start(2),
        "Junior training",
    )


async def test_an_exception_and_a_deleted_occurrence_made_in_outlook_are_seen(series_mailbox: Mailbox):
    master = await training(series_mailbox)
    state = await state_now(series_mailbox.client)
    await series_mailbox.outlook.update_occurrence(master, 2, subject="Indoor hall")
    await series_mailbox.outlook.delete_occurrence(master, 3)
    changes, state = await read_all(series_mailbox.client, state)
    assert series_changes(series_mailbox, changes, master) == [("update", master)]
    found = await of_series(series_mailbox, master)
    assert [(e.series_type, e.original_start, e.subject) for e in found] == [
        ("occurrence", nth_start(1), "Junior training"),
        ("exception", nth_start(2), "Indoor hall"),
        ("occurrence", nth_start(4), "Junior training"),
    ]
    await series_mailbox.outlook.delete_occurrence(master, 4)  # a deletion alone is a change of the series too
    changes, _ = await read_all(series_mailbox.client, state)
    assert series_changes(series_mailbox, changes, master) == [("update", master)]


async def test_an_occurrence_updated_and_deleted_through_the_client(series_mailbox: Mailbox):
    client = series_mailbox.client
    master = await training(series_mailbox)
    first, second, third, _ = await of_series(series_mailbox, master)
    moved = dataclasses.replace(
        second, subject="Moved", start=_utc(FIRST + WEEK + dt.timedelta(hours=1)), end=_utc(FIRST + WEEK + 2 * LENGTH)
    )
    ref = await update(client, second, ["subject", "start", "end"], moved)
    assert ref.change_key != second.change_key
    (result,) = await delete(client, third.id or "")
    assert result.ok, result
    found = await of_series(series_mailbox, master)
    assert [(e.series_type, e.original_start, e.subject, e.start) for e in found] == [
        ("occurrence", nth_start(1), "Junior training", nth_start(1)),
        ("exception", nth_start(2), "Moved", moved.start),
        ("occurrence", nth_start(4), "Junior training", nth_start(4)),
    ]
    assert found[0].id == first.id
    kept = await get_one(client, master)  # the series stays a series
    assert isinstance(kept, CalendarEntry) and kept.series_type == "master" and kept.subject == "Junior training"


async def test_a_series_deleted_in_outlook_is_a_delete_and_its_occurrences_not_found(series_mailbox: Mailbox):
    master = await training(series_mailbox)
    other = await training(series_mailbox, count=2)
    state = await state_now(series_mailbox.client)
    await series_mailbox.outlook.delete(master)
    changes, _ = await read_all(series_mailbox.client, state)
    assert series_changes(series_mailbox, changes, master, other) == [("delete", master)]
    found = await occurrences(series_mailbox, [master, other], "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    gone = found.by_series[master]
    assert isinstance(gone, ItemError) and gone.code == "not_found"
    assert [e.original_start for e in found.by_series[other]] == [nth_start(1), nth_start(2)]  # type: ignore[union-attr]


async def test_occurrences_of_at_most_100_series_per_request(series_mailbox: Mailbox):
    with pytest.raises(MailboxTrouble) as refused:
        await occurrences(
            series_mailbox, [f"id{n}" for n in range(101)], "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"
        )
    assert refused.value.code == "invalid"
