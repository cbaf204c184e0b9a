"""Fault injection, in-process and through the control endpoint, as exchangelib and raw HTTP see it."""

from __future__ import annotations

import time

import httpx
import pytest
import requests
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.errors import (
    ErrorInternalServerError,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    UnauthorizedError,
)

from exchange_standin import EmulatorServer
from exchange_standin.identity import AppSpec

from .conftest import ANNA, NS, envelope, make_account, parse, post, response_codes

GET_INBOX = envelope(
    "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
    '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>'
)
BERLIN = EWSTimeZone("Europe/Berlin")


def control(server: EmulatorServer, method: str, path: str, json=None) -> requests.Response:
    return requests.request(method, f"{server.base_url}{path}", json=json, timeout=5)


def test_server_busy_carries_back_off_milliseconds(emulator, account):
    account.calendar.refresh()
    emulator.add_fault("server_busy", count=1, back_off_ms=12000)
    with pytest.raises(ErrorServerBusy) as caught:
        account.calendar.refresh()
    assert caught.value.back_off == 12.0
    account.calendar.refresh()  # the fault applied to one request only


def test_server_busy_as_exchange_writes_it(emulator):
    emulator.add_fault("server_busy", count=1, back_off_ms=297749)
    response = post(emulator, GET_INBOX)
    assert response.status_code == 500
    root = parse(response)
    assert root.find(".//s:Fault/faultcode", NS).text == "a:ErrorServerBusy"
    assert root.find(".//detail/e:ResponseCode", NS).text == "ErrorServerBusy"
    value = root.find(".//detail/t:MessageXml/t:Value", NS)
    assert (value.get("Name"), value.text) == ("BackOffMilliseconds", "297749")


def test_server_busy_as_a_response_message(emulator, account):
    account.calendar.refresh()
    emulator.add_fault("server_busy", count=1, style="message")
    response = post(emulator, GET_INBOX)
    assert response.status_code == 200 and response_codes(response) == ["ErrorServerBusy"]
    emulator.add_fault("server_busy", count=1, style="message")
    with pytest.raises(ErrorServerBusy):
        account.calendar.refresh()


def test_http_500_with_a_soap_fault(emulator, account):
    account.calendar.refresh()
    emulator.add_fault("http_500", count=1)
    response = post(emulator, GET_INBOX)
    assert response.status_code == 500 and response_codes(response) == ["ErrorInternalServerError"]
    emulator.add_fault("http_500", count=1)
    with pytest.raises(ErrorInternalServerError):
        account.calendar.refresh()


def test_http_503(emulator, account):
    account.calendar.refresh()
    emulator.add_fault("http_503", count=1, retry_after=7)
    response = post(emulator, GET_INBOX)
    assert (response.status_code, response.headers["Retry-After"]) == (503, "7")
    emulator.add_fault("http_503", count=1)
    with pytest.raises(ErrorServerBusy, match="503"):  # exchangelib turns a 503 into a back-off request
        account.calendar.refresh()


def test_a_slow_answer(emulator):
    emulator.add_fault("delay", count=1, seconds=0.3)
    started = time.monotonic()
    response = post(emulator, GET_INBOX)
    assert time.monotonic() - started >= 0.3
    assert response_codes(response) == ["NoError"]
    emulator.add_fault("delay", count=1, seconds=2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(emulator, GET_INBOX, timeout=0.2)


def test_a_dropped_connection(emulator, account):
    account.calendar.refresh()
    emulator.add_fault("drop", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        post(emulator, GET_INBOX)
    emulator.add_fault("drop", count=1, reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        post(emulator, GET_INBOX)
    emulator.add_fault("drop", count=1)
    with pytest.raises(ErrorTimeoutExpired):
        account.calendar.refresh()
    assert response_codes(post(emulator, GET_INBOX)) == ["NoError"]


def test_a_dropped_answer_after_the_change_was_made(emulator, account):
    emulator.add_fault("drop", count=1, process=True, operations=["CreateItem"])
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Lost answer",
        start=EWSDateTime(2026, 6, 1, 9, tzinfo=BERLIN),
        end=EWSDateTime(2026, 6, 1, 10, tzinfo=BERLIN),
    )
    with pytest.raises(ErrorTimeoutExpired):
        item.save()
    assert [i.subject for i in account.calendar.all()] == ["Lost answer"]


def test_unauthorized_for_the_next_requests(emulator, account):
    account.calendar.refresh()
    emulator.add_fault("unauthorized", count=2)
    with pytest.raises(UnauthorizedError):
        account.calendar.refresh()
    assert post(emulator, GET_INBOX).status_code == 401
    account.calendar.refresh()


def test_a_password_change(emulator, account):
    account.calendar.refresh()
    emulator.change_password(ANNA[0], "new-secret")
    with pytest.raises(UnauthorizedError):
        account.calendar.refresh()
    assert make_account(emulator, ANNA[0], "new-secret").calendar.name == "Calendar"


def test_faults_only_for_some_operations(emulator, account):
    account.calendar.refresh()
    emulator.add_fault("http_500", count=5, operations=["FindItem"])
    account.calendar.refresh()  # GetFolder is not affected
    with pytest.raises(ErrorInternalServerError):
        list(account.calendar.all())
    assert emulator.faults.describe()[0]["count"] == 4


def test_a_fraction_of_requests_repeatably():
    def pattern(seed: int) -> list[int]:
        with EmulatorServer(mailboxes=[ANNA], fault_seed=seed) as server:
            server.add_fault("http_503", fraction=0.5)
            return [post(server, GET_INBOX).status_code for _ in range(20)]

    first = pattern(7)
    assert set(first) == {200, 503}
    assert pattern(7) == first


def test_the_control_endpoint(emulator, account):
    created = control(
        emulator, "POST", "/emulator/faults", {"kind": "http_500", "count": 2, "operations": ["GetFolder"]}
    )
    assert created.status_code == 201 and created.json()["kind"] == "http_500"
    assert [rule["kind"] for rule in control(emulator, "GET", "/emulator/faults").json()] == ["http_500"]
    assert post(emulator, GET_INBOX).status_code == 500
    assert control(emulator, "DELETE", "/emulator/faults").status_code == 200
    assert post(emulator, GET_INBOX).status_code == 200

    several = control(emulator, "POST", "/emulator/faults", [{"kind": "delay", "seconds": 0.01}, {"kind": "drop"}])
    assert [rule["kind"] for rule in several.json()] == ["delay", "drop"]
    rule_id = several.json()[1]["id"]
    assert control(emulator, "DELETE", f"/emulator/faults/{rule_id}").json() == {"removed": True}
    control(emulator, "DELETE", "/emulator/faults")

    changed = control(
        emulator, "POST", "/emulator/faults", {"kind": "password_change", "mailbox": ANNA[0], "password": "other"}
    )
    assert changed.status_code == 201
    assert post(emulator, GET_INBOX).status_code == 401
    assert post(emulator, GET_INBOX, auth=(ANNA[0], "other")).status_code == 200
    assert control(emulator, "POST", "/emulator/password", {"mailbox": ANNA[0], "password": ANNA[1]}).ok

    bad = [
        control(emulator, "POST", "/emulator/faults", {"kind": "meteor"}),
        control(emulator, "POST", "/emulator/faults", {"kind": "drop", "count": 1, "fraction": 0.5}),
        control(emulator, "POST", "/emulator/faults", {"kind": "drop", "colour": "red"}),
        requests.post(f"{emulator.base_url}/emulator/faults", data=b"{not json", timeout=5),
    ]
    assert [response.status_code for response in bad] == [400, 400, 400, 400]
    assert all(response.json()["error"] for response in bad)


def test_the_state_endpoint(emulator, account):
    CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Visible",
        start=EWSDateTime(2026, 6, 1, 9, tzinfo=BERLIN),
        end=EWSDateTime(2026, 6, 1, 10, tzinfo=BERLIN),
    ).save()
    state = control(emulator, "GET", "/emulator/state").json()
    assert state["url"] == emulator.url
    anna = next(box for box in state["mailboxes"] if box["address"] == ANNA[0])
    assert [item["subject"] for item in anna["items"]] == ["Visible"]
    assert any(
        folder["path"] == "/Top of Information Store/Calendar" and folder["items"] == 1 for folder in anna["folders"]
    )
    assert state["requests"]["counts"]["CreateItem"] == 1


# -- Microsoft Graph's faults (graph_http.py) -------------------------------------------------------

TENANT, CLIENT, SECRET = "club-tenant", "11111111-2222-3333-4444-555555555555", "app-secret"
GRAPH_USER = f"/users/{ANNA[0]}"


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
    token = answer.json()["access_token"]
    with httpx.Client(base_url=f"{online.base_url}/v1.0", headers={"Authorization": f"Bearer {token}"}) as session:
        yield session


def creates(*subjects: str) -> dict:
    """A $batch of event creates, each with a transactionId of its own (as the gateway sends them)."""
    return {
        "requests": [
            {
                "id": str(n),
                "method": "POST",
                "url": f"{GRAPH_USER}/calendar/events",
                "headers": {"Content-Type": "application/json"},
                "body": {
                    "subject": subject,
                    "start": {"dateTime": "2026-06-01T09:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-06-01T10:00:00", "timeZone": "UTC"},
                    "transactionId": f"tx-{subject}",
                },
            }
            for n, subject in enumerate(subjects)
        ]
    }


def subjects(graph: httpx.Client) -> list[str]:
    return sorted(event["subject"] for event in graph.get(f"{GRAPH_USER}/events?$top=100").json()["value"])


def test_a_graph_batch_whose_answer_is_lost_after_its_creates_were_made(online, graph):
    online.add_fault("drop", count=1, process=True)
    with pytest.raises(httpx.TransportError):
        graph.post("/$batch", json=creates("Lesson", "Medal"))
    assert subjects(graph) == ["Lesson", "Medal"]  # the work was done
    online.add_fault("drop", count=1, process=True, reset=True)
    with pytest.raises(httpx.TransportError):
        graph.post("/$batch", json=creates("Lesson", "Medal", "Cup"))  # sent again, one more
    assert subjects(graph) == ["Cup", "Lesson", "Medal"]  # the transactionIds make the repeat no duplicate
    online.add_fault("drop", count=1)  # before the work: nothing done
    with pytest.raises(httpx.TransportError):
        graph.post("/$batch", json=creates("Never"))
    assert subjects(graph) == ["Cup", "Lesson", "Medal"]


def test_a_graph_batch_done_and_answered_504_after_the_first_requests(online, graph):
    online.add_fault("timeout_after_work", count=1, keep=1)
    answer = graph.post("/$batch", json=creates("Lesson", "Medal", "Cup"))
    assert answer.status_code == 200
    statuses = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert statuses == {"0": 201, "1": 504, "2": 504}
    timed_out = next(r for r in answer.json()["responses"] if r["id"] == "1")
    assert timed_out["body"]["error"]["code"] == "GatewayTimeout"
    assert subjects(graph) == ["Cup", "Lesson", "Medal"]
    online.add_fault("timeout_after_work", count=1)  # a single request: the whole answer
    single = graph.post(f"{GRAPH_USER}/calendar/events", json=creates("Alone")["requests"][0]["body"])
    assert single.status_code == 504
    assert subjects(graph) == ["Alone", "Cup", "Lesson", "Medal"]


def test_throttling_inside_a_graph_batch_request_by_request(online, graph):
    online.add_fault("throttled", count=1, style="message", keep=1, retry_after=3)
    answer = graph.post("/$batch", json=creates("Lesson", "Medal", "Cup"))
    assert answer.status_code == 200
    by_id = {r["id"]: r for r in answer.json()["responses"]}
    assert [by_id[i]["status"] for i in ("0", "1", "2")] == [201, 429, 429]
    assert by_id["1"]["headers"]["Retry-After"] == "3"
    assert by_id["2"]["body"]["error"]["code"] == "TooManyRequests"
    assert subjects(graph) == ["Lesson"]  # the throttled ones were not done
    online.add_fault("throttled", count=1, retry_after=1)  # style "fault": the whole batch
    whole = graph.post("/$batch", json=creates("Medal"))
    assert (whole.status_code, whole.headers["Retry-After"]) == (429, "1")
    assert subjects(graph) == ["Lesson"]


def test_an_invalid_sync_state_meets_only_a_delta_rounds_later_pages(online, graph):
    online.add_fault("invalid_sync_state", count=1)
    window = "startDateTime=2026-01-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z"
    first = graph.get(f"{GRAPH_USER}/calendarView/delta?{window}")  # a first round's first page: no state yet
    assert first.status_code == 200
    assert graph.get(f"{GRAPH_USER}/events").status_code == 200
    link = first.json()["@odata.deltaLink"]
    gone = graph.get(link.split("/v1.0", 1)[1])
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "SyncStateNotFound"
    assert graph.get(link.split("/v1.0", 1)[1]).status_code == 200  # (count=1: used up)
    assert online.faults.describe() == []
