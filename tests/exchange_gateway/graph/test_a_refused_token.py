"""Graph refusing a token the identity platform gave (401 InvalidAuthenticationToken: expired
early, revoked) is no refusal of the app: the gateway must drop the token, get a new one and send
again, not answer `auth_failed` (which makes the sync service stop asking the mailbox for good,
sync_service/store/mailbox_blocks.py). Found by the fault campaign against Graph (campaigns/faults.py
--backend graph: one 401 among its faults, or the identity platform's tokens expiring mid-run,
stalled the mailbox until `sync-service app set`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from exchange_gateway.backends import backends
from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
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
