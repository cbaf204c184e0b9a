"""PC CADDIE's appointment rows as the sync compares them: a row read into the canonical content
(`core/appointment_content.py`), and a content written back as the row's column values. PC CADDIE's
wall times become UTC instants through the club's zone (a wall time that occurs twice, in the hour
repeated when clocks go back, keeps which of the two it is: the appointment's fold); an all-day
entry is its first and last day on both sides."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from ..core.appointment_content import NO_TITLE, UTC, AppointmentContent, clean_text, utc_text
from ..core.model import Version
from ..store.models import Appointment


def _wall(moment: dt.datetime, fold: int | None, zone: ZoneInfo) -> dt.datetime:
    return moment.replace(tzinfo=zone, fold=1 if fold else 0)


def from_appointment(appointment: Appointment, zone: ZoneInfo) -> AppointmentContent:
    if appointment.all_day:
        start = appointment.start.date().isoformat()
        end = (appointment.end - dt.timedelta(days=1)).date().isoformat()
    else:
        start = utc_text(_wall(appointment.start, getattr(appointment, "start_fold", 0), zone))
        end = utc_text(_wall(appointment.end, getattr(appointment, "end_fold", 0), zone))
    return AppointmentContent(
        title=clean_text(appointment.title) or NO_TITLE,
        start=start,
        end=max(end, start),
        all_day=bool(appointment.all_day),
        location=clean_text(appointment.location),
        text=clean_text(appointment.text),
        private=bool(appointment.private),
    )


def to_local_values(content: AppointmentContent, zone: ZoneInfo) -> dict[str, Any]:
    """Column values for PC CADDIE's appointment table (wall times, with their folds)."""
    if content.all_day:
        first, last = dt.date.fromisoformat(content.start), dt.date.fromisoformat(content.end)
        start = dt.datetime.combine(first, dt.time())
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    else:
        start = dt.datetime.fromisoformat(content.start.replace("Z", "+00:00")).astimezone(zone)
        end = dt.datetime.fromisoformat(content.end.replace("Z", "+00:00")).astimezone(zone)
        if end < start:
            end = start
    return {
        "title": content.title or NO_TITLE,
        "start": start.replace(tzinfo=None, fold=0),
        "start_fold": start.fold,
        "end": max(end, start).replace(tzinfo=None, fold=0),
        "end_fold": max(end, start).fold,
        "all_day": content.all_day,
        "location": content.location,
        "text": content.text,
        "private": content.private,
    }


def local_version(appointment: Appointment, zone: ZoneInfo) -> Version:
    """The PC CADDIE side's version of an item, from its row."""
    content = from_appointment(appointment, zone)
    return Version(
        key=str(appointment.id),
        content=content,
        digest=content.digest,
        title=content.title,
        private=content.private,
        start=content.start_instant,
        modified=appointment.modified.replace(tzinfo=UTC) if appointment.modified else None,
    )
