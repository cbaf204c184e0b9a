"""The Graph mailbox's batches answered per item, on a scripted Graph (httpx's MockTransport)."""

from __future__ import annotations

import json
from typing import Any, Callable

import httpx
import pytest

from exchange_gateway.errors import GatewayError
from exchange_gateway.graph.client import GraphClient
from exchange_gateway.graph.delta_state import SKIP, DeltaState, Known
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


def event(event_id: str, change_key: str, **more: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "changeKey": change_key,
        "subject": "Training",
        "start": {"dateTime": "2026-06-01T07:30:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-06-01T08:30:00", "timeZone": "UTC"},
        **more,
    }


def graph_events(events: dict[str, dict[str, Any]]) -> Callable[[int, dict[str, Any]], dict[str, Any]]:
    """A $batch answering GET /events/{id} from `events` (absent: 404)."""

    def answer(_n: int, request: dict[str, Any]) -> dict[str, Any]:
        event_id = request["url"].split("?")[0].rsplit("/", 1)[-1]
        if event_id in events:
            return {"status": 200, "headers": {}, "body": events[event_id]}
        return {"status": 404, "headers": {}, "body": {"error": {"code": "ErrorItemNotFound", "message": "gone"}}}

    return answer


DELTA_LINK = {"@odata.deltaLink": f"{GRAPH}/users/anna@club.example/calendarView/delta?$deltatoken=NEXT"}


async def test_a_page_tells_each_series_once_as_its_master():
    master = event("M1", "CK-M1", type="seriesMaster")
    mailbox, batches = scripted(graph_events({"M1": master}))
    occurrences = [
        event(f"O{n}", f"CK{n}", type=kind, seriesMasterId="M1", originalStart=f"2026-06-0{n}T07:30:00Z")
        for n, kind in ((1, "occurrence"), (2, "exception"), (3, "occurrence"))
    ]
    page = {"value": [*occurrences, event("S1", "CK-S1", type="singleInstance")], **DELTA_LINK}
    state = DeltaState(SKIP, "-", Known(1000))
    changes, after, done = await mailbox._page("calendar", state, page, with_items=False)
    assert [(c.kind, c.id, c.change_key) for c in changes] == [("create", "M1", "CK-M1"), ("create", "S1", "CK-S1")]
    assert done and after.series == (("M1", "CK-M1"),)
    assert [r["url"].split("?")[0] for b in batches for r in b] == ["/users/anna@club.example/events/M1"]


async def test_a_removal_asks_the_known_masters_whether_they_changed_or_are_gone():
    """calendarView's delta names a deleted occurrence by its own id: the masters the state knows
    say whether it was theirs (a new change key: an update) or the series is gone (a delete)."""
    events = {"M1": event("M1", "CK-M1-new", type="seriesMaster"), "M2": event("M2", "CK-M2", type="seriesMaster")}
    mailbox, _ = scripted(graph_events(events))
    state = DeltaState(SKIP, "tok", Known(1000), Known(900)).with_series({"M1": "CK-M1", "M2": "CK-M2", "M3": "CK-M3"})
    page = {"value": [{"id": "O7", "@removed": {"reason": "deleted"}}], **DELTA_LINK}
    changes, after, _ = await mailbox._page("calendar", state, page, with_items=True)
    assert [(c.kind, c.id) for c in changes] == [("update", "M1"), ("delete", "M3"), ("delete", "O7")]
    assert changes[0].entry is not None and changes[0].entry.series_type == "master"
    assert after.series == (("M2", "CK-M2"), ("M1", "CK-M1-new"))
