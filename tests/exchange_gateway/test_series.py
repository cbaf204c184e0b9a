"""Recurring series through the gateway's operations, on both backends against the stand-in (one
store, EWS and Graph): `exchange.occurrences` paged past what one request gives, an exception's
own extended properties, and its arguments checked before any work."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import trio
from exchangelib import BASIC, DELEGATE, CalendarItem, Credentials, EWSTimeZone, FailFast
from exchangelib import Account as ExchangelibAccount
from exchangelib.configuration import Configuration
from exchangelib.items import SEND_TO_NONE
from exchangelib.recurrence import Recurrence, WeeklyPattern

from exchange_gateway.backends import backends
from exchange_gateway.errors import GatewayError
from exchange_gateway.ews import mailbox as ews_mailbox
from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.graph import mailbox as graph_mailbox
from exchange_gateway.tokens import TokenProvider
from exchange_standin import EmulatorServer
from exchange_standin.graph_model import graph_id
from exchange_standin.identity import AppSpec
from protocol.accounts import AppCredentials, EwsAccount, GraphAccount, PasswordCredentials
from protocol.entries import CalendarEntry, ItemRef, Occurrences, UpdateRequest

ANNA = ("anna@club.example", "anna-secret")
APP = AppSpec("club-tenant", "11111111-2222-3333-4444-555555555555", "app-secret")
BERLIN = EWSTimeZone("Europe/Berlin")
WINDOW = {"start": "2026-01-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"}


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


def account_of(server: EmulatorServer, backend: str) -> dict[str, Any]:
    if backend == "ews":
        return EwsAccount(server.url, ANNA[0], PasswordCredentials(ANNA[0], ANNA[1], "basic")).to_wire()
    app = AppCredentials(
        APP.tenant, APP.client_id, APP.secret, f"{server.base_url}/{APP.tenant}", f"{server.base_url}/v1.0"
    )
    return GraphAccount(ANNA[0], app).to_wire()


def weekly_series(server: EmulatorServer, count: int) -> str:
    """A Monday 18:00-19:30 series in Berlin from 5 January 2026, made with plain exchangelib."""
    config = Configuration(
        service_endpoint=server.url, credentials=Credentials(*ANNA), auth_type=BASIC, retry_policy=FailFast()
    )
    account = ExchangelibAccount(ANNA[0], config=config, autodiscover=False, access_type=DELEGATE)
    start = dt.datetime(2026, 1, 5, 18, 0, tzinfo=BERLIN)
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Junior training",
        start=start,
        end=start + dt.timedelta(minutes=90),
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[1]), start=start.date(), number=count),
    )
    item.save(send_meeting_invitations=SEND_TO_NONE)
    assert item.id is not None
    return str(item.id)


async def occurrences(ops: ExchangeOperations, account: dict[str, Any], series: list[str]) -> Occurrences:
    wire = await ops.occurrences({"account": account, "kind": "calendar", "series": series, **WINDOW})
    return Occurrences.from_wire(wire)


@pytest.mark.parametrize("backend", ["ews", "graph"])
async def test_occurrences_are_paged_past_what_one_request_gives(
    server: EmulatorServer, operations: ExchangeOperations, backend: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ews_mailbox, "VIEW_PAGE", 5)
    monkeypatch.setattr(graph_mailbox, "PAGE", "5")
    made = await trio.to_thread.run_sync(weekly_series, server, 12)
    master = made if backend == "ews" else graph_id(made)
    found = (await occurrences(operations, account_of(server, backend), [master])).by_series[master]
    assert isinstance(found, tuple)
    winter, summer = dt.timedelta(hours=17), dt.timedelta(hours=16)  # 18:00 in Berlin, CET and CEST
    expected = []
    for week in range(12):
        day = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc) + dt.timedelta(weeks=week)
        expected.append((day + (summer if day.month >= 4 else winter)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert [e.original_start for e in found] == expected
    assert [e.start for e in found] == expected
    assert len({e.id for e in found}) == 12 and all(e.timezone == "Europe/Berlin" for e in found)


@pytest.mark.parametrize("backend", ["ews", "graph"])
async def test_an_exception_carries_its_own_external_id(
    server: EmulatorServer, operations: ExchangeOperations, backend: str
):
    made = await trio.to_thread.run_sync(weekly_series, server, 3)
    master = made if backend == "ews" else graph_id(made)
    account = account_of(server, backend)
    first, second, _ = (await occurrences(operations, account, [master])).by_series[master]  # type: ignore[misc]
    assert isinstance(second, CalendarEntry)
    marked = dataclasses.replace(second, external_id="pccaddie:9:1", written="digest")
    assert second.id is not None
    request = UpdateRequest(ItemRef(second.id, second.change_key), ("external_id", "written"), marked)
    (result,) = await operations.update({"account": account, "kind": "calendar", "items": [request.to_wire()]})
    assert result["ok"], result
    now = (await occurrences(operations, account, [master])).by_series[master]
    assert isinstance(now, tuple)
    assert [(e.series_type, e.external_id, e.written) for e in now] == [
        ("occurrence", None, None),
        ("exception", "pccaddie:9:1", "digest"),
        ("occurrence", None, None),
    ]
    assert now[0].id == first.id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"kind": "contacts"}, "calendar"),
        ({"series": "abc"}, "series must be a list"),
        ({"series": [""]}, "series must be a list"),
        ({"series": [f"id{n}" for n in range(101)]}, "at most 100 series"),
        ({"start": "2026-01-01"}, "start"),
        ({"end": "2025-12-31T00:00:00Z"}, "end must be after start"),
    ],
)
async def test_the_arguments_are_checked_before_any_work(args: dict[str, Any], message: str):
    ops = ExchangeOperations(backends(ExchangeSettings()), ExchangeLimits())
    request = {"account": {"backend": "nowhere"}, "kind": "calendar", "series": ["a"], **WINDOW, **args}
    with pytest.raises(GatewayError) as refused:
        await ops.occurrences(request)
    assert refused.value.code == "invalid" and message in refused.value.message
