"""SyncFolderItems round trips: opaque states, collapsed changes, paging past 512, Ignore."""

from __future__ import annotations

import datetime as dt

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.errors import ErrorInvalidSyncStateData
from exchangelib.folders import Calendar

from .conftest import NS, envelope, parse, post, response_codes

BERLIN = EWSTimeZone("Europe/Berlin")


def make(account, subject: str, folder=None) -> CalendarItem:
    start = EWSDateTime(2026, 6, 1, 9, tzinfo=BERLIN)
    item = CalendarItem(
        account=account,
        folder=folder or account.calendar,
        subject=subject,
        start=start,
        end=start + dt.timedelta(hours=1),
    )
    item.save()
    return item


def sync(folder, state=None, **options):
    changes = list(folder.sync_items(sync_state=state, **options))
    return [
        (kind, getattr(item, "subject", None) if kind != "delete" else item.id) for kind, item in changes
    ], folder.item_sync_state


def test_first_sync_lists_every_item_as_created(account):
    make(account, "A")
    make(account, "B")
    changes, state = sync(account.calendar)
    assert sorted(changes) == [("create", "A"), ("create", "B")]
    assert state and state.startswith("H4sI")
    changes, state2 = sync(account.calendar, state)
    assert changes == []


def test_changes_since_a_state_are_collapsed_per_item(account):
    kept = make(account, "kept")
    changed = make(account, "changed")
    removed = make(account, "removed")
    _, state = sync(account.calendar)

    changed.subject = "changed once"
    changed.save()
    changed.subject = "changed twice"
    changed.save()
    removed_id = removed.id
    removed.delete()
    fresh = make(account, "new then changed")
    fresh.subject = "new, changed"
    fresh.save()
    gone = make(account, "new then deleted")
    gone.delete()

    changes, _ = sync(account.calendar, state)
    assert sorted(changes, key=str) == sorted(
        [("update", "changed twice"), ("delete", removed_id), ("create", "new, changed")], key=str
    )
    assert kept.subject == "kept"


def test_an_old_state_can_be_used_again(account):
    make(account, "A")
    _, state = sync(account.calendar)
    make(account, "B")
    first, _ = sync(account.calendar, state)
    again, _ = sync(account.calendar, state)
    assert first == again == [("create", "B")]


def test_paging_past_512_changes(emulator, account):
    items = [
        CalendarItem(
            folder=account.calendar,
            subject=f"S{i:04}",
            start=EWSDateTime(2026, 6, 1, tzinfo=BERLIN),
            end=EWSDateTime(2026, 6, 1, 1, tzinfo=BERLIN),
        )
        for i in range(1100)
    ]
    account.bulk_create(folder=account.calendar, items=items)
    before = emulator.request_counts.get("SyncFolderItems", 0)
    changes = list(account.calendar.sync_items(max_changes_returned=512, only_fields=["subject"]))
    assert emulator.request_counts["SyncFolderItems"] - before == 3  # 512 + 512 + 76
    assert sorted(item.subject for _, item in changes) == [f"S{i:04}" for i in range(1100)]
    assert {kind for kind, _ in changes} == {"create"}
    state = account.calendar.item_sync_state
    assert list(account.calendar.sync_items(sync_state=state)) == []


def test_includes_last_item_in_range_and_max_changes(emulator, account):
    for i in range(3):
        make(account, f"S{i}")
    operation = (
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
        '<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>{state}'
        "<m:MaxChangesReturned>{count}</m:MaxChangesReturned></m:SyncFolderItems>"
    )
    root = parse(post(emulator, envelope(operation.format(state="", count=2))))
    assert root.findtext(".//m:IncludesLastItemInRange", namespaces=NS) == "false"
    assert len(root.findall(".//t:Create", NS)) == 2
    state = root.findtext(".//m:SyncState", namespaces=NS)
    root = parse(post(emulator, envelope(operation.format(state=f"<m:SyncState>{state}</m:SyncState>", count=2))))
    assert root.findtext(".//m:IncludesLastItemInRange", namespaces=NS) == "true"
    assert len(root.findall(".//t:Create", NS)) == 1
    for count in (0, 513):
        response = post(emulator, envelope(operation.format(state="", count=count)))
        assert response.status_code == 500
        assert response_codes(response) == ["ErrorSchemaValidation"]


def test_ignored_items_are_not_reported(account):
    make(account, "A")
    _, state = sync(account.calendar)
    mine = make(account, "written by the gateway")
    theirs = make(account, "written in Outlook")
    changes = list(account.calendar.sync_items(sync_state=state, ignore=[mine]))
    assert [(kind, item.subject) for kind, item in changes] == [("create", "written in Outlook")]
    assert theirs.id in {item.id for _, item in changes}
    assert list(account.calendar.sync_items(sync_state=account.calendar.item_sync_state)) == []


def test_a_state_of_another_folder_or_garbage_is_invalid(account):
    other = Calendar(parent=account.calendar, name="Other")
    other.save()
    make(account, "A")
    _, state = sync(account.calendar)
    with pytest.raises(ErrorInvalidSyncStateData):
        list(other.sync_items(sync_state=state))
    with pytest.raises(ErrorInvalidSyncStateData):
        list(account.calendar.sync_items(sync_state="H4sIAAAAAAAEAO29B2AcSZY="))


def test_moving_an_item_out_is_a_delete_there_and_a_create_here(account):
    other = Calendar(parent=account.calendar, name="Other")
    other.save()
    item = make(account, "travels")
    _, state = sync(account.calendar)
    _, other_state = sync(other)
    item.move(other)
    assert [kind for kind, _ in sync(account.calendar, state)[0]] == ["delete"]
    assert sync(other, other_state)[0] == [("create", "travels")]


def test_sync_folder_hierarchy(account):
    changes = list(account.root.sync_hierarchy())
    names = {folder.name for kind, folder in changes if kind == "create"}
    assert {"Calendar", "Contacts", "Top of Information Store"} <= names
    state = account.root.folder_sync_state
    Calendar(parent=account.calendar, name="New one").save()
    changes = list(account.root.sync_hierarchy(sync_state=state))
    assert ("create", "New one") in [(kind, folder.name) for kind, folder in changes]
