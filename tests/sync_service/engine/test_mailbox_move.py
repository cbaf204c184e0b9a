"""A user's mailbox reached another way (EWS → Microsoft Graph, another endpoint or address):
the other API names every item differently, and the sync finds its items again by our external id
instead of taking them for users' copies or making them again (issue 16: switching makes no
duplicate). The new API is a second FakeExchange holding the same items under other ids."""

from __future__ import annotations

import itertools

from sync_service.admin.accounts import set_account, set_app_account
from sync_service.admin.app import set_app
from sync_service.store.mailbox_move import moved
from tests.sync_service.engine.fake_exchange import FakeExchange

GRAPH_ONLY = ("id", "change_key", "last_modified")


def _as_graph_names_them(exchange: FakeExchange) -> FakeExchange:
    """The same mailbox through another API: every item, our extended properties included, under
    an id of the other API's own."""
    other = FakeExchange(_ids=itertools.count(9001), kind=exchange.kind)
    for item in exchange.items.values():
        other._add({k: v for k, v in item.items() if k not in GRAPH_ONLY})
    return other


def test_an_account_moves_when_its_items_are_named_another_way():
    ews = {"backend": "ews", "endpoint": "https://mail.example.com/EWS/Exchange.asmx", "mailbox": "anna@club.example"}
    assert not moved(None, ews)  # a first account
    assert not moved(ews, {**ews, "credential_kind": "app"})  # the same EWS, with the app's token
    assert not moved(ews, {**ews, "mailbox": "Anna@Club.example"})
    assert moved(ews, {"backend": "graph", "endpoint": None, "mailbox": "anna@club.example"})
    assert moved(ews, {**ews, "endpoint": "https://new.example.com/EWS/Exchange.asmx"})
    assert moved(ews, {**ews, "mailbox": "pro@club.example"})


async def test_switching_a_calendar_from_ews_to_graph_makes_no_duplicate(club):
    club.add("Lesson: Anna")
    club.add("Medal", offset=4)
    await club.sync()
    assert len(club.exchange.items) == 2

    def switch() -> None:
        set_app("contoso.example", "client-1", "s3cret", club.vault)
        set_app_account("anna", "anna@club.example", club.vault)

    club.write(switch)
    club.exchange = _as_graph_names_them(club.exchange)
    club.add("Made after the switch", offset=5)
    outcome = await club.sync()
    await club.sync()

    assert sorted(club.titles()) == ["Lesson: Anna", "Made after the switch", "Medal"]
    assert sorted(club.remote_titles()) == ["Lesson: Anna", "Made after the switch", "Medal"]
    assert outcome.counts.get("created-to-pccaddie", 0) == 0
    assert {link.exchange_id for link in club.links()} == set(club.exchange.items)


async def test_a_new_password_is_not_a_move(club):
    club.add("Lesson: Anna")
    await club.sync()
    (before,) = club.links()
    club.write(
        lambda: set_account(
            "anna", "https://mail.example.com/EWS/Exchange.asmx", "anna@club.example", None, "new", club.vault
        )
    )
    (after,) = club.links()
    assert (after.exchange_id, after.change_key, after.pending_create) == (before.exchange_id, before.change_key, False)


async def test_switching_contacts_from_ews_to_graph_makes_no_duplicate(tmp_path):
    from tests.sync_service.engine.test_contact_sync import Contactsclub, add_listed

    contacts = Contactsclub(tmp_path)
    add_listed(contacts)
    await contacts.sync()
    assert len(contacts.exchange.items) == 1

    def switch() -> None:
        set_app("contoso.example", "client-1", "s3cret", contacts.vault)
        set_app_account("anna", "anna@club.example", contacts.vault)

    contacts.write(switch)
    contacts.exchange = _as_graph_names_them(contacts.exchange)
    await contacts.sync()
    await contacts.sync()
    assert len(contacts.exchange.items) == 1 and contacts.listed() == [contacts.links()[0].person_id]
    assert [link.exchange_id for link in contacts.links()] == list(contacts.exchange.items)
