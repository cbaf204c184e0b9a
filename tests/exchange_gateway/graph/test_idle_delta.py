"""An idle round of a Graph feed answers the state it was given (nothing for the engine to save),
while its token is young; what changed after it is still told, once, as what it is."""

from __future__ import annotations

import pytest

from exchange_gateway.exchange_operations import ExchangeOperations
from exchange_gateway.graph import mailbox as graph_mailbox
from exchange_standin import EmulatorServer

from .test_graph_backend import entry, graph_account, graph_requests, operations, server  # noqa: F401


async def test_an_idle_round_keeps_the_state_and_a_later_change_is_told(
    server: EmulatorServer,  # noqa: F811
    operations: ExchangeOperations,  # noqa: F811
):
    account = graph_account(server)
    await operations.create({"account": account, "kind": "calendar", "items": [entry(1)]})
    args = {"account": account, "kind": "calendar", "max_changes": 10}
    first = await operations.changes(args)
    assert [c["type"] for c in first["changes"]] == ["create"] and first["complete"]
    state = first["sync_state"]
    for _ in range(3):
        before = graph_requests(server)
        idle = await operations.changes({**args, "sync_state": state})
        assert idle == {"changes": [], "sync_state": state, "complete": True}
        assert graph_requests(server) - before == 1
    (made,) = await operations.create({"account": account, "kind": "calendar", "items": [entry(2)]})
    later = await operations.changes({**args, "sync_state": state})
    assert [(c["id"], c["type"]) for c in later["changes"]] == [(made["id"], "create")]
    assert later["sync_state"] != state
    assert (await operations.changes({**args, "sync_state": later["sync_state"]}))["changes"] == []


async def test_an_idle_round_renews_an_old_token(
    server: EmulatorServer,  # noqa: F811
    operations: ExchangeOperations,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
):
    account = graph_account(server)
    args = {"account": account, "kind": "calendar", "max_changes": 10}
    state = (await operations.changes(args))["sync_state"]
    monkeypatch.setattr(graph_mailbox, "KEEP_IDLE_TOKEN", 0)  # every token is old
    idle = await operations.changes({**args, "sync_state": state})
    assert idle["changes"] == [] and idle["complete"] and idle["sync_state"] != state
