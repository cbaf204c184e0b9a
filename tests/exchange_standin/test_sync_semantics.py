"""SyncFolderItems as Exchange reports changes: one per item since the state, every client's
writes alike (the syncing client's own included), a new ChangeKey for every write."""

from __future__ import annotations

import datetime as dt

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone

from .conftest import ANNA, make_account

BERLIN = EWSTimeZone("Europe/Berlin")


@pytest.fixture
def syncing(emulator):
    """The client that syncs (the gateway, say)."""
    return make_account(emulator, *ANNA, default_timezone=BERLIN)


@pytest.fixture
def outlook(emulator):
    """Another client of the same mailbox."""
    return make_account(emulator, *ANNA, default_timezone=BERLIN)


def create(account, subject: str, folder=None) -> CalendarItem:
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


def changes_since(folder, state):
    """[(kind, id, change key, subject)] since `state`, and the new state."""
    changes = [
        (kind, item.id, item.changekey, getattr(item, "subject", None))
        for kind, item in folder.sync_items(sync_state=state, only_fields=["subject"])
    ]
    return changes, folder.item_sync_state


def start_state(account, folder=None):
    """The state after syncing everything there is in the calendar (or `folder`)."""
    folder = folder or account.calendar
    list(folder.sync_items(only_fields=["subject"]))
    return folder.item_sync_state


@pytest.mark.parametrize("writer", ["syncing", "outlook"])
def test_created_then_deleted_between_two_syncs_is_nothing(request, syncing, writer):
    state = start_state(syncing)
    client = request.getfixturevalue(writer)
    create(client, "hard deleted").delete()
    create(client, "moved to the bin").move_to_trash()
    soft = create(client, "soft deleted")
    soft.soft_delete()
    changes, _ = changes_since(syncing.calendar, state)
    assert changes == []


@pytest.mark.parametrize("writer", ["syncing", "outlook"])
def test_created_then_updated_is_one_create_with_the_latest_change_key(request, syncing, writer):
    state = start_state(syncing)
    item = create(request.getfixturevalue(writer), "first")
    first_key = item.changekey
    item.subject = "second"
    item.save(update_fields=["subject"])
    item.categories = ["Golf"]
    item.save(update_fields=["categories"])
    changes, _ = changes_since(syncing.calendar, state)
    assert changes == [("create", item.id, item.changekey, "second")]
    assert item.changekey != first_key


def test_every_write_gives_a_new_change_key(syncing, outlook):
    item = create(outlook, "keys")
    keys = [item.changekey]
    item.subject = "keys, renamed"
    item.save(update_fields=["subject"])
    keys.append(item.changekey)
    item.categories = ["Golf"]
    item.save(update_fields=["categories"])
    keys.append(item.changekey)
    item.categories = ["Golf", "Lesson"]
    item.save(update_fields=["categories"])
    keys.append(item.changekey)
    bin_state = start_state(syncing, syncing.trash)
    item.move_to_trash()
    [(kind, _trashed_id, trashed_key, subject)], _ = changes_since(syncing.trash, bin_state)
    assert (kind, subject) == ("create", "keys, renamed")
    keys.append(trashed_key)
    assert len(set(keys)) == len(keys) == 5


@pytest.mark.parametrize("removal", ["delete", "move_to_trash", "soft_delete"])
@pytest.mark.parametrize("writer", ["syncing", "outlook"])
def test_removing_a_known_item_is_a_delete(request, syncing, writer, removal):
    item = create(request.getfixturevalue(writer), "known")
    known_id = item.id
    state = start_state(syncing)
    item.subject = "changed before it went"
    item.save(update_fields=["subject"])
    getattr(item, removal)()
    changes, state = changes_since(syncing.calendar, state)
    assert [(kind, item_id) for kind, item_id, _key, _subject in changes] == [("delete", known_id)]
    assert changes_since(syncing.calendar, state)[0] == []


def test_own_writes_are_reported_like_anyone_elses(syncing, outlook):
    own = create(syncing, "by the syncing client")
    theirs = create(outlook, "in Outlook")
    state = start_state(syncing)
    own.subject = "by the syncing client, changed"
    own.save(update_fields=["subject"])
    theirs.subject = "in Outlook, changed"
    theirs.save(update_fields=["subject"])
    mine_new = create(syncing, "new by the syncing client")
    changes, _ = changes_since(syncing.calendar, state)
    assert sorted(changes) == sorted(
        [
            ("update", own.id, own.changekey, "by the syncing client, changed"),
            ("update", theirs.id, theirs.changekey, "in Outlook, changed"),
            ("create", mine_new.id, mine_new.changekey, "new by the syncing client"),
        ]
    )


def test_an_update_reports_the_latest_change_key_once(syncing, outlook):
    item = create(outlook, "v1")
    state = start_state(syncing)
    for subject in ("v2", "v3", "v4"):
        item.subject = subject
        item.save(update_fields=["subject"])
    changes, _ = changes_since(syncing.calendar, state)
    assert changes == [("update", item.id, item.changekey, "v4")]
