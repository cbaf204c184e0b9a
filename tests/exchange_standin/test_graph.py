"""Microsoft Graph v1.0 of the stand-in: app-only, over the same store as its EWS."""

from __future__ import annotations

import datetime as dt
import ssl

import httpx
import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, ExtendedProperty, HTMLBody

from exchange_standin import EmulatorServer
from exchange_standin.identity import AppSpec

from .conftest import ANNA, BOB, make_account

TENANT = "club-tenant"
CLIENT = "11111111-2222-3333-4444-555555555555"
SECRET = "app-secret"
SET_ID = "6f0c8a52-3d1e-4b7a-9c55-2e8d41f7b3a9"  # exchange_gateway/ews/convert.py PROPERTY_SET_ID
SYNC_ID = f"String {{{SET_ID}}} Name pccaddie_sync_id"
USER = f"/users/{ANNA[0]}"


class SyncId(ExtendedProperty):
    property_set_id = SET_ID
    property_name = "pccaddie_sync_id"
    property_type = "String"


NATIVE_BODY = "Integer 0x1016"  # PidTagNativeBody: 0 no body, 1 plain text, 2 RTF, 3 HTML, 4 clear-signed


class NativeBody(ExtendedProperty):
    property_tag = 0x1016
    property_type = "Integer"


@pytest.fixture
def online():
    # plain HTTP, so that exchangelib reaches the same stand-in without a CA of its own
    # (TLS is tested in test_tls.py and test_identity.py)
    server = EmulatorServer(mailboxes=[ANNA, BOB], apps=[AppSpec(TENANT, CLIENT, SECRET)]).start()
    yield server
    server.stop()


def _verify(server: EmulatorServer) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=str(server.ca_file)) if server.ca_file else True


def token(server: EmulatorServer, scope: str = "https://graph.microsoft.com/.default") -> str:
    with httpx.Client(verify=_verify(server)) as session:
        answer = session.post(
            f"{server.base_url}/{TENANT}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET, "scope": scope},
        )
    return answer.json()["access_token"]


@pytest.fixture
def graph(online: EmulatorServer):
    with httpx.Client(
        base_url=f"{online.base_url}/v1.0",
        verify=_verify(online),
        headers={"Authorization": f"Bearer {token(online)}"},
    ) as session:
        yield session


EVENT = {
    "subject": "Tee time",
    "body": {"contentType": "HTML", "content": "<p>Bring <b>clubs</b></p>"},
    "start": {"dateTime": "2026-05-01T10:00:00", "timeZone": "W. Europe Standard Time"},
    "end": {"dateTime": "2026-05-01T11:30:00", "timeZone": "W. Europe Standard Time"},
    "location": {"displayName": "Hole 1"},
    "singleValueExtendedProperties": [{"id": SYNC_ID, "value": "caddie-17"}],
}


def test_an_event_made_through_graph_is_seen_through_ews(online: EmulatorServer, graph: httpx.Client):
    made = graph.post(f"{USER}/events", json=EVENT)
    assert made.status_code == 201, made.text
    event = made.json()
    assert event["subject"] == "Tee time"
    assert event["start"] == {"dateTime": "2026-05-01T08:00:00.0000000", "timeZone": "UTC"}
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    CalendarItem.register("sync_id", SyncId)
    try:
        account = make_account(online, *ANNA, default_timezone=EWSTimeZone("Europe/Berlin"))
        items = list(account.calendar.all())
        assert [(i.subject, i.sync_id, i.location) for i in items] == [("Tee time", "caddie-17", "Hole 1")]
        assert items[0].start == EWSDateTime(2026, 5, 1, 8, tzinfo=EWSTimeZone("UTC"))
    finally:
        CalendarItem.deregister("sync_id")


def test_an_event_made_through_ews_is_seen_through_graph_by_its_extended_property(
    online: EmulatorServer, graph: httpx.Client
):
    CalendarItem.register("sync_id", SyncId)
    try:
        account = make_account(online, *ANNA, default_timezone=EWSTimeZone("Europe/Berlin"))
        tz = EWSTimeZone("Europe/Berlin")
        item = CalendarItem(
            account=account,
            folder=account.calendar,
            subject="Lesson",
            start=EWSDateTime(2026, 6, 1, 9, tzinfo=tz),
            end=EWSDateTime(2026, 6, 1, 10, tzinfo=tz),
            sync_id="caddie-99",
        )
        item.save()
    finally:
        CalendarItem.deregister("sync_id")
    wanted = f"singleValueExtendedProperties/any(ep: ep/id eq '{SYNC_ID}' and ep/value eq 'caddie-99')"
    found = graph.get(
        f"{USER}/events",
        params={"$filter": wanted, "$expand": f"singleValueExtendedProperties($filter=id eq '{SYNC_ID}')"},
    ).json()["value"]
    assert [e["subject"] for e in found] == ["Lesson"]
    assert found[0]["singleValueExtendedProperties"] == [{"id": SYNC_ID, "value": "caddie-99"}]
    none = graph.get(f"{USER}/events", params={"$filter": wanted.replace("caddie-99", "caddie-1")}).json()["value"]
    assert none == []
    same = graph.get(f"{USER}/events/{found[0]['id']}").json()
    assert same["id"] == found[0]["id"]
    assert same["changeKey"] == item.changekey


def test_patch_with_a_stale_etag_is_412_and_delete(graph: httpx.Client):
    event = graph.post(f"{USER}/events", json=EVENT).json()
    changed = graph.patch(
        f"{USER}/events/{event['id']}", json={"subject": "Moved"}, headers={"If-Match": event["@odata.etag"]}
    )
    assert changed.status_code == 200
    assert changed.json()["subject"] == "Moved"
    assert changed.json()["changeKey"] != event["changeKey"]
    stale = graph.patch(
        f"{USER}/events/{event['id']}", json={"subject": "Again"}, headers={"If-Match": event["@odata.etag"]}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "ErrorIrresolvableConflict"
    assert graph.delete(f"{USER}/events/{event['id']}").status_code == 204
    gone = graph.get(f"{USER}/events/{event['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "ErrorItemNotFound"


def test_a_second_create_with_the_same_transaction_id_returns_the_first(graph: httpx.Client):
    first = graph.post(f"{USER}/events", json={**EVENT, "transactionId": "tx-1"}).json()
    second = graph.post(f"{USER}/events", json={**EVENT, "transactionId": "tx-1"}).json()
    assert second["id"] == first["id"]
    assert first["transactionId"] == "tx-1"
    assert len(graph.get(f"{USER}/events").json()["value"]) == 1


def test_bodies_as_text_when_preferred(graph: httpx.Client):
    event = graph.post(f"{USER}/events", json=EVENT).json()
    assert event["body"]["contentType"] == "html"
    text = graph.get(f"{USER}/events/{event['id']}", headers={"Prefer": 'outlook.body-content-type="text"'})
    assert text.json()["body"] == {"contentType": "text", "content": "Bring clubs"}
    assert text.headers["Preference-Applied"] == 'outlook.body-content-type="text"'


def test_calendars_list_and_create_by_name(graph: httpx.Client):
    names = [c["name"] for c in graph.get(f"{USER}/calendars").json()["value"]]
    assert names == ["Calendar"]
    made = graph.post(f"{USER}/calendars", json={"name": "Trainer Tom"})
    assert made.status_code == 201
    assert graph.post(f"{USER}/calendars", json={"name": "trainer tom"}).status_code == 409
    cal_id = made.json()["id"]
    event = graph.post(f"{USER}/calendars/{cal_id}/events", json=EVENT)
    assert event.status_code == 201
    assert [e["id"] for e in graph.get(f"{USER}/calendars/{cal_id}/events").json()["value"]] == [event.json()["id"]]
    assert graph.get(f"{USER}/calendar/events").json()["value"] == []


def view(graph: httpx.Client, url: str, **params: str) -> tuple[list[dict], str]:
    """All pages of a delta round: its entries and its deltaLink."""
    entries: list[dict] = []
    answer = graph.get(url, params=params or None, headers={"Prefer": "odata.maxpagesize=2"}).json()
    while True:
        entries.extend(answer["value"])
        if "@odata.deltaLink" in answer:
            return entries, answer["@odata.deltaLink"]
        answer = graph.get(answer["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()


def test_calendar_view_delta_pages_changes_removals_and_a_forgotten_token(online: EmulatorServer, graph: httpx.Client):
    made = [
        graph.post(
            f"{USER}/events",
            json={
                **EVENT,
                "subject": f"E{n}",
                "start": {"dateTime": f"2026-05-0{n}T10:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"2026-05-0{n}T11:00:00", "timeZone": "UTC"},
            },
        ).json()
        for n in range(1, 6)
    ]
    window = {"startDateTime": "2026-05-01T00:00:00Z", "endDateTime": "2026-05-04T00:00:00Z"}
    entries, delta_link = view(graph, f"{USER}/calendarView/delta", **window)
    assert sorted(e["subject"] for e in entries) == ["E1", "E2", "E3"]
    assert view(graph, delta_link)[0] == []
    graph.patch(f"{USER}/events/{made[1]['id']}", json={"subject": "E2b"})
    graph.delete(f"{USER}/events/{made[2]['id']}")
    entries, delta_link = view(graph, delta_link)
    assert [e.get("subject") for e in entries if "@removed" not in e] == ["E2b"]
    assert [e["id"] for e in entries if "@removed" in e] == [made[2]["id"]]
    assert entries[-1]["@removed"] == {"reason": "deleted"}
    online_forget = graph.post(f"{online.base_url}/emulator/graph/forget-delta-tokens")
    assert online_forget.status_code == 200
    expired = graph.get(delta_link)
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "syncStateNotFound"
    assert graph.get(f"{USER}/calendarView/delta", params={"$deltatoken": "never-issued"}).status_code == 410


def test_calendar_view_expands_a_series_and_instances(online: EmulatorServer, graph: httpx.Client):
    from exchangelib.recurrence import DailyPattern, Recurrence

    account = make_account(online, *ANNA, default_timezone=EWSTimeZone("Europe/Berlin"))
    tz = EWSTimeZone("Europe/Berlin")
    series = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Course",
        start=EWSDateTime(2026, 7, 1, 18, tzinfo=tz),
        end=EWSDateTime(2026, 7, 1, 19, tzinfo=tz),
        recurrence=Recurrence(pattern=DailyPattern(interval=1), start=dt.date(2026, 7, 1), number=3),
    )
    series.save()
    window = {"startDateTime": "2026-06-30T00:00:00Z", "endDateTime": "2026-07-10T00:00:00Z"}
    shown = graph.get(f"{USER}/calendarView", params=window).json()["value"]
    assert [(e["type"], e["start"]["dateTime"][:16]) for e in shown] == [
        ("occurrence", "2026-07-01T16:00"),
        ("occurrence", "2026-07-02T16:00"),
        ("occurrence", "2026-07-03T16:00"),
    ]
    master_id = shown[0]["seriesMasterId"]
    master = graph.get(f"{USER}/events/{master_id}").json()
    assert master["type"] == "seriesMaster"
    instances = graph.get(f"{USER}/events/{master_id}/instances", params=window).json()["value"]
    assert [i["id"] for i in instances] == [e["id"] for e in shown]
    occurrence = graph.get(f"{USER}/events/{shown[1]['id']}").json()
    assert occurrence["start"]["dateTime"].startswith("2026-07-02T16:00")


def test_contacts_create_update_delete_and_delta(graph: httpx.Client):
    folders = graph.get(f"{USER}/contactFolders").json()["value"]
    assert [f["displayName"] for f in folders] == ["Contacts"]
    folder_id = folders[0]["id"]
    entries, delta_link = view(graph, f"{USER}/contactFolders/{folder_id}/contacts/delta")
    assert entries == []
    made = graph.post(
        f"{USER}/contacts",
        json={
            "givenName": "Pavel",
            "surname": "Bansky",
            "emailAddresses": [{"address": "pavelb@contoso.com", "name": "Pavel Bansky"}],
            "businessPhones": ["+1 732 555 0102"],
            "homeAddress": {"city": "Seattle"},
            "singleValueExtendedProperties": [{"id": SYNC_ID, "value": "person-4"}],
        },
    )
    assert made.status_code == 201, made.text
    contact = made.json()
    assert contact["displayName"] == "Pavel Bansky"
    assert contact["emailAddresses"] == [{"name": "pavelb@contoso.com", "address": "pavelb@contoso.com"}]
    assert contact["homeAddress"] == {"city": "Seattle"}
    patched = graph.patch(f"{USER}/contacts/{contact['id']}", json={"birthday": "1974-07-22", "mobilePhone": "0171"})
    assert patched.json()["birthday"].startswith("1974-07-22")
    assert patched.json()["businessPhones"] == ["+1 732 555 0102"]
    entries, delta_link = view(graph, delta_link)
    assert [e["id"] for e in entries] == [contact["id"]]
    assert graph.delete(f"{USER}/contacts/{contact['id']}").status_code == 204
    entries, _ = view(graph, delta_link)
    assert entries == [
        {"@odata.type": "#microsoft.graph.contact", "id": contact["id"], "@removed": {"reason": "deleted"}}
    ]


def test_batch_answers_each_request_on_its_own(graph: httpx.Client):
    made = graph.post(
        "/$batch",
        json={
            "requests": [
                {
                    "id": str(n),
                    "method": "POST",
                    "url": f"{USER}/events",
                    "body": {**EVENT, "subject": f"B{n}"},
                    "headers": {"Content-Type": "application/json"},
                }
                for n in range(1, 4)
            ]
            + [
                {"id": "4", "method": "GET", "url": "users/nobody@club.example/events"},
                {"id": "5", "method": "GET", "url": f"{USER}/events", "dependsOn": ["1", "2", "3"]},
            ]
        },
    )
    assert made.status_code == 200
    answers = {a["id"]: a for a in made.json()["responses"]}
    assert [answers[str(n)]["status"] for n in range(1, 6)] == [201, 201, 201, 404, 200]
    assert answers["4"]["body"]["error"]["code"] == "ErrorInvalidUser"
    assert len(answers["5"]["body"]["value"]) == 3
    too_many = graph.post(
        "/$batch", json={"requests": [{"id": str(n), "method": "GET", "url": f"{USER}/events"} for n in range(21)]}
    )
    assert too_many.status_code == 400


def test_tokens_and_reach(online: EmulatorServer, graph: httpx.Client):
    with httpx.Client(base_url=f"{online.base_url}/v1.0", verify=_verify(online)) as bare:
        missing = bare.get(f"{USER}/events")
        outlook = bare.get(
            f"{USER}/events",
            headers={"Authorization": f"Bearer {token(online, 'https://outlook.office365.com/.default')}"},
        )
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert outlook.status_code == 401
    assert outlook.json()["error"]["message"] == "Invalid audience."
    graph.post(
        f"{online.base_url}/emulator/apps/scope", json={"tenant": TENANT, "client_id": CLIENT, "mailboxes": [BOB[0]]}
    )
    denied = graph.get(f"{USER}/events")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "ErrorAccessDenied"
    assert graph.get(f"/users/{BOB[0]}/events").status_code == 200
    graph.post(f"{online.base_url}/emulator/tokens/expire")
    expired = graph.get(f"/users/{BOB[0]}/events")
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]


def test_throttling_429_with_retry_after_and_503(online: EmulatorServer, graph: httpx.Client):
    online.add_fault("throttled", count=1, retry_after=2.128, mailboxes=(ANNA[0],))
    throttled = graph.get(f"{USER}/events")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2.128"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert graph.get(f"{USER}/events").status_code == 200
    online.add_fault("http_503", count=1, retry_after=5)
    busy = graph.get(f"/users/{BOB[0]}/events")
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "5")
    assert busy.json()["error"]["code"] == "ServiceUnavailable"


def test_errors_in_graph_shape(graph: httpx.Client):
    me = graph.get("/me/events")
    assert me.status_code == 400
    assert "delegated" in me.json()["error"]["message"]
    unknown = graph.get("/users/carl@club.example/events")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "ErrorInvalidUser")
    malformed = graph.get(f"{USER}/events/not-an-id")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "ErrorInvalidIdMalformed")
    not_json = graph.post(f"{USER}/events", content=b"{subject", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    bad_field = graph.post(f"{USER}/events", json={**EVENT, "colour": "red"})
    assert (bad_field.status_code, bad_field.json()["error"]["code"]) == (400, "RequestBodyRead")
    bad_zone = graph.post(
        f"{USER}/events", json={**EVENT, "start": {"dateTime": "2026-05-01T10:00:00", "timeZone": "Mars"}}
    )
    assert bad_zone.status_code == 400
    assert graph.get(f"{USER}/events").json()["value"] == []  # nothing made by the refused requests


def test_a_delta_of_a_deleted_folder_needs_a_resync(online: EmulatorServer, graph: httpx.Client):
    folder = graph.post(f"{USER}/contactFolders", json={"displayName": "Members"}).json()
    _entries, delta_link = view(graph, f"{USER}/contactFolders/{folder['id']}/contacts/delta")
    assert graph.delete(f"{USER}/contactFolders/{folder['id']}").status_code == 204
    gone = graph.get(delta_link)
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "resyncRequired")


def test_a_contact_patch_with_a_stale_etag_is_412(graph: httpx.Client):
    contact = graph.post(f"{USER}/contacts", json={"givenName": "Ann"}).json()
    graph.patch(f"{USER}/contacts/{contact['id']}", json={"surname": "Lee"})
    stale = graph.patch(
        f"{USER}/contacts/{contact['id']}", json={"surname": "Old"}, headers={"If-Match": contact["@odata.etag"]}
    )
    assert stale.status_code == 412
    assert graph.get(f"{USER}/contacts/{contact['id']}").json()["surname"] == "Lee"


def test_lists_page_with_a_next_link_to_the_same_collection(graph: httpx.Client):
    calendar = graph.post(f"{USER}/calendars", json={"name": "Range"}).json()
    for n in range(3):
        graph.post(f"{USER}/calendars/{calendar['id']}/events", json={**EVENT, "subject": f"R{n}"})
    graph.post(f"{USER}/events", json={**EVENT, "subject": "elsewhere"})
    first = graph.get(f"{USER}/calendars/{calendar['id']}/events", params={"$top": "2"}).json()
    assert len(first["value"]) == 2
    rest = graph.get(first["@odata.nextLink"]).json()
    assert "@odata.nextLink" not in rest
    assert sorted(e["subject"] for e in first["value"] + rest["value"]) == ["R0", "R1", "R2"]


def test_a_series_made_through_graph(online: EmulatorServer, graph: httpx.Client):
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Monday", "Wednesday"]},
        "range": {"type": "numbered", "startDate": "2026-06-01", "numberOfOccurrences": 4},
    }
    series = graph.post(
        f"{USER}/events",
        json={
            **EVENT,
            "start": {"dateTime": "2026-06-01T18:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-01T19:00:00", "timeZone": "UTC"},
            "recurrence": weekly,
        },
    )
    assert series.status_code == 201, series.text
    assert series.json()["type"] == "seriesMaster"
    assert series.json()["recurrence"]["pattern"]["daysOfWeek"] == ["monday", "wednesday"]
    assert series.json()["recurrence"]["range"]["numberOfOccurrences"] == 4
    window = {"startDateTime": "2026-06-01T00:00:00Z", "endDateTime": "2026-07-01T00:00:00Z"}
    days = [e["start"]["dateTime"][:10] for e in graph.get(f"{USER}/calendarView", params=window).json()["value"]]
    assert days == ["2026-06-01", "2026-06-03", "2026-06-08", "2026-06-10"]
    account = make_account(online, *ANNA, default_timezone=EWSTimeZone("UTC"))
    [item] = list(account.calendar.all())
    assert item.type == "RecurringMaster"
    assert item.recurrence.boundary.number == 4
    bad = graph.post(f"{USER}/events", json={**EVENT, "recurrence": {"pattern": {"type": "hourly"}, "range": {}}})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "ErrorInvalidRecurrence")


def _native_body(graph: httpx.Client, path: str) -> list[dict[str, str]]:
    answer = graph.get(
        path,
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{NATIVE_BODY}')"},
        headers={"Prefer": 'outlook.body-content-type="text"'},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json().get("body", {"contentType": "text"})["contentType"] == "text"  # a contact has notes
    return answer.json()["singleValueExtendedProperties"]


def test_the_native_body_tells_a_formatted_body_read_as_text(online: EmulatorServer, graph: httpx.Client):
    event = graph.post(f"{USER}/events", json=EVENT).json()
    path = f"{USER}/events/{event['id']}"
    assert _native_body(graph, path) == [{"id": NATIVE_BODY, "value": "3"}]
    both = graph.get(
        path, params={"$expand": f"singleValueExtendedProperties($filter=id eq '{NATIVE_BODY}' or id eq '{SYNC_ID}')"}
    )
    assert both.json()["singleValueExtendedProperties"] == [
        {"id": SYNC_ID, "value": "caddie-17"},
        {"id": NATIVE_BODY, "value": "3"},
    ]
    own = graph.get(path, params={"$expand": "singleValueExtendedProperties"}).json()
    assert own["singleValueExtendedProperties"] == [{"id": SYNC_ID, "value": "caddie-17"}]  # computed: named only

    written = graph.patch(
        path,
        json={
            "body": {"contentType": "text", "content": "Plain now"},
            "singleValueExtendedProperties": [{"id": NATIVE_BODY, "value": "3"}],  # the store's to say, not ours
        },
        headers={"If-Match": event["@odata.etag"]},
    )
    assert written.status_code == 200, written.text
    assert _native_body(graph, path) == [{"id": NATIVE_BODY, "value": "1"}]

    bare = graph.post(f"{USER}/events", json={k: v for k, v in EVENT.items() if k != "body"}).json()
    assert _native_body(graph, f"{USER}/events/{bare['id']}") == [{"id": NATIVE_BODY, "value": "0"}]  # no body

    contact = graph.post(f"{USER}/contacts", json={"givenName": "Max", "personalNotes": "Left-handed"}).json()
    assert _native_body(graph, f"{USER}/contacts/{contact['id']}") == [{"id": NATIVE_BODY, "value": "1"}]


def test_ews_answers_the_native_body_by_its_property_tag(online: EmulatorServer, graph: httpx.Client):
    CalendarItem.register("native_body", NativeBody)
    try:
        account = make_account(online, *ANNA, default_timezone=EWSTimeZone("Europe/Berlin"))
        tz = EWSTimeZone("Europe/Berlin")
        times = {"start": EWSDateTime(2026, 6, 1, 9, tzinfo=tz), "end": EWSDateTime(2026, 6, 1, 10, tzinfo=tz)}
        formatted = CalendarItem(
            folder=account.calendar, subject="Formatted", body=HTMLBody("<p><b>Bring</b> clubs</p>"), **times
        )
        plain = CalendarItem(folder=account.calendar, subject="Plain", body="Bring clubs", **times)
        formatted.save()
        plain.save()
        read = {i.subject: i.native_body for i in account.calendar.all().only("subject", "native_body")}
        assert read == {"Formatted": 3, "Plain": 1}
        (fetched,) = account.fetch(ids=[formatted], only_fields=["native_body"])
        assert fetched.native_body == 3
    finally:
        CalendarItem.deregister("native_body")
    found = {e["subject"]: e["id"] for e in graph.get(f"{USER}/events").json()["value"]}
    assert _native_body(graph, f"{USER}/events/{found['Formatted']}") == [{"id": NATIVE_BODY, "value": "3"}]


def test_contact_folders_are_top_level_and_sub_folders_their_child_folders(graph: httpx.Client):
    """As Graph: /contactFolders lists the top-level contact folders (the Contacts folder), a
    sub-folder is among its folder's childFolders only, and POST childFolders makes one there."""
    (contacts,) = graph.get(f"{USER}/contactFolders").json()["value"]
    assert contacts["displayName"] == "Contacts"
    members = graph.post(f"{USER}/contactFolders", json={"displayName": "Members"})  # under Contacts
    assert members.status_code == 201 and members.json()["parentFolderId"] == contacts["id"]
    juniors = graph.post(f"{USER}/contactFolders/{members.json()['id']}/childFolders", json={"displayName": "Juniors"})
    assert juniors.status_code == 201 and juniors.json()["parentFolderId"] == members.json()["id"]
    staff = graph.post(f"{USER}/contactFolders", json={"parentFolderId": contacts["id"], "displayName": "Staff"})
    assert staff.status_code == 201 and staff.json()["parentFolderId"] == contacts["id"]

    assert [f["displayName"] for f in graph.get(f"{USER}/contactFolders").json()["value"]] == ["Contacts"]
    children = graph.get(f"{USER}/contactFolders/{contacts['id']}/childFolders").json()
    assert sorted(f["displayName"] for f in children["value"]) == ["Members", "Staff"]
    assert children["@odata.context"].endswith(f"/contactFolders('{contacts['id']}')/childFolders")
    below = graph.get(f"{USER}/contactFolders/{members.json()['id']}/childFolders").json()["value"]
    assert [(f["displayName"], f["parentFolderId"]) for f in below] == [("Juniors", members.json()["id"])]
    again = graph.post(f"{USER}/contactFolders/{contacts['id']}/childFolders", json={"displayName": "members"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ErrorFolderExists")
    # a contact made in the grandchild folder is there, and in no other
    made = graph.post(f"{USER}/contactFolders/{juniors.json()['id']}/contacts", json={"givenName": "Tim"})
    assert made.status_code == 201
    assert [
        c["givenName"] for c in graph.get(f"{USER}/contactFolders/{juniors.json()['id']}/contacts").json()["value"]
    ] == ["Tim"]
    assert graph.get(f"{USER}/contactFolders/{members.json()['id']}/contacts").json()["value"] == []
