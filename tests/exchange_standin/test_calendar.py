"""Calendar items through exchangelib: fields, time zones, updates and conflicts, bulk operations."""

from __future__ import annotations

import datetime as dt

import pytest
from exchangelib import Body, CalendarItem, EWSDate, EWSDateTime, EWSTimeZone, HTMLBody
from exchangelib.errors import ErrorIrresolvableConflict, ErrorItemNotFound
from exchangelib.fields import MONDAY, WEDNESDAY
from exchangelib.items import ALWAYS_OVERWRITE, AUTO_RESOLVE, NEVER_OVERWRITE
from exchangelib.recurrence import Recurrence, WeeklyPattern

from .conftest import NS, envelope, parse, post, response_codes

BERLIN = EWSTimeZone("Europe/Berlin")
UTC = EWSTimeZone("UTC")


def berlin(*args) -> EWSDateTime:
    return EWSDateTime(*args, tzinfo=BERLIN)


def new_item(account, **fields) -> CalendarItem:
    values = dict(subject="Round with Max", start=berlin(2026, 6, 1, 9, 30), end=berlin(2026, 6, 1, 13, 30))
    values.update(fields)
    item = CalendarItem(account=account, folder=account.calendar, **values)
    item.save()
    return item


def test_create_and_read_all_fields(account, caddie_id):
    item = new_item(
        account,
        body=HTMLBody("<p>Tee 1</p>"),
        location="Course A",
        categories=["Golf", "Lesson"],
        sensitivity="Private",
        reminder_is_set=True,
        reminder_minutes_before_start=45,
        legacy_free_busy_status="OOF",
        caddie_id="T-17",
    )
    assert item.id and item.changekey
    got = account.calendar.get(id=item.id)
    assert got.subject == "Round with Max"
    assert got.start == berlin(2026, 6, 1, 9, 30) and got.end == berlin(2026, 6, 1, 13, 30)
    assert got.start.tzinfo == UTC  # instants come back in UTC
    assert got._start_timezone == BERLIN and got._end_timezone == BERLIN
    assert "<p>Tee 1</p>" in got.body and got.body.startswith("<html>")
    assert got.location == "Course A"
    assert got.categories == ["Golf", "Lesson"]
    assert got.sensitivity == "Private"
    assert got.reminder_is_set is True and got.reminder_minutes_before_start == 45
    assert got.legacy_free_busy_status == "OOF"
    assert got.caddie_id == "T-17"
    assert got.item_class == "IPM.Appointment"
    assert got.type == "Single" and got.is_recurring is False
    assert got.organizer.email_address == "anna@club.example"
    assert got.datetime_created <= got.last_modified_time
    assert got.is_all_day is False


def test_a_text_body_comes_back_as_text(account):
    item = new_item(account, body=Body("line 1\nline 2"))
    got = account.calendar.get(id=item.id)
    assert isinstance(got.body, Body) and not isinstance(got.body, HTMLBody)
    assert got.body == "line 1\nline 2"


def test_berlin_times_read_back_as_the_same_instant(account):
    summer = new_item(account, start=berlin(2026, 7, 1, 10, 0), end=berlin(2026, 7, 1, 11, 0))
    winter = new_item(account, start=berlin(2026, 1, 10, 10, 0), end=berlin(2026, 1, 10, 11, 0))
    got_summer = account.calendar.get(id=summer.id)
    got_winter = account.calendar.get(id=winter.id)
    assert got_summer.start == EWSDateTime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert got_winter.start == EWSDateTime(2026, 1, 10, 9, 0, tzinfo=UTC)
    assert got_summer.start.astimezone(BERLIN).hour == 10


def test_naive_times_follow_the_start_time_zone(emulator, account):
    body = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>'
        '<t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem>'
        "<t:Subject>Naive</t:Subject><t:Start>2026-07-01T10:00:00</t:Start><t:End>2026-07-01T11:00:00</t:End>"
        '<t:StartTimeZone Id="W. Europe Standard Time"/><t:EndTimeZone Id="W. Europe Standard Time"/>'
        "</t:CalendarItem></m:Items></m:CreateItem>"
    )
    response = post(emulator, body)
    item_id = parse(response).find(".//t:ItemId", NS).get("Id")
    got = account.calendar.get(id=item_id)
    assert got.start == EWSDateTime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_all_day_events_run_from_midnight_to_midnight(account):
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Club day",
        start=EWSDate(2026, 6, 27),
        end=EWSDate(2026, 6, 28),
        is_all_day=True,
    )
    item.save()
    got = account.calendar.get(id=item.id)
    assert got.is_all_day is True
    assert (got.start, got.end) == (EWSDate(2026, 6, 27), EWSDate(2026, 6, 28))
    assert got._start_timezone == BERLIN
    raw = account.calendar.filter(subject="Club day").only("start", "end", "is_all_day")[0]
    assert raw.start == EWSDate(2026, 6, 27)


def test_update_gives_a_new_change_key(account):
    item = new_item(account)
    first_key = item.changekey
    item.subject = "Round with Moritz"
    item.location = "Course B"
    item.save()
    assert item.changekey != first_key
    got = account.calendar.get(id=item.id)
    assert (got.subject, got.location, got.changekey) == ("Round with Moritz", "Course B", item.changekey)


def test_a_stale_change_key_with_never_overwrite_is_a_conflict(account):
    item = new_item(account)
    stale = account.calendar.get(id=item.id)
    item.subject = "Changed in Outlook"
    item.save()
    stale.subject = "Changed by the gateway"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(update_fields=["subject"], conflict_resolution=NEVER_OVERWRITE)
    assert account.calendar.get(id=item.id).subject == "Changed in Outlook"


@pytest.mark.parametrize("resolution", [AUTO_RESOLVE, ALWAYS_OVERWRITE])
def test_a_stale_change_key_is_applied_with_auto_resolve_and_always_overwrite(account, resolution):
    item = new_item(account)
    stale = account.calendar.get(id=item.id)
    item.location = "Elsewhere"
    item.save()
    stale.subject = "Changed by the gateway"
    stale.save(update_fields=["subject"], conflict_resolution=resolution)
    got = account.calendar.get(id=item.id)
    assert (got.subject, got.location) == ("Changed by the gateway", "Elsewhere")


def test_clearing_fields_deletes_them(account):
    item = new_item(account, location="Course A", categories=["Golf"], body=Body("text"))
    item.location = None
    item.categories = None
    item.body = None
    item.save()
    got = account.calendar.get(id=item.id)
    assert got.location is None and got.categories is None and not got.body


def test_delete_and_read_again(account):
    item = new_item(account)
    item_id = item.id
    item.delete()
    with pytest.raises(ErrorItemNotFound):
        account.calendar.get(id=item_id)


def test_move_to_trash_creates_a_new_id_in_deleted_items(account):
    item = new_item(account)
    item.move_to_trash()
    assert account.calendar.all().count() == 0
    assert [i.subject for i in account.trash.all()] == ["Round with Max"]


def test_bulk_create_update_delete(account):
    items = [
        CalendarItem(
            folder=account.calendar,
            subject=f"Slot {i}",
            start=berlin(2026, 5, 1, 8) + dt.timedelta(hours=i),
            end=berlin(2026, 5, 1, 9) + dt.timedelta(hours=i),
        )
        for i in range(150)
    ]
    created = account.bulk_create(folder=account.calendar, items=items)
    assert len(created) == 150 and all(item.id for item in created)
    fetched = list(account.fetch(ids=created))
    for item in fetched:
        item.subject += " (moved)"
    updated = account.bulk_update(items=[(item, ["subject"]) for item in fetched])
    assert len(updated) == 150 and all(isinstance(pair, tuple) for pair in updated)
    assert account.calendar.filter(subject__contains="(moved)").count() == 150
    deleted = account.bulk_delete(ids=created[:100])
    assert deleted == [True] * 100
    assert account.calendar.all().count() == 50


def test_unknown_and_malformed_ids(emulator, account):
    item = new_item(account)
    item_id = item.id
    item.delete()
    body = envelope(
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>"
        f'<t:ItemId Id="{item_id}"/><t:ItemId Id="AAMkADk0YjE3NzU0AAA="/><t:ItemId Id="not base64!"/>'
        '<t:ItemId Id=""/></m:ItemIds></m:GetItem>'
    )
    assert response_codes(post(emulator, body)) == [
        "ErrorItemNotFound",
        "ErrorItemNotFound",
        "ErrorInvalidIdMalformed",
        "ErrorInvalidIdEmpty",
    ]


def test_recurring_masters_are_created_and_recognised(account):
    item = new_item(
        account,
        subject="Training",
        start=berlin(2026, 2, 2, 18),
        end=berlin(2026, 2, 2, 19),
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[MONDAY, WEDNESDAY]), start=EWSDate(2026, 2, 2), number=4
        ),
    )
    got = account.calendar.get(id=item.id)
    assert got.type == "RecurringMaster" and got.is_recurring is False  # as Exchange: only occurrences say True
    assert got.recurrence.boundary.number == 4
    view = list(account.calendar.view(start=berlin(2026, 2, 1), end=berlin(2026, 3, 1)))
    assert [(o.type, o.start.astimezone(BERLIN).day) for o in view] == [
        ("Occurrence", 2),
        ("Occurrence", 4),
        ("Occurrence", 9),
        ("Occurrence", 11),
    ]
    occurrence = account.calendar.get(id=view[1].id)
    assert occurrence.type == "Occurrence" and occurrence.subject == "Training"
    assert [i.subject for i in account.calendar.filter(type="RecurringMaster")] == ["Training"]


def test_calendar_view_lists_overlapping_items_by_start(account):
    new_item(account, subject="Late", start=berlin(2026, 6, 1, 15), end=berlin(2026, 6, 1, 16))
    new_item(account, subject="Early", start=berlin(2026, 6, 1, 7), end=berlin(2026, 6, 1, 9))
    new_item(account, subject="Next day", start=berlin(2026, 6, 2, 7), end=berlin(2026, 6, 2, 9))
    view = account.calendar.view(start=berlin(2026, 6, 1, 8), end=berlin(2026, 6, 2))
    assert [item.subject for item in view] == ["Early", "Late"]


def test_exchange_requires_send_meeting_invitations_for_calendar_items(emulator):
    body = envelope(
        "<m:CreateItem><m:Items><t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem></m:Items></m:CreateItem>"
    )
    assert response_codes(post(emulator, body)) == ["ErrorSendMeetingInvitationsRequired"]


def test_end_before_start_is_refused(emulator):
    body = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>x</t:Subject>'
        "<t:Start>2026-06-01T10:00:00Z</t:Start><t:End>2026-06-01T09:00:00Z</t:End></t:CalendarItem></m:Items>"
        "</m:CreateItem>"
    )
    assert response_codes(post(emulator, body)) == ["ErrorCalendarEndDateIsEarlierThanStartDate"]


def test_read_only_properties_cannot_be_set(emulator):
    body = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        "<t:DateTimeCreated>2026-06-01T10:00:00Z</t:DateTimeCreated></t:CalendarItem></m:Items></m:CreateItem>"
    )
    assert response_codes(post(emulator, body)) == ["ErrorInvalidPropertySet"]


def test_append_and_delete_item_field(emulator, account):
    item = new_item(account, body=Body("Start."))
    body = envelope(
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone">'
        f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{item.id}"/><t:Updates>'
        '<t:AppendToItemField><t:FieldURI FieldURI="item:Body"/><t:CalendarItem><t:Body BodyType="Text"> More.'
        "</t:Body></t:CalendarItem></t:AppendToItemField>"
        '<t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField>'
        '<t:SetItemField><t:FieldURI FieldURI="item:Sensitivity"/><t:CalendarItem>'
        "<t:Sensitivity>Confidential</t:Sensitivity></t:CalendarItem></t:SetItemField>"
        "</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    assert response_codes(post(emulator, body)) == ["NoError"]
    got = account.calendar.get(id=item.id)
    assert (got.body, got.sensitivity) == ("Start. More.", "Confidential")


def test_a_stale_change_key_in_a_raw_update_gives_the_exchange_error_response(emulator, account):
    item = new_item(account)
    old_key = item.changekey
    item.subject = "new"
    item.save()
    body = envelope(
        '<m:UpdateItem ConflictResolution="NeverOverwrite" SendMeetingInvitationsOrCancellations="SendToNone">'
        f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{item.id}" ChangeKey="{old_key}"/><t:Updates>'
        '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>old</t:Subject>'
        "</t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    response = post(emulator, body)
    message = parse(response).find(".//m:UpdateItemResponseMessage", NS)
    assert message.get("ResponseClass") == "Error"
    assert response_codes(response) == ["ErrorIrresolvableConflict"]
