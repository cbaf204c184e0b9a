"""Recurring series as Exchange serves them, through plain exchangelib and plain Graph calls on the
same store: exceptions and deleted occurrences kept in the master, the master's own fields, a
series edited after an exception, DST, range dates with an offset, the calendar view's boundary,
and what synchronisation (SyncFolderItems, calendarView delta) reports."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.errors import (
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
    ErrorInvalidOperation,
    ErrorOccurrenceCrossingBoundary,
)
from exchangelib.fields import MONDAY
from exchangelib.items import SEND_TO_NONE
from exchangelib.recurrence import DailyPattern, NoEndPattern, Recurrence, WeeklyPattern

from exchange_standin import EmulatorServer
from exchange_standin.identity import AppSpec

from .conftest import ANNA, BOB, NS, envelope, make_account, parse, post, response_codes
from .test_graph import CLIENT, SECRET, TENANT, USER, token

BERLIN = EWSTimeZone("Europe/Berlin")


def berlin(*args) -> EWSDateTime:
    return EWSDateTime(*args, tzinfo=BERLIN)


def weekly_training(account, number: int | None = 4, first: EWSDate = EWSDate(2026, 1, 5)) -> CalendarItem:
    """A weekly Monday training at 18:00-19:30 Berlin time from `first` (a Monday)."""
    start = berlin(first.year, first.month, first.day, 18)
    boundary = {"number": number} if number is not None else {}
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Junior training",
        location="Range",
        start=start,
        end=start + dt.timedelta(minutes=90),
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[MONDAY]), start=first, **boundary),
    )
    item.save(send_meeting_invitations=SEND_TO_NONE)
    return item


def in_view(account, start: EWSDateTime, end: EWSDateTime) -> list[CalendarItem]:
    return list(account.calendar.view(start=start, end=end))


JANUARY = (berlin(2026, 1, 1), berlin(2026, 2, 1))


def test_a_changed_occurrence_becomes_an_exception_of_its_master(account):
    master = weekly_training(account)
    second = in_view(account, *JANUARY)[1]
    assert (second.type, second.is_recurring, second.recurrence) == ("Occurrence", True, None)
    second.subject = "Junior training (hall)"
    second.start += dt.timedelta(hours=1)
    second.end += dt.timedelta(hours=1)
    second.save()

    master.refresh()
    assert (master.type, master.is_recurring) == ("RecurringMaster", False)  # as Exchange: False on a master
    [modified] = master.modified_occurrences
    assert modified.id == second.id
    assert modified.start == berlin(2026, 1, 12, 19) and modified.original_start == berlin(2026, 1, 12, 18)
    assert master.deleted_occurrences is None
    assert master.subject == "Junior training"
    shown = in_view(account, *JANUARY)
    assert [(o.type, o.subject, o.start.astimezone(BERLIN).hour) for o in shown] == [
        ("Occurrence", "Junior training", 18),
        ("Exception", "Junior training (hall)", 19),
        ("Occurrence", "Junior training", 18),
        ("Occurrence", "Junior training", 18),
    ]
    got = account.calendar.get(id=second.id)
    assert (got.type, got.subject, got.original_start) == (
        "Exception",
        "Junior training (hall)",
        berlin(2026, 1, 12, 18),
    )
    assert got.recurring_master().refresh().id == master.id


def test_an_occurrence_changed_by_index_and_then_by_its_own_id(account):
    master = weekly_training(account)
    third = master.occurrence(index=3)
    third.refresh()
    assert (third.type, third.start) == ("Occurrence", berlin(2026, 1, 19, 18))
    third.location = "Hall"
    third.save(update_fields=["location"])
    again = account.calendar.get(id=third.id)
    again.end += dt.timedelta(minutes=30)
    again.save(update_fields=["end"])
    master.refresh()
    [modified] = master.modified_occurrences
    assert modified.end == berlin(2026, 1, 19, 20)
    got = account.calendar.get(id=third.id)
    assert (got.type, got.location, got.end) == ("Exception", "Hall", berlin(2026, 1, 19, 20))


def test_a_deleted_occurrence_stays_in_the_master_and_leaves_the_view(account):
    master = weekly_training(account)
    first_id = master.occurrence(index=1).refresh().id
    master.occurrence(index=3).delete(send_meeting_cancellations=SEND_TO_NONE)
    in_view(account, *JANUARY)[0].delete(send_meeting_cancellations=SEND_TO_NONE)

    master.refresh()
    assert master.modified_occurrences is None
    assert [d.start for d in master.deleted_occurrences] == [berlin(2026, 1, 5, 18), berlin(2026, 1, 19, 18)]
    assert master.first_occurrence.start == berlin(2026, 1, 12, 18)  # the first one left
    assert master.last_occurrence.start == berlin(2026, 1, 26, 18)
    assert [o.start.astimezone(BERLIN).day for o in in_view(account, *JANUARY)] == [12, 26]
    with pytest.raises(ErrorCalendarOccurrenceIsDeletedFromRecurrence):
        account.calendar.get(id=first_id)


def test_the_master_names_its_first_and_last_occurrence(account):
    master = weekly_training(account)
    master.refresh()
    shown = in_view(account, *JANUARY)
    assert (master.first_occurrence.id, master.first_occurrence.start) == (shown[0].id, berlin(2026, 1, 5, 18))
    assert (master.last_occurrence.id, master.last_occurrence.end) == (shown[3].id, berlin(2026, 1, 26, 19, 30))
    assert master.recurrence.boundary.start == EWSDate(2026, 1, 5)  # a date, as exchangelib reads Exchange's
    endless = weekly_training(account, number=None)
    endless.refresh()
    assert isinstance(endless.recurrence.boundary, NoEndPattern)
    assert endless.first_occurrence.start == berlin(2026, 1, 5, 18) and endless.last_occurrence is None


def test_a_series_edited_after_an_exception(account):
    master = weekly_training(account)
    shown = in_view(account, *JANUARY)
    shown[1].subject = "Moved training"
    shown[1].save(update_fields=["subject"])
    shown[2].start += dt.timedelta(hours=1)
    shown[2].end += dt.timedelta(hours=1)
    shown[2].save(update_fields=["start", "end"])
    shown[3].delete(send_meeting_cancellations=SEND_TO_NONE)

    master.refresh()
    master.location = "Hall"
    master.subject = "Training"
    master.save(update_fields=["location", "subject"])
    # what an exception changed stays; the rest follows the series
    assert [(o.type, o.subject, o.location, o.start.astimezone(BERLIN).hour) for o in in_view(account, *JANUARY)] == [
        ("Occurrence", "Training", "Hall", 18),
        ("Exception", "Moved training", "Hall", 18),
        ("Exception", "Training", "Hall", 19),
    ]
    master.refresh()
    assert len(master.modified_occurrences) == 2 and len(master.deleted_occurrences) == 1
    master.save()  # every field sent again, pattern and time unchanged: the exceptions stay
    master.refresh()
    assert len(master.modified_occurrences) == 2 and len(master.deleted_occurrences) == 1

    # a new pattern or time of the series drops its exceptions and deleted occurrences, as in Exchange
    master.recurrence = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[MONDAY]), start=EWSDate(2026, 1, 5), number=3
    )
    master.save(update_fields=["recurrence"])
    master.refresh()
    assert master.modified_occurrences is None and master.deleted_occurrences is None
    assert [(o.type, o.subject) for o in in_view(account, *JANUARY)] == [("Occurrence", "Training")] * 3


def test_occurrences_keep_their_wall_time_across_dst(account):
    weekly_training(account, number=6, first=EWSDate(2026, 3, 16))  # Berlin goes to summer time on 29 March
    shown = in_view(account, berlin(2026, 3, 1), berlin(2026, 5, 1))
    assert [o.start.astimezone(BERLIN).strftime("%m-%d %H:%M") for o in shown] == [
        "03-16 18:00",
        "03-23 18:00",
        "03-30 18:00",
        "04-06 18:00",
        "04-13 18:00",
        "04-20 18:00",
    ]
    assert [o.start.hour for o in shown] == [17, 17, 16, 16, 16, 16]  # UTC


def _create_series(start_date: str, end_date: str) -> bytes:
    return envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        "<t:Subject>Staff meeting</t:Subject>"
        "<t:Start>2026-01-05T08:00:00</t:Start><t:End>2026-01-05T09:00:00</t:End>"
        "<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek>"
        f"</t:WeeklyRecurrence><t:EndDateRecurrence><t:StartDate>{start_date}</t:StartDate>"
        f"<t:EndDate>{end_date}</t:EndDate></t:EndDateRecurrence></t:Recurrence>"
        '<t:StartTimeZone Id="W. Europe Standard Time"/><t:EndTimeZone Id="W. Europe Standard Time"/>'
        "</t:CalendarItem></m:Items></m:CreateItem>",
        '<t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/></t:TimeZoneContext>',
    )


@pytest.mark.parametrize(
    "start_date,end_date", [("2026-01-05+01:00", "2026-01-19+01:00"), ("2026-01-05", "2026-01-19Z")]
)
def test_range_dates_with_or_without_an_offset(emulator, account, start_date, end_date):
    answer = post(emulator, _create_series(start_date, end_date))
    assert response_codes(answer) == ["NoError"]
    item_id = parse(answer).find(".//t:ItemId", NS).get("Id")
    got = parse(
        post(
            emulator,
            envelope(
                "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                '<t:FieldURI FieldURI="calendar:Recurrence"/></t:AdditionalProperties></m:ItemShape>'
                f'<m:ItemIds><t:ItemId Id="{item_id}"/></m:ItemIds></m:GetItem>'
            ),
        )
    )
    # as Exchange writes them: the series' dates with its zone's offset
    assert got.findtext(".//t:StartDate", namespaces=NS) == "2026-01-05+01:00"
    assert got.findtext(".//t:EndDate", namespaces=NS) == "2026-01-19+01:00"
    shown = in_view(account, *JANUARY)
    assert [o.start.astimezone(BERLIN).strftime("%d %H:%M") for o in shown] == ["05 08:00", "12 08:00", "19 08:00"]


def test_the_calendar_view_boundary_and_no_restriction(account):
    early = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Early",
        start=berlin(2026, 6, 1, 8),
        end=berlin(2026, 6, 1, 10),
    )
    late = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Late",
        start=berlin(2026, 6, 1, 12),
        end=berlin(2026, 6, 1, 13),
    )
    account.bulk_create(folder=account.calendar, items=[early, late])
    # Exchange's rule: an item is in [start, end] if it starts before the end and does not end before the start
    assert [i.subject for i in in_view(account, early.end, late.start)] == ["Early"]
    assert [i.subject for i in in_view(account, early.start, late.start)] == ["Early"]
    assert [i.subject for i in in_view(account, early.start, late.end)] == ["Early", "Late"]
    assert [i.subject for i in in_view(account, late.end, berlin(2026, 6, 2))] == ["Late"]
    with pytest.raises(ErrorInvalidOperation):
        account.calendar.view(start=early.start, end=late.end).filter(subject="Early").count()


def test_move_or_copy_of_an_occurrence_is_refused(emulator, account):
    weekly_training(account)
    occurrence_id = in_view(account, *JANUARY)[0].id
    answer = post(
        emulator,
        envelope(
            '<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="deleteditems"/></m:ToFolderId>'
            f'<m:ItemIds><t:ItemId Id="{occurrence_id}"/></m:ItemIds></m:MoveItem>'
        ),
    )
    assert response_codes(answer) == ["ErrorCalendarCannotMoveOrCopyOccurrence"]


def test_sync_reports_the_master_when_an_occurrence_changes(account):
    master = weekly_training(account)
    folder = account.calendar
    assert [(kind, item.id) for kind, item in folder.sync_items()] == [("create", master.id)]
    assert list(folder.sync_items()) == []
    occurrence = in_view(account, *JANUARY)[1]
    occurrence.subject = "Hall"
    occurrence.save(update_fields=["subject"])
    [(kind, item)] = list(folder.sync_items())
    assert kind == "update" and item.id == master.id and item.type == "RecurringMaster"
    assert item.changekey != master.changekey
    in_view(account, *JANUARY)[2].delete(send_meeting_cancellations=SEND_TO_NONE)
    [(kind, item)] = list(folder.sync_items())
    assert kind == "update" and item.id == master.id
    assert len(item.modified_occurrences) == 1 and len(item.deleted_occurrences) == 1


# Graph over the same store -------------------------------------------------------------------


@pytest.fixture
def online():
    server = EmulatorServer(mailboxes=[ANNA, BOB], apps=[AppSpec(TENANT, CLIENT, SECRET)]).start()
    yield server
    server.stop()


@pytest.fixture
def graph(online: EmulatorServer):
    with httpx.Client(
        base_url=f"{online.base_url}/v1.0", headers={"Authorization": f"Bearer {token(online)}"}
    ) as session:
        yield session


WINDOW = {"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2026-02-01T00:00:00Z"}


def _delta(graph: httpx.Client, url: str, **params: str) -> tuple[list[dict], str]:
    entries: list[dict] = []
    answer = graph.get(url, params=params or None).json()
    while "@odata.deltaLink" not in answer:
        entries.extend(answer["value"])
        answer = graph.get(answer["@odata.nextLink"]).json()
    return entries + answer["value"], answer["@odata.deltaLink"]


def test_graph_changes_and_deletes_occurrences_of_a_series(online: EmulatorServer, graph: httpx.Client):
    account = make_account(online, *ANNA, default_timezone=BERLIN)
    master = weekly_training(account)
    first_round, delta_link = _delta(graph, f"{USER}/calendarView/delta", **WINDOW)
    assert [e["type"] for e in first_round] == ["occurrence"] * 4
    shown = graph.get(f"{USER}/calendarView", params=WINDOW).json()["value"]
    assert {e["seriesMasterId"] for e in shown} == {
        graph.get(f"{USER}/events/{shown[0]['seriesMasterId']}").json()["id"]
    }

    changed = graph.patch(
        f"{USER}/events/{shown[1]['id']}",
        json={
            "subject": "Hall training",
            "start": {"dateTime": "2026-01-12T19:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2026-01-12T20:30:00", "timeZone": "W. Europe Standard Time"},
        },
    )
    assert changed.status_code == 200
    assert (changed.json()["type"], changed.json()["id"]) == ("exception", shown[1]["id"])
    assert changed.json()["originalStart"] == "2026-01-12T17:00:00Z"
    assert graph.delete(f"{USER}/events/{shown[2]['id']}").status_code == 204
    assert graph.get(f"{USER}/events/{shown[2]['id']}").status_code == 404

    instances = graph.get(f"{USER}/events/{shown[0]['seriesMasterId']}/instances", params=WINDOW).json()["value"]
    assert [(e["type"], e["subject"], e["start"]["dateTime"][:16]) for e in instances] == [
        ("occurrence", "Junior training", "2026-01-05T17:00"),
        ("exception", "Hall training", "2026-01-12T18:00"),
        ("occurrence", "Junior training", "2026-01-26T17:00"),
    ]
    # the delta reports the exception and the deleted occurrence, not the occurrences that stayed
    changes, _link = _delta(graph, delta_link)
    assert sorted((e["id"], e.get("type") or "@removed" * ("@removed" in e)) for e in changes) == sorted(
        [(shown[1]["id"], "exception"), (shown[2]["id"], "@removed")]
    )
    # and EWS sees the same series
    master.refresh()
    assert [o.original_start for o in master.modified_occurrences] == [berlin(2026, 1, 12, 18)]
    assert [d.start for d in master.deleted_occurrences] == [berlin(2026, 1, 19, 18)]
    assert graph.patch(f"{USER}/events/{shown[0]['id']}", json={"recurrence": {"pattern": {}}}).status_code == 400


def test_daily_series_through_graph_keeps_its_exceptions_until_its_pattern_changes(online, graph):
    account = make_account(online, *ANNA, default_timezone=BERLIN)
    start = berlin(2026, 1, 5, 7)
    CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Greenkeeper round",
        start=start,
        end=start + dt.timedelta(hours=1),
        recurrence=Recurrence(pattern=DailyPattern(interval=1), start=EWSDate(2026, 1, 5), number=3),
    ).save(send_meeting_invitations=SEND_TO_NONE)
    shown = graph.get(f"{USER}/calendarView", params=WINDOW).json()["value"]
    graph.patch(f"{USER}/events/{shown[0]['id']}", json={"subject": "First round"})
    master_id = shown[0]["seriesMasterId"]
    graph.patch(f"{USER}/events/{master_id}", json={"location": {"displayName": "Course"}})
    after = graph.get(f"{USER}/calendarView", params=WINDOW).json()["value"]
    assert [(e["type"], e["subject"], e["location"]["displayName"]) for e in after] == [
        ("exception", "First round", "Course"),
        ("occurrence", "Greenkeeper round", "Course"),
        ("occurrence", "Greenkeeper round", "Course"),
    ]
    master = graph.get(f"{USER}/events/{master_id}").json()
    recurrence = master["recurrence"] | {"range": master["recurrence"]["range"] | {"numberOfOccurrences": 2}}
    assert graph.patch(f"{USER}/events/{master_id}", json={"recurrence": recurrence}).status_code == 200
    after = graph.get(f"{USER}/calendarView", params=WINDOW).json()["value"]
    assert [(e["type"], e["subject"]) for e in after] == [("occurrence", "Greenkeeper round")] * 2


def test_an_occurrence_cannot_be_moved_onto_or_past_its_neighbours(online: EmulatorServer, graph: httpx.Client):
    account = make_account(online, *ANNA, default_timezone=BERLIN)
    weekly_training(account)
    shown = in_view(account, *JANUARY)
    shown[1].start, shown[1].end = berlin(2026, 1, 19, 18), berlin(2026, 1, 19, 19)  # onto the third
    with pytest.raises(ErrorOccurrenceCrossingBoundary):
        shown[1].save(update_fields=["start", "end"])
    shown[1].start, shown[1].end = berlin(2026, 1, 18, 18), berlin(2026, 1, 18, 19)  # the day before it: fine
    shown[1].save(update_fields=["start", "end"])
    events = graph.get(f"{USER}/calendarView", params=WINDOW).json()["value"]
    moved = graph.patch(
        f"{USER}/events/{events[2]['id']}",
        json={"start": {"dateTime": "2026-01-18T12:00:00", "timeZone": "W. Europe Standard Time"}},
    )  # before the second, which now starts on the 18th at 18:00
    assert (moved.status_code, moved.json()["error"]["code"]) == (400, "ErrorOccurrenceCrossingBoundary")
    in_view(account, *JANUARY)[1].delete(send_meeting_cancellations=SEND_TO_NONE)  # a deleted one is no neighbour
    assert (
        graph.patch(
            f"{USER}/events/{events[2]['id']}",
            json={
                "start": {"dateTime": "2026-01-13T12:00:00", "timeZone": "W. Europe Standard Time"},
                "end": {"dateTime": "2026-01-13T13:00:00", "timeZone": "W. Europe Standard Time"},
            },
        ).status_code
        == 200
    )
    assert [o.start.astimezone(BERLIN).day for o in in_view(account, *JANUARY)] == [5, 13, 26]


def test_an_exception_has_extended_properties_of_its_own(emulator: EmulatorServer, account, caddie_id):
    master = weekly_training(account)
    master.caddie_id = "series-1"
    master.save(update_fields=["caddie_id"])
    second = in_view(account, *JANUARY)[1]
    assert second.caddie_id == "series-1"  # an occurrence has its series' properties
    second.caddie_id = "appointment-2"
    second.save(update_fields=["caddie_id"])
    assert [o.caddie_id for o in in_view(account, *JANUARY)] == ["series-1", "appointment-2", "series-1", "series-1"]
    master.refresh()
    assert master.caddie_id == "series-1"
    in_view(account, *JANUARY)[3].delete(send_meeting_cancellations=SEND_TO_NONE)
    [state] = [i for i in emulator.state()["mailboxes"][0]["items"] if i["id"] == master.id]
    assert (state["exceptions"], state["deleted_occurrences"]) == ([2], [4])
