"""The floors of the Graph benchmarks: what a client does by hand against the same stand-in, with
plain httpx, an app token from the stand-in's identity platform and TLS verified against its CA
(sandbox/graph.py), nothing of the gateway's Graph backend but its conversion of an entry to an
event's JSON (`exchange_gateway.graph.convert.event_body`), so that the floor's items are ours.

- `create`: events made by POSTs in `$batch` requests of 20 (Graph's most), one batch after the
  other, as a plain client sends them.
- `read`: a calendarView delta round (pages of `READ_PAGE`), and every reported event read again in
  `$batch` GETs of 20 with our extended properties expanded (calendarView delta takes no
  `$expand`, see docs/benchmarks.md), as a client that needs them must.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Iterator, Sequence
from urllib.parse import quote

import httpx

from exchange_gateway.graph import convert
from exchange_gateway.graph.mailbox import transaction_id
from protocol.entries import CalendarEntry
from sandbox.graph import app_token, trusting
from sandbox.world import CLUB_APP, World

MAX_BATCH = 20  # requests per $batch (Graph's limit)
READ_PAGE = 1000  # the floor's delta pages (Graph's most for Outlook's lists)
PREFER = 'outlook.body-content-type="text", outlook.timezone="UTC"'
ZONE = "Europe/Berlin"


def entries(count: int, prefix: str) -> Iterator[CalendarEntry]:
    """`count` entries with every field the sync's exports carry (time zone, reminder, the area as
    a category, our external id and the mark of what the sync wrote)."""
    today = dt.datetime.combine(dt.date.today(), dt.time(), tzinfo=dt.timezone.utc)
    for n in range(count):
        start = today + dt.timedelta(days=1 + n % 300, hours=7 + n % 11)
        yield CalendarEntry(
            subject=f"{prefix} {n}",
            start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            end=(start + dt.timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            timezone=ZONE,
            reminder_minutes=15,
            categories=("Area 00-0",),
            external_id=f"bench:{prefix}:{n}",
            written="0" * 64,
        )


def minimal_body(entry: CalendarEntry) -> dict[str, Any]:
    """An event with the entry's subject, start and end only (what a person types)."""
    times = convert.event_times(entry)
    return {"subject": entry.subject, "start": times["start"], "end": times["end"]}


class GraphFloor:
    """One mailbox of the stage's stand-in through plain Graph calls with the club's app."""

    def __init__(self, world: World, mailbox: str) -> None:
        standin = world.standin
        token = app_token(standin.authority(CLUB_APP.tenant), CLUB_APP, standin.ca_file)
        self.mailbox = mailbox
        self.user = f"/users/{mailbox}"
        self.http = httpx.Client(
            base_url=standin.graph_url,
            headers={"Authorization": f"Bearer {token}", "Prefer": PREFER},
            verify=trusting(standin.ca_file),
            timeout=120,
        )

    def close(self) -> None:
        self.http.close()

    def batch(self, requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One `$batch` of at most MAX_BATCH requests; the answers in the requests' order."""
        numbered = [{"id": str(n), **request} for n, request in enumerate(requests)]
        answer = self.http.post("/$batch", json={"requests": numbered})
        answer.raise_for_status()
        found = {r["id"]: r for r in answer.json()["responses"]}
        return [found[str(n)] for n in range(len(requests))]

    def calendar(self, name: str) -> str:
        """A new calendar's path (`/calendars/{id}`)."""
        answer = self.http.post(f"{self.user}/calendars", json={"name": name})
        answer.raise_for_status()
        return f"/calendars/{answer.json()['id']}"

    def create(self, path: str, bodies: Sequence[dict[str, Any]]) -> float:
        """The events made in the calendar at `path` ("/calendar": the main one), 20 a `$batch`;
        the wall seconds it took."""
        started = time.perf_counter()
        for start in range(0, len(bodies), MAX_BATCH):
            chunk = bodies[start : start + MAX_BATCH]
            requests = [
                {
                    "method": "POST",
                    "url": f"{self.user}{path}/events",
                    "headers": {"Content-Type": "application/json"},
                    "body": body,
                }
                for body in chunk
            ]
            failed = [a["status"] for a in self.batch(requests) if a["status"] != 201]
            if failed:
                raise SystemExit(f"the floor's creates failed: {failed[:5]}")
        return time.perf_counter() - started

    def create_entries(self, path: str, made: Sequence[CalendarEntry], like_ours: bool) -> float:
        now = dt.datetime.now(dt.timezone.utc)
        items_path = f"{path}/events"
        bodies = [
            convert.event_body(e, now, transaction_id(self.mailbox, items_path, e)) if like_ours else minimal_body(e)
            for e in made
        ]
        return self.create(path, bodies)

    def read(self, path: str = "/calendar") -> tuple[float, int]:
        """The floor of reading the calendar at `path`: a delta round and every event in full (with
        our extended properties); the wall seconds and the events read."""
        started = time.perf_counter()
        now = dt.datetime.now(dt.timezone.utc)
        window = {
            "startDateTime": (now - dt.timedelta(days=3 * 366)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": (now + dt.timedelta(days=10 * 366)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        headers = {"Prefer": f"odata.maxpagesize={READ_PAGE}, {PREFER}"}
        url: str | None = f"{self.user}{path}/calendarView/delta"
        params: dict[str, str] | None = window
        ids: list[str] = []
        while url is not None:
            answer = self.http.get(url, params=params, headers=headers)
            answer.raise_for_status()
            page = answer.json()
            ids += [v["id"] for v in page["value"] if "@removed" not in v]
            url, params = page.get("@odata.nextLink"), None
        expand = quote(convert.EXPAND_OURS, safe="")
        for start in range(0, len(ids), MAX_BATCH):
            requests = [
                {"method": "GET", "url": f"{self.user}/events/{i}?$expand={expand}", "headers": {"Prefer": PREFER}}
                for i in ids[start : start + MAX_BATCH]
            ]
            failed = [a["status"] for a in self.batch(requests) if a["status"] != 200]
            if failed:
                raise SystemExit(f"the floor's reads failed: {failed[:5]}")
        return time.perf_counter() - started, len(ids)

    def count(self, path: str = "/calendar") -> int:
        """The events of the calendar at `path`."""
        found, url = 0, f"{self.user}{path}/events?$select=id&$top=1000"
        while url:
            answer = self.http.get(url)
            answer.raise_for_status()
            page = answer.json()
            found += len(page["value"])
            url = page.get("@odata.nextLink")
        return found

    def naive(self, made: Sequence[CalendarEntry]) -> float:
        """One POST per item (no `$batch`), the items like ours; the wall seconds per item."""
        now = dt.datetime.now(dt.timezone.utc)
        started = time.perf_counter()
        for entry in made:
            body = convert.event_body(entry, now, transaction_id(self.mailbox, "/calendar/events", entry))
            self.http.post(f"{self.user}/calendar/events", json=body).raise_for_status()
        return (time.perf_counter() - started) / max(1, len(made))
