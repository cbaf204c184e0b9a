"""Graph refusing a token the identity platform gave (401 InvalidAuthenticationToken: expired
early, revoked) is no refusal of the app: the gateway must drop the token, get a new one and send
again, not answer `auth_failed` (which makes the sync service stop asking the mailbox for good,
sync_service/store/mailbox_blocks.py). Found by the fault campaign against Graph (campaigns/faults.py
--backend graph: one 401 among its faults, or the identity platform's tokens expiring mid-run,
stalled the mailbox until `sync-service app set`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest

from exchange_gateway.backends import backends
from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.graph.client import GraphClient, GraphRequest
from exchange_gateway.tokens import TokenProvider
from exchange_standin import EmulatorServer
from exchange_standin.identity import AppSpec
from protocol.accounts import AppCredentials, GraphAccount

ANNA = ("anna@club.example", "anna-secret")
APP = AppSpec("club-tenant", "11111111-2222-3333-4444-555555555555", "app-secret")


@pytest.fixture
def server(tmp_path: Path) -> Any:
    standin = EmulatorServer(mailboxes=[ANNA], apps=[APP], tls_dir=tmp_path / "certs").start()
    yield standin
    standin.stop()


@pytest.fixture
async def operations(server: EmulatorServer) -> AsyncIterator[ExchangeOperations]:
    settings = ExchangeSettings(request_timeout=10, ca_bundle=str(server.ca_file))
    configure_exchangelib(settings)
    tokens = TokenProvider(settings)
    async with ExchangeOperations(
        backends(settings, tokens=tokens), ExchangeLimits(deadline=30), tokens
    ).running() as ops:
        yield ops


def feed(server: EmulatorServer) -> dict[str, Any]:
    app = AppCredentials(
        APP.tenant, APP.client_id, APP.secret, f"{server.base_url}/{APP.tenant}", f"{server.base_url}/v1.0"
    )
    return {"account": GraphAccount(ANNA[0], app).to_wire(), "kind": "calendar", "max_changes": 10}


async def test_a_token_graph_no_longer_takes_is_renewed_and_the_request_sent_again(
    server: EmulatorServer, operations: ExchangeOperations
):
    await operations.changes(feed(server))  # a token is cached now
    server.identity.expire_all()  # the identity platform's tokens lapse before the gateway's clock says
    answer = await operations.changes(feed(server))
    assert answer["changes"] == []


async def test_one_401_of_graph_is_no_refusal_of_the_app(server: EmulatorServer, operations: ExchangeOperations):
    await operations.changes(feed(server))
    server.add_fault("unauthorized", count=1)
    answer = await operations.changes(feed(server))
    assert answer["changes"] == []


class Graph401s:
    """Graph over httpx's MockTransport, answering 401 to the requests numbered in `refused`
    (counted from 1) and 200 otherwise; the tokens handed out and forgotten are counted."""

    def __init__(self, refused: set[int]) -> None:
        self.refused, self.requests, self.tokens, self.forgotten = refused, 0, 0, 0
        self.bearers: list[str] = []

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.bearers.append(request.headers["Authorization"])
        if self.requests in self.refused:
            return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken", "message": "expired"}})
        return httpx.Response(200, json={"value": []})

    async def token(self) -> str:
        self.tokens += 1
        return f"token-{self.tokens}"

    def forget(self) -> None:
        self.forgotten += 1

    def client(self, http: httpx.AsyncClient) -> GraphClient:
        return GraphClient(http, "https://graph.example/v1.0", ANNA[0], self.token, self.forget)


@pytest.mark.parametrize(
    "refused, statuses, tokens",
    [
        ({1}, [200, 200], 2),  # the cached token lapsed: renewed once
        ({1, 3}, [200, 200], 3),  # renewed, taken, and lapsed again later in the same call: renewed again
        ({1, 2}, [401, 200], 2),  # the fresh token refused before Graph took it: the app is refused
        ({2, 3}, [200, 401], 2),  # a taken token lapsed, its fresh one refused
    ],
)
async def test_each_renewed_token_gets_one_chance_and_a_taken_one_is_renewed_again(refused, statuses, tokens):
    graph = Graph401s(refused)
    async with httpx.AsyncClient(transport=httpx.MockTransport(graph.answer)) as http:
        client = graph.client(http)
        answers = [await client.send(GraphRequest("GET", "/events", {})) for _ in statuses]
    assert [a.status for a in answers] == statuses
    assert graph.tokens == tokens and graph.forgotten == tokens - 1
    assert graph.requests <= 2 * len(statuses)  # each request sent at most twice
