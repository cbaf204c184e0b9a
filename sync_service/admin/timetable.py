"""Appointments of the timetable areas, and the persons booked into them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, cast
from zoneinfo import ZoneInfo

from ..clubtime import ClubTimeError, all_day_span, aware, iso_with_offset, parse_day, parse_last_day, parse_moment
from ..store.models import Appointment, Booking, Person, TimetableArea
from . import AdminError
from .lookups import appointment_by_id, area_by_name


@dataclass(frozen=True)
class AppointmentInput:
    """What `appointment add/update` was given; None means not given (unchanged on update)."""

    title: str | None = None
    start: str | None = None
    end: str | None = None
    all_day: bool | None = None
    location: str | None = None
    text: str | None = None
    private: bool | None = None
    persons: tuple[int, ...] | None = None
    area: str | None = None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _span(start: str, end: str | None, all_day: bool, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    try:
        if all_day:
            first = parse_day(start)
            last = parse_last_day(end, first) if end else first
            if last < first:
                raise AdminError(f"the last day {last} is before the first day {first}")
            return all_day_span(first, last)
        if end is None:
            raise AdminError("--end is needed for an appointment that is not all-day")
        begins, ends = parse_moment(start, zone), parse_moment(end, zone)
    except ClubTimeError as exc:
        raise AdminError(str(exc)) from None
    if aware(ends, zone, ends.fold) < aware(begins, zone, begins.fold):
        raise AdminError(f"the end {ends:%Y-%m-%d %H:%M} is before the start {begins:%Y-%m-%d %H:%M}")
    return begins, ends


def _persons(ids: tuple[int, ...]) -> list[int]:
    unique = list(dict.fromkeys(ids))
    rows = Person.select(Person.id).where(Person.id.in_(unique)).tuples()
    found = {pid for (pid,) in cast(Iterable[tuple[int]], rows)}  # .tuples(): the stubs say models
    missing = [str(pid) for pid in unique if pid not in found]
    if missing:
        raise AdminError(f"unknown person {', '.join(missing)} (see `sync-service person list`)")
    return unique


def _title(title: str) -> str:
    cleaned = title.strip()
    if not cleaned:
        raise AdminError("an appointment needs a title")
    return cleaned


def add_appointment(area_name: str, given: AppointmentInput, zone: ZoneInfo) -> Appointment:
    area = area_by_name(area_name)
    if given.title is None or given.start is None:
        raise AdminError("an appointment needs --title and --start")
    title = _title(given.title)
    start, end = _span(given.start, given.end, bool(given.all_day), zone)
    persons = _persons(given.persons or ())
    now = utc_now()
    appointment = Appointment.create(
        area=area,
        title=title,
        start=start.replace(fold=0),
        end=end.replace(fold=0),
        all_day=bool(given.all_day),
        start_fold=start.fold,
        end_fold=end.fold,
        location=(given.location or "").strip(),
        text=given.text or "",
        private=bool(given.private),
        created=now,
        modified=now,
    )
    for person_id in persons:
        Booking.create(appointment=appointment, person=person_id)
    return appointment


def update_appointment(appointment_id: int, given: AppointmentInput, zone: ZoneInfo) -> Appointment:
    appointment = appointment_by_id(appointment_id)
    all_day = appointment.all_day if given.all_day is None else given.all_day
    switching = all_day != appointment.all_day
    if switching and (given.start is None or (not all_day and given.end is None)):
        raise AdminError("changing between all-day and timed needs --start (and --end for a timed one) too")
    if given.start is not None or given.end is not None or switching:
        if all_day:
            start_text = given.start or appointment.start.date().isoformat()
            kept_last = (appointment.end - dt.timedelta(days=1)).date().isoformat() if not switching else None
            end_text = given.end or kept_last
        else:  # what is not given stays as it was, to the second
            start_text = given.start or iso_with_offset(appointment.start, zone, appointment.start_fold)
            end_text = given.end or iso_with_offset(appointment.end, zone, appointment.end_fold)
        start, end = _span(start_text, end_text, all_day, zone)
        appointment.start, appointment.end = start.replace(fold=0), end.replace(fold=0)
        appointment.start_fold, appointment.end_fold = start.fold, end.fold
    appointment.all_day = all_day
    if given.area is not None:
        appointment.area = area_by_name(given.area)
    if given.title is not None:
        appointment.title = _title(given.title)
    if given.location is not None:
        appointment.location = given.location.strip()
    if given.text is not None:
        appointment.text = given.text
    if given.private is not None:
        appointment.private = given.private
    persons = _persons(given.persons) if given.persons is not None else None
    appointment.modified = utc_now()
    appointment.save()
    if persons is not None:
        Booking.delete().where((Booking.appointment == appointment) & Booking.person.not_in(persons)).execute()
        for person_id in persons:
            Booking.insert(appointment=appointment, person=person_id).on_conflict_ignore().execute()
    return appointment


def delete_appointment(appointment_id: int) -> None:
    appointment_by_id(appointment_id).delete_instance()


def list_appointments(area_name: str | None = None, since: dt.date | None = None, until: dt.date | None = None):
    """(appointment, area name, booked person ids), by start."""
    query = Appointment.select(Appointment, TimetableArea.name).join(TimetableArea)
    if area_name is not None:
        query = query.where(Appointment.area == area_by_name(area_name))
    if since is not None:  # still going on at the start of that day (an all-day end is exclusive)
        midnight = dt.datetime.combine(since, dt.time())
        query = query.where((Appointment.end > midnight) | (Appointment.start >= midnight))
    if until is not None:
        query = query.where(Appointment.start < dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    appointments = list(query.order_by(Appointment.start, Appointment.id))
    persons: dict[int, list[int]] = {}
    if appointments:
        ids = [a.id for a in appointments]
        for chunk in range(0, len(ids), 500):
            bookings = Booking.select(Booking.appointment, Booking.person).where(
                Booking.appointment.in_(ids[chunk : chunk + 500])
            )
            rows = cast(Iterable[tuple[int, int]], bookings.order_by(Booking.person).tuples())  # the stubs say models
            for appointment_id, person_id in rows:
                persons.setdefault(appointment_id, []).append(person_id)
    return [(a, a.area.name, persons.get(a.id, [])) for a in appointments]
