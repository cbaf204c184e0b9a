"""`sync-service appointment add|update|delete|list`: the timetable's entries."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable
from zoneinfo import ZoneInfo

import click

from ..admin import AdminError
from ..admin.timetable import (
    AppointmentInput,
    add_appointment,
    delete_appointment,
    list_appointments,
    update_appointment,
)
from ..clubtime import ClubTimeError, iso_with_offset, parse_day
from ..store.models import Appointment
from .context import Club, club_command, emit_json, emit_table, json_option


def appointment_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--title", metavar="TEXT"),
        click.option(
            "--start", metavar="ISO", help="2026-06-01T09:30 (club time) or with an offset; a date if all-day."
        ),
        click.option("--end", metavar="ISO", help="As --start; all-day: its last day, or the midnight after it."),
        click.option("--all-day/--timed", "all_day", default=None, help="A whole-day entry (dates only)."),
        click.option("--location", metavar="TEXT"),
        click.option("--text", metavar="TEXT", help="The appointment's text (body)."),
        click.option("--private/--not-private", "private", default=None),
        click.option(
            "--person",
            "persons",
            type=int,
            multiple=True,
            metavar="ID",
            help="A booked person (repeatable; on update, replaces the bookings).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def appointment_json(appointment: Appointment, area: str, persons: list[int], zone: ZoneInfo) -> dict[str, Any]:
    if appointment.all_day:
        start: str = appointment.start.date().isoformat()
        end: str = (appointment.end.date() - dt.timedelta(days=1)).isoformat()
    else:
        start = iso_with_offset(appointment.start, zone, appointment.start_fold)
        end = iso_with_offset(appointment.end, zone, appointment.end_fold)
    return {
        "id": appointment.id,
        "area": area,
        "title": appointment.title,
        "start": start,
        "end": end,
        "all_day": appointment.all_day,
        "location": appointment.location,
        "text": appointment.text,
        "private": appointment.private,
        "persons": persons,
        "created": appointment.created.replace(tzinfo=dt.timezone.utc).isoformat(),
        "modified": appointment.modified.replace(tzinfo=dt.timezone.utc).isoformat(),
    }


@click.group("appointment")
def appointment() -> None:
    """Appointments of the timetable areas (times are the club's local time unless an offset is given)."""


@appointment.command("add")
@click.argument("area")
@appointment_options
@club_command
def appointment_add(club: Club, area: str, persons: tuple[int, ...], **given: Any) -> None:
    """Add an appointment to AREA; prints the new id."""
    row = add_appointment(area, AppointmentInput(persons=persons, **given), club.zone)
    click.echo(row.id)


@appointment.command("update")
@click.argument("appointment_id", metavar="ID", type=int)
@click.option("--area", metavar="NAME", help="Move it to another area.")
@click.option("--no-persons", is_flag=True, help="Remove every booking.")
@appointment_options
@club_command
def appointment_update(
    club: Club, appointment_id: int, persons: tuple[int, ...], no_persons: bool, **given: Any
) -> None:
    """Change what is given of appointment ID."""
    if no_persons and persons:
        raise AdminError("give either --person or --no-persons")
    booked = () if no_persons else (persons or None)
    update_appointment(appointment_id, AppointmentInput(persons=booked, **given), club.zone)
    click.echo(f"appointment {appointment_id} updated")


@appointment.command("delete")
@click.argument("appointment_id", metavar="ID", type=int)
@club_command
def appointment_delete(club: Club, appointment_id: int) -> None:
    """Delete appointment ID."""
    delete_appointment(appointment_id)
    click.echo(f"appointment {appointment_id} deleted")


@appointment.command("list")
@click.option("--area", metavar="NAME", help="Only this area.")
@click.option("--from", "since", metavar="DATE", help="Only entries ending on or after DATE.")
@click.option("--to", "until", metavar="DATE", help="Only entries starting on or before DATE.")
@json_option
@club_command
def appointment_list(club: Club, area: str | None, since: str | None, until: str | None, as_json: bool) -> None:
    """Appointments by start time."""
    try:
        first = parse_day(since) if since else None
        last = parse_day(until) if until else None
    except ClubTimeError as exc:
        raise AdminError(str(exc)) from None
    rows = [appointment_json(a, name, persons, club.zone) for a, name, persons in list_appointments(area, first, last)]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        ["ID", "AREA", "START", "END", "TITLE", "FLAGS", "PERSONS"],
        [
            (
                r["id"],
                r["area"],
                r["start"][:16].replace("T", " "),
                r["end"][:16].replace("T", " "),
                r["title"],
                ",".join(f for f in ("all_day", "private") if r[f]).replace("_", "-") or "-",
                ",".join(map(str, r["persons"])) or "-",
            )
            for r in rows
        ],
    )


COMMANDS = [appointment]
