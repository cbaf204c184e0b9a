"""An appointment as the sync compares it: the same canonical content from either side, and its
digest. PC CADDIE's wall times become UTC instants through the club's zone (a wall time that occurs twice,
in the hour repeated when clocks go back, keeps which of the two it is: the appointment's fold);
an all-day entry is its first and last day on both sides."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from protocol.text_limits import shorten

from ..core.model import Version
from ..store.models import Appointment

UTC = dt.timezone.utc
NO_TITLE = "(no title)"


@dataclass(frozen=True)
class AppointmentContent:
    title: str
    start: str  # timed: UTC 'YYYY-MM-DDTHH:MM:SSZ'; all-day: the first day 'YYYY-MM-DD'
    end: str  # timed: UTC; all-day: the last day
    all_day: bool
    location: str
    text: str
    private: bool

    @property
    def digest(self) -> str:
        """Of the content as Exchange can hold it: a title or location over Exchange's limit is
        shortened on the way out (the whole text stays in PC CADDIE), and reads back the same."""
        fields = {**asdict(self), "title": shorten(self.title), "location": shorten(self.location)}
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    @property
    def start_instant(self) -> dt.datetime:
        if self.all_day:
            return dt.datetime.combine(dt.date.fromisoformat(self.start), dt.time(), UTC)
        return dt.datetime.fromisoformat(self.start.replace("Z", "+00:00"))


def _text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n").rstrip()


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _wall(moment: dt.datetime, fold: int | None, zone: ZoneInfo) -> dt.datetime:
    return moment.replace(tzinfo=zone, fold=1 if fold else 0)


def from_appointment(appointment: Appointment, zone: ZoneInfo) -> AppointmentContent:
    if appointment.all_day:
        start = appointment.start.date().isoformat()
        end = (appointment.end - dt.timedelta(days=1)).date().isoformat()
    else:
        start = _utc(_wall(appointment.start, getattr(appointment, "start_fold", 0), zone))
        end = _utc(_wall(appointment.end, getattr(appointment, "end_fold", 0), zone))
    return AppointmentContent(
        title=_text(appointment.title) or NO_TITLE,
        start=start,
        end=max(end, start),
        all_day=bool(appointment.all_day),
        location=_text(appointment.location),
        text=_text(appointment.text),
        private=bool(appointment.private),
    )


def from_entry(entry: Mapping[str, Any]) -> AppointmentContent:
    """From the gateway's calendar entry (see exchange_gateway/ews/entries.py)."""
    all_day = bool(entry.get("all_day"))
    return AppointmentContent(
        title=_text(entry.get("subject")) or NO_TITLE,
        start=entry["start"],
        end=entry["end"],
        all_day=all_day,
        location=_text(entry.get("location")),
        text=_text(entry.get("body")),
        private=bool(entry.get("private")),
    )


ENTRY_FIELDS_OF = {
    "title": ("subject",),
    "start": ("start", "end", "all_day", "timezone"),
    "end": ("start", "end", "all_day", "timezone"),
    "all_day": ("start", "end", "all_day", "timezone"),
    "location": ("location",),
    "text": ("body",),
    "private": ("private",),
}
ALL_UPDATE_FIELDS = (
    "subject",
    "body",
    "location",
    "start",
    "end",
    "all_day",
    "timezone",
    "private",
    "reminder_minutes",
    "external_id",
    "written",
)


def fields_to_write(agreed: AppointmentContent | None, content: AppointmentContent) -> list[str]:
    """The entry fields an update must write: those whose content changed since it was last
    agreed (so that what PC CADDIE did not change stays as it is in Exchange: a note's formatting,
    the user's reminder); every field when the agreed content is not known. The mark of what was
    written always goes with them."""
    if agreed is None:
        return list(ALL_UPDATE_FIELDS)
    changed: dict[str, None] = {}
    for name, entry_fields in ENTRY_FIELDS_OF.items():
        if getattr(agreed, name) != getattr(content, name):
            changed.update(dict.fromkeys(entry_fields))
    return [*(list(changed) or ["subject"]), "written"]


def to_entry(
    content: AppointmentContent,
    zone: ZoneInfo,
    external_id: str,
    reminder_minutes: int | None,
    area_name: str | None = None,
) -> dict[str, Any]:
    """The gateway's calendar entry; an exported item carries its area's name as a category, so
    that staff see where it comes from (and can file a new item into an area the same way), and
    the mark of the content written (its digest), which an edit in Outlook leaves as it is."""
    return {
        "subject": content.title,
        "start": content.start,
        "end": content.end,
        "all_day": content.all_day,
        "body": content.text,
        "location": content.location,
        "timezone": zone.key,
        "private": content.private,
        "reminder_minutes": reminder_minutes,
        "categories": [area_name] if area_name else [],
        "external_id": external_id,
        "written": content.digest,
    }


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


def remote_version(entry: Mapping[str, Any]) -> Version:
    content = from_entry(entry)
    modified = entry.get("last_modified")
    return Version(
        key=entry["id"],
        content=content,
        digest=content.digest,
        title=content.title,
        private=content.private,
        recurring=bool(entry.get("recurring")),
        start=content.start_instant,
        modified=dt.datetime.fromisoformat(modified.replace("Z", "+00:00")) if modified else None,
        change_key=entry.get("change_key"),
    )
