"""The Graph backend against the stand-in (TLS, the club's app, Graph over the store EWS serves too):
the number of requests a write costs, a mailbox switched from EWS to Graph, and the failures that
answer in one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from exchange_gateway.backends import backends
from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.tokens import TokenProvider
from exchange_standin import EmulatorServer
from exchange_standin.graph_model import ews_id, graph_id
from exchange_standin.identity import AppSpec
from protocol.accounts import AppCredentials, EwsAccount, GraphAccount, PasswordCredentials
from protocol.entries import CalendarEntry
from sync_service.engine.pipeline import BATCH  # the creates the engine sends in one request

ANNA = ("anna@club.example", "anna-secret")
APP = AppSpec("club-tenant", "11111111-2222-3333-4444-555555555555", "app-secret")


@pytest.fixture
def server(tmp_path: Path) -> Any:
    standin = EmulatorServer(mailboxes=[ANNA], apps=[APP], tls_dir=tmp_path / "certs").start()
    yield standin
    standin.stop()


def app(server: EmulatorServer, secret: str = APP.secret) -> AppCredentials:
    return AppCredentials(
        APP.tenant, APP.client_id, secret, f"{server.base_url}/{APP.tenant}", f"{server.base_url}/v1.0"
    )


def graph_account(server: EmulatorServer, secret: str = APP.secret) -> dict[str, Any]:
    return GraphAccount(ANNA[0], app(server, secret)).to_wire()


@pytest.fixture
async def operations(server: EmulatorServer) -> AsyncIterator[ExchangeOperations]:
    settings = ExchangeSettings(request_timeout=10, ca_bundle=str(server.ca_file))
    configure_exchangelib(settings)
    tokens = TokenProvider(settings)
    async with ExchangeOperations(
        backends(settings, tokens=tokens), ExchangeLimits(deadline=30), tokens
    ).running() as ops:
        yield ops


def entry(n: int) -> dict[str, Any]:
    return CalendarEntry(
        subject=f"Lesson {n}",
        start=f"2026-06-{n % 28 + 1:02d}T07:30:00Z",
        end=f"2026-06-{n % 28 + 1:02d}T08:30:00Z",
        timezone="Europe/Berlin",
        external_id=f"pccaddie:1:{n}",
        written=f"digest-{n}",
    ).to_wire()


def graph_requests(server: EmulatorServer) -> int:
    return server.request_counts.get("Graph", 0)


async def test_100_creates_cost_at_most_5_5_graph_requests(server: EmulatorServer, operations: ExchangeOperations):
    account = graph_account(server)
    before = graph_requests(server)
    results = await operations.create(
        {"account": account, "kind": "calendar", "items": [entry(n) for n in range(BATCH)]}
    )
    sent = graph_requests(server) - before
    assert [r["ok"] for r in results] == [True] * 100
    assert len({r["id"] for r in results}) == 100
    assert sent <= 5.5 * BATCH / 100, f"{sent} Graph requests for {BATCH} items"


async def test_an_item_made_through_ews_is_found_through_graph(server: EmulatorServer, operations: ExchangeOperations):
    ews = EwsAccount(server.url, ANNA[0], PasswordCredentials(ANNA[0], ANNA[1], "basic")).to_wire()
    (made,) = await operations.create({"account": ews, "kind": "calendar", "items": [entry(1)]})
    assert made["ok"], made
    found = await operations.find_external(
        {
            "account": graph_account(server),
            "kind": "calendar",
            "external_ids": ["pccaddie:1:1", "pccaddie:1:2"],
            "all_matches": True,
        }
    )
    (item,) = found["pccaddie:1:1"]
    assert (item["external_id"], item["written"], item["subject"]) == ("pccaddie:1:1", "digest-1", "Lesson 1")
    assert set(found) == {"pccaddie:1:1"}
    feed = await operations.changes({"account": graph_account(server), "kind": "calendar", "max_changes": 10})
    assert [c["id"] for c in feed["changes"]] == [item["id"]]  # one item, seen by both APIs: no duplicate


async def test_a_repeated_create_makes_no_second_event(server: EmulatorServer, operations: ExchangeOperations):
    args = {"account": graph_account(server), "kind": "calendar", "items": [entry(1)]}
    (first,) = await operations.create(args)
    (again,) = await operations.create(args)  # the answer was lost, say: the same create sent again
    assert first["ok"] and again["ok"] and again["id"] == first["id"]


async def test_throttling_is_honoured_for_the_mailbox(server: EmulatorServer, operations: ExchangeOperations):
    args = {"account": graph_account(server), "kind": "calendar", "max_changes": 10}
    server.add_fault("throttled", count=1, retry_after=30)
    with pytest.raises(Exception) as throttled:
        await operations.changes(args)
    assert (throttled.value.code, throttled.value.details["retry_after"]) == ("throttled", 30.0)  # type: ignore[attr-defined]
    before = graph_requests(server)
    with pytest.raises(Exception) as waiting:
        await operations.changes(args)
    assert waiting.value.code == "throttled"  # type: ignore[attr-defined]
    assert graph_requests(server) == before  # the gateway waits for Exchange: no request sent


async def test_a_mailbox_the_app_may_not_reach(server: EmulatorServer, operations: ExchangeOperations):
    server.identity.scope(APP.tenant, APP.client_id, ["someone.else@club.example"])
    with pytest.raises(Exception) as refused:
        await operations.check({"account": graph_account(server)})
    assert refused.value.code == "auth_failed"  # type: ignore[attr-defined]
    assert "may not reach the mailbox anna@club.example" in refused.value.message  # type: ignore[attr-defined]


async def test_a_wrong_secret(server: EmulatorServer, operations: ExchangeOperations):
    with pytest.raises(Exception) as refused:
        await operations.check({"account": graph_account(server, "wrong-secret")})
    assert refused.value.code == "auth_failed"  # type: ignore[attr-defined]
    assert "wrong-secret" not in str(refused.value.message)  # type: ignore[attr-defined]


async def test_an_idle_sub_calendar_costs_one_request(server: EmulatorServer, operations: ExchangeOperations):
    account = graph_account(server)
    made = await operations.ensure_folder({"account": account, "kind": "calendar", "name": "Lessons"})
    args = {"account": account, "kind": "calendar", "folder": "lessons", "max_changes": 10}
    state = (await operations.changes(args))["sync_state"]
    before = graph_requests(server)
    idle = await operations.changes({**args, "sync_state": state})
    assert idle["changes"] == [] and idle["complete"] is True
    assert graph_requests(server) - before == 1
    with server.store.lock:  # a user deletes the sub-calendar
        mailbox = server.store.mailbox(ANNA[0])
        assert mailbox is not None
        mailbox.remove_folder(next(f for f in mailbox.folders.values() if f.display_name == "Lessons"))
    with pytest.raises(Exception) as gone:
        await operations.changes({**args, "sync_state": idle["sync_state"]})
    assert gone.value.code in ("not_found", "sync_state_invalid")  # type: ignore[attr-defined]
    with pytest.raises(Exception) as gone:
        await operations.changes(args)
    assert gone.value.code == "not_found"  # type: ignore[attr-defined]
    again = await operations.ensure_folder({"account": account, "kind": "calendar", "name": "Lessons"})
    assert again["created"] is True and again["id"] != made["id"]


async def test_a_sub_calendar_deleted_in_outlook_is_filled_anew(server: EmulatorServer, operations: ExchangeOperations):
    account = graph_account(server)
    await operations.ensure_folder({"account": account, "kind": "calendar", "name": "Lessons"})
    args = {"account": account, "kind": "calendar", "folder": "Lessons", "items": [entry(1)]}
    (first,) = await operations.create(args)

    with server.store.lock:  # Outlook moves the folder, events and all, to Deleted Items
        mailbox = server.store.mailbox(ANNA[0])
        assert mailbox is not None
        lessons = next(f for f in mailbox.folders.values() if f.display_name == "Lessons")
        mailbox.move_folder(lessons, mailbox.distinguished["deleteditems"])
    await operations.ensure_folder({"account": account, "kind": "calendar", "name": "Lessons"})
    (again,) = await operations.create(args)  # the same create, into the calendar made again
    assert again["ok"] and again["id"] != first["id"]
    feed = await operations.changes({"account": account, "kind": "calendar", "folder": "Lessons", "max_changes": 10})
    assert [c["id"] for c in feed["changes"]] == [again["id"]]


async def test_an_expired_delta_token_is_read_afresh_telling_each_item_once(
    server: EmulatorServer, operations: ExchangeOperations
):
    account = graph_account(server)
    made = await operations.create({"account": account, "kind": "calendar", "items": [entry(1), entry(2)]})
    args = {"account": account, "kind": "calendar", "max_changes": 10}
    state = (await operations.changes(args))["sync_state"]
    server.graph.deltas.forget_all()  # Graph forgot the token (it keeps them for a while only)
    with pytest.raises(Exception) as expired:
        await operations.changes({**args, "sync_state": state})
    assert expired.value.code == "sync_state_invalid"  # type: ignore[attr-defined]
    afresh = await operations.changes(args)
    assert sorted(c["id"] for c in afresh["changes"]) == sorted(m["id"] for m in made)
    assert {c["type"] for c in afresh["changes"]} == {"create"} and afresh["complete"] is True


async def test_a_burst_of_1000_creates_leaves_a_bounded_state_and_loses_no_change(
    server: EmulatorServer, operations: ExchangeOperations
):
    """delta_state.MAX_RECENT: the feed's state after a burst stays small (before: every id made
    within a second of the round), each create is told once as a create, and an edit made in
    Outlook right after arrives as an update."""
    account = graph_account(server)
    args = {"account": account, "kind": "calendar", "max_changes": 512}
    state = (await operations.changes(args))["sync_state"]
    made = []
    for start in range(0, 1000, BATCH):
        made += await operations.create(
            {"account": account, "kind": "calendar", "items": [entry(n) for n in range(start, start + BATCH)]}
        )
    told: dict[str, list[str]] = {}
    sizes = []
    for _ in range(10):
        feed = await operations.changes({**args, "sync_state": state})
        state = feed["sync_state"]
        sizes.append(len(state))
        for change in feed["changes"]:
            told.setdefault(change["id"], []).append(change["type"])
        if feed["complete"]:
            break
    assert told == {m["id"]: ["create"] for m in made}
    assert max(sizes) < 10_000, sizes

    ews = EwsAccount(server.url, ANNA[0], PasswordCredentials(ANNA[0], ANNA[1], "basic")).to_wire()  # "Outlook"
    edited = made[-1]
    changed = {**entry(999), "subject": "Lesson 999 (moved)"}
    # Outlook knows the item by its EWS id (Graph's REST id with '-' and '_' where EWS has '/' and '+')
    wire = {"id": ews_id(edited["id"]), "change_key": edited["change_key"], "fields": ["subject"], "item": changed}
    (update,) = await operations.update({"account": ews, "kind": "calendar", "items": [wire]})
    assert update["ok"], update
    feed = await operations.changes({**args, "sync_state": state})
    assert [(c["id"], c["type"]) for c in feed["changes"]] == [(edited["id"], "update")]
    assert feed["changes"][0]["change_key"] == update["change_key"]
    assert len(feed["sync_state"]) < 10_000


async def test_contact_folders_by_name_as_ews_has_them(server: EmulatorServer, operations: ExchangeOperations):
    """A contact folder is a child of the Contacts folder by its name (any case), on both backends:
    Graph lists those at /contactFolders/{contacts}/childFolders (its /contactFolders holds the
    top-level folders only), and makes one there; a folder deeper down of the same name is not it."""
    graph = graph_account(server)
    ews = EwsAccount(server.url, ANNA[0], PasswordCredentials(ANNA[0], ANNA[1], "basic")).to_wire()
    made_by_ews = await operations.ensure_folder({"account": ews, "kind": "contacts", "name": "Members"})
    assert made_by_ews["created"] is True
    found = await operations.ensure_folder({"account": graph, "kind": "contacts", "name": "members"})
    assert (found["created"], found["id"]) == (False, graph_id(made_by_ews["id"]))  # Graph's form of the id

    made_by_graph = await operations.ensure_folder({"account": graph, "kind": "contacts", "name": "Staff"})
    assert made_by_graph["created"] is True
    for account in (ews, graph):
        listed = await operations.folders({"account": account, "kind": "contacts"})
        assert sorted(f["name"] for f in listed if not f["main"]) == ["Members", "Staff"]
        assert {graph_id(str(f["id"])) for f in listed if not f["main"]} == {
            graph_id(made_by_ews["id"]),
            made_by_graph["id"],
        }
    again = await operations.ensure_folder({"account": ews, "kind": "contacts", "name": "STAFF"})
    assert (again["created"], graph_id(again["id"])) == (False, made_by_graph["id"])

    # Outlook puts a folder "Juniors" inside "Members": it is not the contact folder "Juniors"
    with server.store.lock:
        mailbox = server.store.mailbox(ANNA[0])
        assert mailbox is not None
        members = next(f for f in mailbox.folders.values() if f.display_name == "Members")
        mailbox.new_folder(members, "Juniors", "IPF.Contact")
    for account in (ews, graph):
        with pytest.raises(Exception) as missing:
            await operations.changes({"account": account, "kind": "contacts", "folder": "Juniors", "max_changes": 10})
        assert missing.value.code == "not_found"  # type: ignore[attr-defined]
    # a contact in a sub-folder made through Graph is seen there through EWS, and in no main folder's feed
    mains = [
        (await operations.changes({"account": account, "kind": "contacts", "max_changes": 10}))["sync_state"]
        for account in (ews, graph)
    ]
    (contact,) = await operations.create(
        {"account": graph, "kind": "contacts", "folder": "Staff", "items": [{"given_name": "Tim", "surname": "Pro"}]}
    )
    assert contact["ok"], contact
    feed = await operations.changes({"account": ews, "kind": "contacts", "folder": "Staff", "max_changes": 10})
    assert [graph_id(c["id"]) for c in feed["changes"]] == [contact["id"]]
    for account, state in zip((ews, graph), mains):
        main = await operations.changes(
            {"account": account, "kind": "contacts", "sync_state": state, "max_changes": 10}
        )
        assert main["changes"] == []
