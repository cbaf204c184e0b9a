"""GatewayExchangeClient at the edge: the entries go out in their wire form, the replies come back
read into them, and a reply the schema refuses is the mailbox's trouble, never a crash. (That it
speaks with the real gateway as the fake does is tests/contract's.)"""

from __future__ import annotations

from typing import Any

import pytest

from protocol.entries import (
    CalendarEntry,
    Change,
    ContactEntry,
    CreateRequest,
    Fetched,
    ItemError,
    ItemRef,
    ItemResult,
    UpdateRequest,
)
from sync_service.engine.exchange_client import GatewayExchangeClient, MailboxTrouble

ACCOUNT = {"backend": "ews", "mailbox": "anna@club.example"}
LESSON = CalendarEntry(subject="Lesson", start="2026-06-01T07:30:00Z", end="2026-06-01T08:30:00Z", external_id="x1")


class Peer:
    """The gateway's end of the connection: each request recorded, each answered as given."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, dict[str, Any]]] = []

    async def request(self, op: str, args: dict[str, Any], timeout: float) -> Any:
        self.requests.append((op, args))
        return self.replies.pop(0)


def client(peer: Peer, kind: str = "calendar") -> GatewayExchangeClient:
    return GatewayExchangeClient(peer, ACCOUNT, kind)  # type: ignore[arg-type]


async def test_writes_go_in_their_wire_form_and_results_come_back_read():
    ok = {"ok": True, "id": "A", "change_key": "k1"}
    failed = {"ok": False, "id": "B", "error": {"code": "conflict", "message": "changed"}}
    peer = Peer([ok], [ok, failed], [{"ok": True, "id": "A", "change_key": None}])
    gateway = client(peer)
    assert await gateway.create("", [LESSON]) == [ItemResult(True, "A", "k1")]
    update = UpdateRequest(ItemRef("A", "k1"), ("subject",), LESSON)
    results = await gateway.update([update, UpdateRequest(ItemRef("B"), ("subject",), LESSON)])
    assert results == [ItemResult(True, "A", "k1"), ItemResult(False, "B", error=ItemError("conflict", "changed"))]
    assert await gateway.delete([ItemRef("A")]) == [ItemResult(True, "A")]
    (create_op, create), (update_op, updated), (delete_op, deleted) = peer.requests
    assert (create_op, update_op, delete_op) == ("exchange.create", "exchange.update", "exchange.delete")
    assert create["items"][0] == {
        "subject": "Lesson",
        "start": "2026-06-01T07:30:00Z",
        "end": "2026-06-01T08:30:00Z",
        "all_day": False,
        "body": "",
        "location": "",
        "timezone": "UTC",
        "private": False,
        "reminder_minutes": None,
        "categories": [],
        "external_id": "x1",
        "written": None,
    }
    assert create["account"] == ACCOUNT and create["kind"] == "calendar" and create["folder"] == ""
    assert updated["items"][0] == {"id": "A", "change_key": "k1", "fields": ["subject"], "item": create["items"][0]}
    assert deleted["items"] == [{"id": "A", "change_key": None}]


async def test_a_contact_create_sends_only_the_fields_it_sets():
    peer = Peer([{"ok": True, "id": "C", "change_key": "k"}])
    made = CreateRequest(ContactEntry(given_name="Max", surname="Muster", external_id="e1"), ("external_id", "surname"))
    await client(peer, "contacts").create("", [made])
    assert peer.requests[0][1]["items"] == [{"external_id": "e1", "surname": "Muster"}]
    assert peer.requests[0][1]["kind"] == "contacts"


async def test_reads_come_back_as_entries_of_the_clients_kind():
    item = {"id": "C", "change_key": "k", "given_name": "Max", "emails": ["max@example.com"]}
    peer = Peer(
        {
            "changes": [{"type": "create", "id": "C", "change_key": "k", "item": None}],
            "sync_state": "s",
            "complete": True,
        },
        [{"ok": True, "item": item}, {"ok": False, "id": "D", "error": {"code": "not_found", "message": "gone"}}],
        {"e1": [item]},
        [item],
    )
    gateway = client(peer, "contacts")
    page = await gateway.changes("", None, 512)
    assert page.changes == (Change("create", "C", change_key="k"),) and page.sync_state == "s" and page.complete
    fetched = await gateway.get(["C", "D"])
    expected = ContactEntry(given_name="Max", emails=("max@example.com",), id="C", change_key="k")
    assert fetched == [Fetched("C", expected), Fetched("D", error=ItemError("not_found", "gone"))]
    assert (await gateway.find_external("", ["e1"], all_matches=True)).items == {"e1": (expected,)}
    assert await gateway.search_contacts("max") == [expected]
    assert peer.requests[0][1]["with_items"] is False and peer.requests[2][1]["all_matches"] is True


@pytest.mark.parametrize(
    "op, reply",
    [
        ("changes", {"changes": [], "sync_state": "s"}),
        ("changes", {"changes": [{"type": "create"}], "sync_state": "s", "complete": True}),
        ("get", [{"ok": True, "item": {"subject": 5}}]),
        ("get", {"ok": True}),
        ("create", [{"id": "A"}]),
        ("create", None),
        ("find_external", {"e1": {"subject": "not a list"}}),
        ("search_contacts", [{"emails": "max@example.com"}]),
    ],
)
async def test_a_malformed_reply_is_mailbox_trouble_invalid(op, reply):
    gateway = client(Peer(reply))
    calls = {
        "changes": lambda: gateway.changes("", None, 512),
        "get": lambda: gateway.get(["A"]),
        "create": lambda: gateway.create("", [LESSON]),
        "find_external": lambda: gateway.find_external("", ["e1"], all_matches=True),
        "search_contacts": lambda: gateway.search_contacts("max"),
    }
    with pytest.raises(MailboxTrouble) as trouble:
        await calls[op]()
    assert trouble.value.code == "invalid" and f"exchange.{op}" in trouble.value.message


async def test_occurrences_are_asked_per_series_and_read_per_master():
    training = CalendarEntry(
        id="O1",
        change_key="k1",
        subject="Junior training",
        start="2026-06-02T16:00:00Z",
        end="2026-06-02T17:30:00Z",
        recurring=True,
        series_type="occurrence",
        series_id="M1",
        original_start="2026-06-02T16:00:00Z",
    )
    gone = {"error": {"code": "not_found", "message": "the series is gone"}}
    peer = Peer({"M1": {"items": [training.to_wire()]}, "M2": gone})
    answer = await client(peer).occurrences("", ["M1", "M2"], "2026-05-01T00:00:00Z", "2027-07-01T00:00:00Z")
    assert answer.by_series == {"M1": (training,), "M2": ItemError("not_found", "the series is gone")}
    [(op, args)] = peer.requests
    assert op == "exchange.occurrences"
    assert {k: args[k] for k in ("kind", "folder", "series", "start", "end")} == {
        "kind": "calendar",
        "folder": "",
        "series": ["M1", "M2"],
        "start": "2026-05-01T00:00:00Z",
        "end": "2027-07-01T00:00:00Z",
    }


async def test_occurrences_holding_another_series_item_are_the_mailboxs_trouble():
    single = LESSON.to_wire() | {"id": "S1", "change_key": "k"}
    with pytest.raises(MailboxTrouble) as trouble:
        await client(Peer({"M1": {"items": [single]}})).occurrences("", ["M1"], "a", "b")
    assert trouble.value.code == "invalid"
