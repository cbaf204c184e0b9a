"""The query options calendarView delta takes, as Exchange Online takes them: no `$expand` (a 400),
and a `$select` that is not applied (the delta answers what GET /calendarView answers)."""

from __future__ import annotations

import httpx

from .test_graph import EVENT, SYNC_ID, USER, graph, online  # noqa: F401 - the fixtures

WINDOW = {"startDateTime": "2026-05-01T00:00:00Z", "endDateTime": "2026-05-02T00:00:00Z"}


def test_calendar_view_delta_refuses_expand(graph: httpx.Client):  # noqa: F811
    graph.post(f"{USER}/events", json=EVENT).raise_for_status()
    expand = f"singleValueExtendedProperties($filter=id eq '{SYNC_ID}')"
    answer = graph.get(f"{USER}/calendarView/delta", params={**WINDOW, "$expand": expand})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    # the same expansion on calendarView itself and on the event is answered
    listed = graph.get(f"{USER}/calendarView", params={**WINDOW, "$expand": expand}).json()["value"]
    assert [p["value"] for p in listed[0]["singleValueExtendedProperties"]] == ["caddie-17"]


def test_calendar_view_delta_answers_every_property_whatever_its_select(graph: httpx.Client):  # noqa: F811
    graph.post(f"{USER}/events", json=EVENT).raise_for_status()
    (entry,) = graph.get(f"{USER}/calendarView/delta", params={**WINDOW, "$select": "subject"}).json()["value"]
    assert entry["subject"] == "Tee time"
    assert entry["location"]["displayName"] == "Hole 1"
    assert entry["start"]["dateTime"].startswith("2026-05-01T")
    assert "singleValueExtendedProperties" not in entry
