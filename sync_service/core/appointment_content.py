"""An appointment as the sync compares it: the same canonical content from either side, and its
digest. This module holds the pure part: the content and its digest, the gateway's calendar entry
to and from it, the fields an update writes, and the agreed content as stored (JSON). Reading a
PC CADDIE row into a content, and writing one back, is `engine/appointments.py`.

Times: a timed item's start and end are UTC instants ('YYYY-MM-DDTHH:MM:SSZ'); an all-day entry
is its first and last day ('YYYY-MM-DD') on both sides."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

from protocol.entries import CalendarEntry
from protocol.text_limits import shorten

from .model import Version

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

    @cached_property
    def digest(self) -> str:
        """Of the content as Exchange can hold it: a title or location over Exchange's limit is
        shortened on the way out (the whole text stays in PC CADDIE), and reads back the same.
        Worked out once per content (the fields are flat: no deep copy of them is needed)."""
        fields = {
            "title": shorten(self.title),
            "start": self.start,
            "end": self.end,
            "all_day": self.all_day,
            "location": shorten(self.location),
            "text": self.text,
            "private": self.private,
        }
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    @property
    def start_instant(self) -> dt.datetime:
        if self.all_day:
            return dt.datetime.combine(dt.date.fromisoformat(self.start), dt.time(), UTC)
        return dt.datetime.fromisoformat(self.start.replace("Z", "+00:00"))


def clean_text(value: str | None) -> str:
    """Text as both sides compare it: Windows line ends made plain, trailing blanks dropped."""
    return (value or "").replace("\r\n", "\n").rstrip()


def utc_text(moment: dt.datetime) -> str:
    """An aware moment as the content's UTC instant text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_entry(entry: CalendarEntry) -> AppointmentContent:
    """From the gateway's calendar entry (protocol/entries.py)."""
    return AppointmentContent(
        title=clean_text(entry.subject) or NO_TITLE,
        start=entry.start,
        end=entry.end,
        all_day=entry.all_day,
        location=clean_text(entry.location),
        text=clean_text(entry.body),
        private=entry.private,
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
) -> CalendarEntry:
    """The gateway's calendar entry; an exported item carries its area's name as a category, so
    that staff see where it comes from (and can file a new item into an area the same way), and
    the mark of the content written (its digest), which an edit in Outlook leaves as it is."""
    return CalendarEntry(
        subject=content.title,
        start=content.start,
        end=content.end,
        all_day=content.all_day,
        body=content.text,
        location=content.location,
        timezone=zone.key,
        private=content.private,
        reminder_minutes=reminder_minutes,
        categories=(area_name,) if area_name else (),
        external_id=external_id,
        written=content.digest,
    )


def remote_version(entry: CalendarEntry) -> Version:
    """The Exchange side's version of an item, from the gateway's calendar entry."""
    content = from_entry(entry)
    modified = entry.last_modified
    return Version(
        key=entry.id or "",
        content=content,
        digest=content.digest,
        title=content.title,
        private=content.private,
        recurring=entry.recurring and entry.occurrence_key is None,  # an occurrence is an appointment
        start=content.start_instant,
        modified=dt.datetime.fromisoformat(modified.replace("Z", "+00:00")) if modified else None,
        change_key=entry.change_key,
        series=entry.occurrence_key,
    )


def agreed_json(content: AppointmentContent) -> str:
    """The content as a link stores it (`agreed`, `sent`)."""
    return json.dumps(asdict(content), sort_keys=True, ensure_ascii=False)


def parse_agreed(text: str | None) -> AppointmentContent | None:
    """A stored content back; None when there is none or it is not one (then every field is written)."""
    if not text:
        return None
    try:
        return AppointmentContent(**json.loads(text))
    except (TypeError, ValueError):
        return None
