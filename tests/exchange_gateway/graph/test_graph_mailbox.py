"""The Graph mailbox's batches answered per item, on a scripted Graph (httpx's MockTransport)."""

from __future__ import annotations

import json
from typing import Any, Callable

import httpx
import pytest

from exchange_gateway.errors import GatewayError
from exchange_gateway.graph.client import GraphClient
from exchange_gateway.graph.mailbox import GraphMailbox
from protocol.entries import CalendarEntry, ItemRef

GRAPH = "https://graph.example/v1.0"
ENTRY = CalendarEntry("Lesson", "2026-06-01T07:30:00Z", "2026-06-01T08:30:00Z", external_id="pccaddie:1:1")


def scripted(answer: Callable[[int, dict[str, Any]], dict[str, Any] | None]) -> tuple[GraphMailbox, list[Any]]:
    """A mailbox whose $batch answers each request with `answer(index, request)` (None: left out)."""
    batches: list[Any] = []

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1.0/$batch" and request.headers["authorization"] == "Bearer T"
        body = json.loads(request.content)
        batches.append(body["requests"])
        answers = [a for n, r in enumerate(body["requests"]) if (a := answer(n, r)) is not None]
        return httpx.Response(200, json={"responses": [{"id": str(n), **a} for n, a in enumerate(answers)]})

    async def token() -> str:
        return "T"

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return GraphMailbox(GraphClient(http, GRAPH, "anna@club.example", token), "anna@club.example"), batches


def made(n: int, _request: dict[str, Any]) -> dict[str, Any]:
    return {"status": 201, "headers": {}, "body": {"id": f"E{n}", "changeKey": f"CK{n}"}}


async def test_creates_go_20_to_a_batch_answered_in_order():
    mailbox, batches = scripted(made)
    results = await mailbox.create("calendar", "", [ENTRY] * 45)
    assert [len(b) for b in batches] == [20, 20, 5]
    assert [r.id for r in results][:3] == ["E0", "E1", "E2"] and all(r.ok for r in results)
    request = batches[0][0]
    assert (request["method"], request["url"]) == ("POST", "/users/anna@club.example/calendar/events")
    assert request["body"]["transactionId"] and 'outlook.body-content-type="text"' in request["headers"]["Prefer"]


async def test_a_stale_change_key_fails_its_item_only():
    def answer(n: int, request: dict[str, Any]) -> dict[str, Any]:
        if n == 1:
            assert request["headers"]["If-Match"] == 'W/"old"'
            return {
                "status": 412,
                "headers": {},
                "body": {"error": {"code": "ErrorIrresolvableConflict", "message": "x"}},
            }
        return {"status": 200, "headers": {}, "body": {"id": request["url"].rsplit("/", 1)[1], "changeKey": "new"}}

    mailbox, _ = scripted(answer)
    updates = [(ItemRef("A", "k"), ENTRY, {"subject"}), (ItemRef("B", "old"), ENTRY, {"subject"})]
    first, second = await mailbox.update("calendar", updates)
    assert (first.ok, first.id, first.change_key) == (True, "A", "new")
    assert (second.ok, second.id, second.error and second.error.code) == (False, "B", "conflict")


async def test_throttling_of_one_item_fails_the_request_with_its_wait():
    def answer(n: int, request: dict[str, Any]) -> dict[str, Any]:
        if n == 2:
            return {"status": 429, "headers": {"Retry-After": "7"}, "body": {"error": {"code": "TooManyRequests"}}}
        return made(n, request)

    mailbox, _ = scripted(answer)
    with pytest.raises(GatewayError) as throttled:
        await mailbox.create("calendar", "", [ENTRY] * 3)
    assert (throttled.value.code, throttled.value.retry_after) == ("throttled", 7.0)


async def test_a_batch_that_leaves_out_an_answer_fails_whole():
    mailbox, _ = scripted(lambda n, r: None if n == 1 else made(n, r))
    with pytest.raises(Exception) as broken:
        await mailbox.create("calendar", "", [ENTRY] * 3)
    assert "answered 2 of the 3 requests" in str(broken.value)


async def test_deleting_what_is_gone_is_done():
    gone = {"status": 404, "headers": {}, "body": {"error": {"code": "ErrorItemNotFound", "message": "x"}}}
    mailbox, batches = scripted(lambda n, r: gone)
    (result,) = await mailbox.delete([ItemRef("X")])
    assert (result.ok, result.id) == (True, "X")
    assert [b[0]["url"] for b in batches] == [
        "/users/anna@club.example/events/X",
        "/users/anna@club.example/contacts/X",
    ]
