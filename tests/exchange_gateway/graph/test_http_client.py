"""The Graph backend's httpx client is closed, its connections with it, when the gateway's trio run
ends (issue 16): no socket is left open for the garbage collector to find."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path
from typing import Any

import pytest
import trio

from exchange_gateway.backends import backends
from exchange_gateway.ews.connection import ExchangeSettings
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.graph.backend import GraphBackend
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


def account(server: EmulatorServer) -> dict[str, Any]:
    app = AppCredentials(
        APP.tenant, APP.client_id, APP.secret, f"{server.base_url}/{APP.tenant}", f"{server.base_url}/v1.0"
    )
    return GraphAccount(ANNA[0], app).to_wire()


def unclosed_sockets(run: Any) -> tuple[Any, list[str]]:
    """What `run()` gave, and the ResourceWarnings of sockets the garbage collector found open after."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        result = run()
        gc.collect()
    return result, [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_the_client_is_closed_when_the_gateways_run_ends(server: EmulatorServer):
    settings = ExchangeSettings(request_timeout=10, ca_bundle=str(server.ca_file))

    def run() -> Any:
        tokens = TokenProvider(settings)
        graph = backends(settings, tokens=tokens)
        operations = ExchangeOperations(graph, ExchangeLimits(deadline=30), tokens)

        async def serve() -> Any:
            answer = await operations.check({"account": account(server)})
            backend = graph["graph"]
            assert isinstance(backend, GraphBackend)
            return answer, backend.http()

        return trio.run(serve)

    (answer, client), unclosed = unclosed_sockets(run)
    assert answer["mailbox"] == ANNA[0]
    assert client.is_closed
    assert unclosed == []


def test_aclose_closes_it_at_once_and_a_later_call_makes_a_new_one(server: EmulatorServer):
    backend = GraphBackend(ExchangeSettings(request_timeout=10, ca_bundle=str(server.ca_file)))

    async def main() -> None:
        first = backend.http()
        assert (await first.get(f"{server.base_url}/{APP.tenant}/v2.0/.well-known/openid-configuration")).is_success
        await backend.aclose()
        assert first.is_closed
        second = backend.http()
        assert second is not first and not second.is_closed
        assert backend.http() is second

    _, unclosed = unclosed_sockets(lambda: trio.run(main))
    assert unclosed == []


def test_each_run_has_its_own_client(server: EmulatorServer):
    backend = GraphBackend(ExchangeSettings(request_timeout=10, ca_bundle=str(server.ca_file)))

    async def main() -> Any:
        return backend.http()

    first, second = trio.run(main), trio.run(main)
    assert first is not second and first.is_closed and second.is_closed
