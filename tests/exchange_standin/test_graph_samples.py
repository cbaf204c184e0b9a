"""Microsoft's Graph samples (../shared/graph-samples): every request gets a well-formed Graph
answer, and the stand-in's answers have the shapes of the documented responses, key by key.
`/me/…` is replayed as `/users/{address}/…` with an app token."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.recurrence import DailyPattern, Recurrence

from exchange_standin import EmulatorServer
from exchange_standin.identity import AppSpec

from .conftest import ANNA, make_account

SAMPLES = Path("/work/shared/graph-samples")
REQUESTS = sorted(SAMPLES.glob("*.request-*.http"))
TENANT, CLIENT, SECRET = "club-tenant", "11111111-2222-3333-4444-555555555555", "app-secret"
USER = f"/users/{ANNA[0]}"

# What the stand-in answers each sample request with against a fresh mailbox (the samples' ids were
# invented by Microsoft and name nothing here; paths outside calendars and contacts are not served).
EXPECTED = {
    "calendar-delete.request-1.http": 400,  # the default calendar cannot be deleted
    "calendar-get.request-1.http": 200,
    "calendar-list-events.request-1.http": 200,
    "calendar-list-events.request-2.http": 200,
    "contact-delete.request-1.http": 400,  # {id}: malformed
    "contact-delta.request-1.http": 400,
    "contact-get.request-1.http": 400,
    "contact-update.request-1.http": 400,
    "contactfolder-delta.request-1.http": 200,
    "delta-query-events.request-1.http": 200,
    "delta-query-events.request-2.http": 410,  # tokens it never issued
    "delta-query-events.request-3.http": 410,
    "delta-query-events.request-4.http": 410,
    "delta-query-overview.request-1.http": 501,  # /users/ itself
    "event-delete.request-1.http": 400,
    "event-delta.request-1.http": 400,  # {start_datetime}
    "event-get.request-1.http": 400,
    "event-get.request-2.http": 400,
    "event-list-instances.request-1.http": 400,
    "event-update.request-1.http": 400,
    "json-batching.request-1.http": 200,
    "singlevaluelegacyextendedproperty-get.request-1.http": 501,  # messages
    "singlevaluelegacyextendedproperty-get.request-2.http": 501,
    "singlevaluelegacyextendedproperty-get.request-3.http": 501,
    "singlevaluelegacyextendedproperty-get.request-4.http": 501,
    "singlevaluelegacyextendedproperty-get.request-5.http": 501,
    "singlevaluelegacyextendedproperty-post-singlevalueextendedproperties.request-1.http": 201,
    "singlevaluelegacyextendedproperty-post-singlevalueextendedproperties.request-2.http": 400,  # body not JSON
    "user-list-calendars.request-1.http": 200,
    "user-list-calendarview.request-1.http": 200,
    "user-list-contactfolders.request-1.http": 200,
    "user-list-contacts.request-1.http": 200,
    "user-list-contacts.request-2.http": 200,
    "user-list-events.request-1.http": 200,
    "user-post-calendars.request-1.http": 201,
    "user-post-contacts.request-1.http": 201,
    "user-post-events.request-1.http": 201,
    "user-post-events.request-2.http": 201,
    "user-post-events.request-3.http": 201,  # a recurring series
    "user-post-events.request-4.http": 201,
}


def parse_http(path: Path) -> tuple[str, dict[str, str], bytes]:
    """(first line, headers, body) of a sample file; the body without the block's final newline."""
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    headers = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return lines[0], headers, body.removesuffix("\n").encode()


def replay_url(server: EmulatorServer, url: str) -> str:
    url = url.strip().removesuffix(" HTTP/1.1").strip()
    url = re.sub(r"^https://graph\.microsoft\.com", server.base_url, url)
    return re.sub(r"/v1\.0/me(?=/|$)", f"/v1.0{USER}", url, flags=re.I)


@pytest.fixture
def online():
    server = EmulatorServer(mailboxes=[ANNA], apps=[AppSpec(TENANT, CLIENT, SECRET)]).start()
    yield server
    server.stop()


@pytest.fixture
def graph(online: EmulatorServer):
    answer = httpx.post(
        f"{online.base_url}/{TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT,
            "client_secret": SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    with httpx.Client(headers={"Authorization": f"Bearer {answer.json()['access_token']}"}) as session:
        yield session


def send(graph: httpx.Client, server: EmulatorServer, sample: Path, url: str | None = None) -> httpx.Response:
    first, headers, body = parse_http(sample)
    method, _, sample_url = first.partition(" ")
    return graph.request(method, url or replay_url(server, sample_url), headers=headers, content=body)


def test_every_sample_request_is_known():
    assert {path.name for path in REQUESTS} == set(EXPECTED)


@pytest.mark.parametrize("sample", REQUESTS, ids=lambda path: path.name)
def test_every_sample_request_gets_a_well_formed_graph_answer(online, graph, sample):
    response = send(graph, online, sample)
    assert response.status_code == EXPECTED[sample.name], response.text
    if response.status_code == 204:
        assert response.content == b""
        return
    assert response.headers["Content-Type"].startswith("application/json")
    data = response.json()
    if response.status_code >= 400:
        assert set(data) == {"error"}
        assert isinstance(data["error"]["code"], str) and data["error"]["code"]
        assert isinstance(data["error"]["message"], str) and data["error"]["message"]
    else:
        assert "error" not in data


# shapes ---------------------------------------------------------------------------------------

# Keys of the documented responses that the stand-in does not give, and why.
NOT_GIVEN = {
    "uniqueId",  # of a location: only for locations from the directory or a map
    "coordinates",  # and its latitude/longitude: the same
    "address",  # of a location: the same (an event's location here is a display name)
    "@odata.id",  # of a calendar: the canonical URL is only a hint to clients; the id is given
    "calendar@odata.associationLink",  # navigation links: not used by an app-only client
    "calendar@odata.navigationLink",
}


# Keys whose content depends on the data: an address the contact does not have is {} (as
# contact-get.response-1 shows); a delta page is followed by a nextLink or ends with a deltaLink,
# depending on how many entries are left.
ADDRESSES = {"homeAddress", "businessAddress", "otherAddress"}
LINKS = {"@odata.nextLink", "@odata.deltaLink"}


def assert_shape(documented: Any, ours: Any, where: str = "") -> None:
    """Every key of the documented JSON is in ours, recursively (lists: by their first element)."""
    if isinstance(documented, dict):
        assert isinstance(ours, dict), f"{where}: expected an object, got {ours!r}"
        for key, value in documented.items():
            if key in NOT_GIVEN:
                continue
            if key in LINKS:
                assert LINKS & set(ours), f"{where}: neither @odata.nextLink nor @odata.deltaLink"
                continue
            if key in ADDRESSES and ours.get(key) == {}:
                continue
            assert key in ours, f"{where}/{key} is missing"
            if ours[key] is not None and value is not None:
                assert_shape(value, ours[key], f"{where}/{key}")
    elif isinstance(documented, list) and documented:
        assert isinstance(ours, list), f"{where}: expected an array, got {ours!r}"
        if ours:
            for value in documented:
                if isinstance(value, dict) and "@removed" in value:
                    removed = [entry for entry in ours if "@removed" in entry]
                    assert removed, f"{where}: no @removed entry"
                    assert_shape(value, removed[0], f"{where}[@removed]")
                else:
                    kept = [entry for entry in ours if not (isinstance(entry, dict) and "@removed" in entry)]
                    assert kept, f"{where}: no entry"
                    assert_shape(value, kept[0], f"{where}[]")


def documented(name: str) -> tuple[int, dict[str, Any] | None]:
    first, _headers, body = parse_http(SAMPLES / name)
    status = int(first.split()[1])
    text = body.decode()
    text = re.sub(r",(\s*})", r"\1", text)  # user-post-events.response-3 has a trailing comma
    return status, json.loads(text) if text.strip() else None


@pytest.fixture
def seeded(online: EmulatorServer, graph: httpx.Client) -> dict[str, str]:
    """A mailbox with an event, a recurring series (made through EWS), a contact and a calendar."""
    base = f"{online.base_url}/v1.0{USER}"
    event = graph.post(
        f"{base}/events",
        json={
            "subject": "All hands",
            "body": {"contentType": "html", "content": "<p>Agenda</p>"},
            "start": {"dateTime": "2016-12-02T18:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2016-12-02T19:00:00", "timeZone": "UTC"},
            "location": {"displayName": "Hall"},
        },
    ).json()
    account = make_account(online, *ANNA, default_timezone=EWSTimeZone("UTC"))
    utc = EWSTimeZone("UTC")
    series = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Review strategy for Q3",
        start=EWSDateTime(2019, 4, 8, 20, 30, tzinfo=utc),
        end=EWSDateTime(2019, 4, 8, 21, tzinfo=utc),
        recurrence=Recurrence(pattern=DailyPattern(interval=7), start=dt.date(2019, 4, 8), number=4),
    )
    series.save()
    master = graph.get(
        f"{base}/calendarView", params={"startDateTime": "2019-04-08T00:00:00Z", "endDateTime": "2019-04-09T00:00:00Z"}
    ).json()["value"][0]["seriesMasterId"]
    contact = graph.post(
        f"{base}/contacts",
        json={"givenName": "Alex", "surname": "Wilber", "emailAddresses": [{"address": "Alex@FineArtSchool.net"}]},
    ).json()
    folder = graph.get(f"{base}/contactFolders").json()["value"][0]["id"]
    return {"event": event["id"], "master": master, "contact": contact["id"], "folder": folder}


def our_url(server: EmulatorServer, sample: str, ids: dict[str, str]) -> str:
    first, _headers, _body = parse_http(SAMPLES / sample)
    url = replay_url(server, first.partition(" ")[2])
    url = re.sub(r"/events/[^/?]+/instances", f"/events/{ids['master']}/instances", url)
    url = re.sub(r"/events/(?!delta)[^/?]+", f"/events/{ids['event']}", url)
    url = re.sub(r"/contacts/(?!delta)[^/?]+", f"/contacts/{ids['contact']}", url)
    url = re.sub(r"/contactFolders/(?!delta)[^/?]+", f"/contactFolders/{ids['folder']}", url)
    url = url.replace("{start_datetime}", "2016-12-01T00:00:00Z").replace("{end_datetime}", "2016-12-30T00:00:00Z")
    if sample in FULL_ENTRIES:
        url = re.sub(r"[?&]\$select=[^&]*", "", url)
    return url


# Requests with a $select whose documented response shows whole entries all the same: their shape
# is compared with the stand-in's answer without the $select (with it, it gives what was selected).
FULL_ENTRIES = {"contact-delta.request-1.http"}


# (response sample, the request that answers it here)
PAIRS = [
    ("calendar-get.response-1.http", "calendar-get.request-1.http"),
    ("calendar-list-events.response-1.http", "calendar-list-events.request-1.http"),
    ("calendar-list-events.response-2.http", "calendar-list-events.request-2.http"),
    ("contact-get.response-1.http", "contact-get.request-1.http"),
    ("contact-update.response-1.http", "contact-update.request-1.http"),
    ("contact-delta.response-1.http", "contact-delta.request-1.http"),
    ("contactfolder-delta.response-1.http", "contactfolder-delta.request-1.http"),
    ("event-delta.response-1.http", "event-delta.request-1.http"),
    ("delta-query-events.response-1.http", "delta-query-events.request-1.http"),
    ("event-get.response-1.http", "event-get.request-1.http"),
    ("event-get.response-2.http", "event-get.request-2.http"),
    ("event-update.response-1.http", "event-update.request-1.http"),
    ("event-list-instances.response-1.http", "event-list-instances.request-1.http"),
    ("user-list-calendars.response-1.http", "user-list-calendars.request-1.http"),
    ("user-post-calendars.response-1.http", "user-post-calendars.request-1.http"),
    ("user-list-calendarview.response-1.http", "user-list-calendarview.request-1.http"),
    ("user-list-contactfolders.response-1.http", "user-list-contactfolders.request-1.http"),
    ("user-list-contacts.response-2.http", "user-list-contacts.request-2.http"),
    ("user-list-events.response-1.http", "user-list-events.request-1.http"),
    ("user-post-contacts.response-1.http", "user-post-contacts.request-1.http"),
    ("user-post-events.response-1.http", "user-post-events.request-1.http"),
    ("user-post-events.response-2.http", "user-post-events.request-2.http"),
    ("user-post-events.response-3.http", "user-post-events.request-3.http"),
    ("user-post-events.response-4.http", "user-post-events.request-4.http"),
    ("event-delete.response-1.http", "event-delete.request-1.http"),
    ("contact-delete.response-1.http", "contact-delete.request-1.http"),
]


@pytest.mark.parametrize(("response", "request_"), PAIRS, ids=[pair[0] for pair in PAIRS])
def test_answers_have_the_documented_shape(online, graph, seeded, response, request_):
    status, body = documented(response)
    answer = send(graph, online, SAMPLES / request_, our_url(online, request_, seeded))
    assert answer.status_code == status, answer.text
    if body is None:
        assert answer.content == b""
    else:
        assert_shape(body, answer.json())


def test_the_batch_answer_has_the_documented_envelope(online, graph):
    _status, body = documented("json-batching.response-1.http")
    assert body is not None
    answer = send(graph, online, SAMPLES / "json-batching.request-1.http").json()
    assert [entry["id"] for entry in answer["responses"]] == [entry["id"] for entry in body["responses"]]
    for ours in answer["responses"]:
        assert set(ours) == {"id", "status", "headers", "body"}
        assert_shape({"error": body["responses"][2]["body"]["error"]}, ours["body"])


def test_the_throttled_answer_has_the_documented_shape(online, graph):
    status, body = documented("throttling.response-1.http")
    online.add_fault("throttled", count=1, retry_after=2.128)
    answer = graph.get(f"{online.base_url}/v1.0{USER}/events")
    assert answer.status_code == status
    assert answer.headers["Retry-After"] == "2.128"
    assert_shape(body, answer.json())


def test_a_path_it_does_not_serve_has_the_documented_error_shape(online, graph):
    status, body = documented("delta-query-overview.response-1.http")
    answer = send(graph, online, SAMPLES / "delta-query-overview.request-1.http")
    assert answer.status_code == status
    assert_shape(body, answer.json())
