"""Time: Windows time zone ids, xs:dateTime values in and out (instants are kept in UTC)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import schema_error

UTC = dt.timezone.utc

# Windows time zone id -> (IANA zone, display name). The common ones; others are looked up in
# the CLDR map exchangelib carries, if it is installed.
WINDOWS_ZONES: dict[str, tuple[str, str]] = {
    "UTC": ("UTC", "(UTC) Coordinated Universal Time"),
    "GMT Standard Time": ("Europe/London", "(UTC+00:00) Dublin, Edinburgh, Lisbon, London"),
    "Greenwich Standard Time": ("Atlantic/Reykjavik", "(UTC+00:00) Monrovia, Reykjavik"),
    "W. Europe Standard Time": ("Europe/Berlin", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"),
    "Central Europe Standard Time": (
        "Europe/Budapest",
        "(UTC+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague",
    ),
    "Romance Standard Time": ("Europe/Paris", "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris"),
    "Central European Standard Time": ("Europe/Warsaw", "(UTC+01:00) Sarajevo, Skopje, Warsaw, Zagreb"),
    "W. Central Africa Standard Time": ("Africa/Lagos", "(UTC+01:00) West Central Africa"),
    "GTB Standard Time": ("Europe/Bucharest", "(UTC+02:00) Athens, Bucharest"),
    "FLE Standard Time": ("Europe/Kiev", "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius"),
    "E. Europe Standard Time": ("Europe/Chisinau", "(UTC+02:00) Chisinau"),
    "Israel Standard Time": ("Asia/Jerusalem", "(UTC+02:00) Jerusalem"),
    "Egypt Standard Time": ("Africa/Cairo", "(UTC+02:00) Cairo"),
    "South Africa Standard Time": ("Africa/Johannesburg", "(UTC+02:00) Harare, Pretoria"),
    "Turkey Standard Time": ("Europe/Istanbul", "(UTC+03:00) Istanbul"),
    "Russian Standard Time": ("Europe/Moscow", "(UTC+03:00) Moscow, St. Petersburg"),
    "Arabian Standard Time": ("Asia/Dubai", "(UTC+04:00) Abu Dhabi, Muscat"),
    "India Standard Time": ("Asia/Calcutta", "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi"),
    "China Standard Time": ("Asia/Shanghai", "(UTC+08:00) Beijing, Chongqing, Hong Kong, Urumqi"),
    "Singapore Standard Time": ("Asia/Singapore", "(UTC+08:00) Kuala Lumpur, Singapore"),
    "Tokyo Standard Time": ("Asia/Tokyo", "(UTC+09:00) Osaka, Sapporo, Tokyo"),
    "AUS Eastern Standard Time": ("Australia/Sydney", "(UTC+10:00) Canberra, Melbourne, Sydney"),
    "New Zealand Standard Time": ("Pacific/Auckland", "(UTC+12:00) Auckland, Wellington"),
    "Azores Standard Time": ("Atlantic/Azores", "(UTC-01:00) Azores"),
    "E. South America Standard Time": ("America/Sao_Paulo", "(UTC-03:00) Brasilia"),
    "Atlantic Standard Time": ("America/Halifax", "(UTC-04:00) Atlantic Time (Canada)"),
    "Eastern Standard Time": ("America/New_York", "(UTC-05:00) Eastern Time (US & Canada)"),
    "Central Standard Time": ("America/Chicago", "(UTC-06:00) Central Time (US & Canada)"),
    "Mountain Standard Time": ("America/Denver", "(UTC-07:00) Mountain Time (US & Canada)"),
    "US Mountain Standard Time": ("America/Phoenix", "(UTC-07:00) Arizona"),
    "Pacific Standard Time": ("America/Los_Angeles", "(UTC-08:00) Pacific Time (US & Canada)"),
    "Alaskan Standard Time": ("America/Anchorage", "(UTC-09:00) Alaska"),
    "Hawaiian Standard Time": ("Pacific/Honolulu", "(UTC-10:00) Hawaii"),
}
_EXTRA_IDS = {"tzone://Microsoft/Utc": "UTC", "Coordinated Universal Time": "UTC"}


def zone_for_windows_id(windows_id: str | None) -> dt.tzinfo | None:
    """The zone a Windows time zone id stands for, or None if unknown."""
    if not windows_id:
        return None
    name = WINDOWS_ZONES.get(windows_id, (None, None))[0] or _EXTRA_IDS.get(windows_id)
    if name is None:
        try:
            from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP  # the CLDR data, if installed
        except ImportError:  # pragma: no cover - exchangelib is a dependency of the project
            return None
        name = MS_TIMEZONE_TO_IANA_MAP.get(windows_id)
        if name is None:
            return None
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return None


def display_name(windows_id: str) -> str | None:
    return WINDOWS_ZONES.get(windows_id, (None, None))[1]


_DATETIME = re.compile(
    r"^\s*(?P<y>-?\d{4,})-(?P<mo>\d\d)-(?P<d>\d\d)T(?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?P<frac>\.\d+)?"
    r"(?P<tz>Z|[+-]\d\d:\d\d)?\s*$"
)
_DATE = re.compile(r"^\s*(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)(?P<tz>Z|[+-]\d\d:\d\d)?\s*$")


def parse_datetime(text: str | None, naive_zone: dt.tzinfo | None = None, *, what: str = "value") -> dt.datetime:
    """An xs:dateTime as an aware UTC datetime (whole seconds). A value without offset is in
    `naive_zone` (UTC if None). Raises SoapFault(ErrorSchemaValidation) for a malformed value."""
    match = _DATETIME.match(text or "")
    if not match:
        raise schema_error(f"The {what} {text!r} is not a valid xs:dateTime.")
    try:
        hour = int(match["h"])
        value = dt.datetime(int(match["y"]), int(match["mo"]), int(match["d"]), 0, int(match["mi"]), int(match["s"]))
        value += dt.timedelta(hours=hour)  # 24:00:00 is valid xs:dateTime
    except (ValueError, OverflowError):
        raise schema_error(f"The {what} {text!r} is not a valid xs:dateTime.") from None
    tz_text = match["tz"]
    if tz_text is None:
        zone = naive_zone or UTC
        value = value.replace(tzinfo=zone)
    elif tz_text == "Z":
        value = value.replace(tzinfo=UTC)
    else:
        sign = 1 if tz_text[0] == "+" else -1
        offset = dt.timedelta(hours=int(tz_text[1:3]), minutes=int(tz_text[4:6]))
        value = value.replace(tzinfo=dt.timezone(sign * offset))
    return value.astimezone(UTC)


def parse_date(text: str | None, *, what: str = "value") -> dt.date:
    match = _DATE.match(text or "")
    if not match:
        raise schema_error(f"The {what} {text!r} is not a valid xs:date.")
    try:
        return dt.date(int(match["y"]), int(match["mo"]), int(match["d"]))
    except ValueError:
        raise schema_error(f"The {what} {text!r} is not a valid xs:date.") from None


def format_datetime(value: dt.datetime) -> str:
    """A UTC instant as Exchange writes it: 2024-06-01T07:30:00Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)
