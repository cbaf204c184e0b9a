"""The Graph backend's httpx client has a structured lifetime (issue 16): made as the backends'
`running()` scope begins (the gateway's run serves inside it: cli.py), closed, its connections with
it, as the scope ends, however it ends; no socket is left open for the garbage collector to find, and
no request uses a closed client."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path
from typing import Any

import pytest
import trio

from exchange_gateway.backends import backends
from exchange_gateway.errors import UNREACHABLE, GatewayError
from exchange_gateway.ews.connection import ExchangeSettings
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.graph.backend import GraphBackend
from exchange_gateway.threads import Threads
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


def settings_of(server: EmulatorServer) -> ExchangeSettings:
    return ExchangeSettings(request_timeout=10, ca_bundle=str(server.ca_file))


def graph_requests(server: EmulatorServer) -> int:
    return sum(n for operation, n in server.request_counts.items() if "graph" in operation.lower())


def test_the_client_is_closed_when_the_backends_lifetime_ends(server: EmulatorServer):
    settings = settings_of(server)

    def run() -> Any:
        tokens = TokenProvider(settings)
        graph = backends(settings, tokens=tokens)
        operations = ExchangeOperations(graph, ExchangeLimits(deadline=30), tokens)
        backend = graph["graph"]
        assert isinstance(backend, GraphBackend)

        async def serve() -> Any:
            async with operations.running():
                answer = await operations.check({"account": account(server)})
                client = backend.http()
                assert not client.is_closed
            assert client.is_closed  # at the scope's end, not the trio run's
            return answer, client

        return trio.run(serve)

    (answer, client), unclosed = unclosed_sockets(run)
    assert answer["mailbox"] == ANNA[0]
    assert client.is_closed
    assert unclosed == []


def test_no_request_goes_out_before_or_after_the_lifetime(server: EmulatorServer):
    settings = settings_of(server)

    async def main() -> None:
        tokens = TokenProvider(settings)
        operations = ExchangeOperations(backends(settings, tokens=tokens), ExchangeLimits(deadline=30), tokens)
        with pytest.raises(GatewayError, match="not running") as before:
            await operations.check({"account": account(server)})
        assert before.value.code == UNREACHABLE
        async with operations.running():
            assert (await operations.check({"account": account(server)}))["mailbox"] == ANNA[0]
        sent = graph_requests(server)
        assert sent > 0
        with pytest.raises(GatewayError, match="not running") as after:
            await operations.check({"account": account(server)})
        assert after.value.code == UNREACHABLE
        assert graph_requests(server) == sent

    trio.run(main)


def test_a_call_that_outlives_the_client_sends_nothing(server: EmulatorServer):
    """A call still holding the client when the gateway stops (its grace over) gets `unreachable`
    from its next request, which is never sent."""
    backend = GraphBackend(settings_of(server))
    wire = account(server)

    async def main() -> None:
        graph = backend.account(wire)
        async with backend.running():
            mailbox = backend.mailbox(graph, Threads(trio.CapacityLimiter(1), lambda exc: backend.failure(graph, exc)))
        sent = graph_requests(server)
        with pytest.raises(GatewayError, match="shutting down") as stopped:
            await mailbox.check()
        assert stopped.value.code == UNREACHABLE
        assert graph_requests(server) == sent

    _, unclosed = unclosed_sockets(lambda: trio.run(main))
    assert unclosed == []


def test_a_cancelled_lifetime_still_closes_the_client(server: EmulatorServer):
    backend = GraphBackend(settings_of(server))

    async def main() -> Any:
        with trio.move_on_after(0.01):
            async with backend.running():
                client = backend.http()
                url = f"{server.base_url}/{APP.tenant}/v2.0/.well-known/openid-configuration"
                assert (await client.get(url)).is_success
                await trio.sleep_forever()
        return client

    client, unclosed = unclosed_sockets(lambda: trio.run(main))
    assert client.is_closed and unclosed == []


def test_one_lifetime_at_a_time_each_with_its_own_client(server: EmulatorServer):
    backend = GraphBackend(settings_of(server))

    async def main() -> Any:
        async with backend.running():
            first = backend.http()
            with pytest.raises(RuntimeError, match="running already"):
                async with backend.running():
                    pass
            assert backend.http() is first and not first.is_closed
        async with backend.running():
            second = backend.http()
            assert second is not first and first.is_closed and not second.is_closed
        return second

    assert trio.run(main).is_closed
