"""`sync-service calendar add|set|list|remove|resume`: the areas each user syncs with Exchange."""

from __future__ import annotations

import click

from ..admin.between_cycles import between_cycles
from ..admin.subscriptions import (
    CalendarChange,
    CalendarOptions,
    add_calendar,
    remove_calendar,
    resume_calendar,
    set_calendar,
    set_import_area,
)
from ..admin.views import CALENDAR_HEADERS, calendar_rows, mailbox_refusal
from ..core.model import Policy
from .context import Club, club_command, emit_json, emit_table, json_option

POLICIES = [p.value for p in Policy]


@click.group("calendar")
def calendar() -> None:
    """Timetable areas a user syncs with an Exchange calendar (APPOINTMENTS tab)."""


@calendar.command("add")
@click.argument("login")
@click.argument("area")
@click.option(
    "--folder",
    default="",
    metavar="NAME",
    help="A calendar of that name in the mailbox, made if need be (default: the main calendar).",
)
@click.option("--read-only", is_flag=True, help="Only PC CADDIE → Exchange; changes in Exchange are not taken over.")
@click.option("--hide-private", is_flag=True, help="Private Exchange appointments are not imported.")
@click.option("--disable-reminders", is_flag=True, help="Appointments written to Exchange carry no reminder.")
@click.option("--auto-sync-contacts", is_flag=True, help="Persons booked into the area join the contact sync.")
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default="pccaddie-wins",
    show_default=True,
    help="Who wins when both sides changed an appointment (the loser is kept: see `conflicts`).",
)
@club_command
def calendar_add(
    club: Club,
    login: str,
    area: str,
    folder: str,
    read_only: bool,
    hide_private: bool,
    disable_reminders: bool,
    auto_sync_contacts: bool,
    policy: str,
) -> None:
    """Sync AREA with LOGIN's Exchange calendar (refused if the user's permissions don't allow it)."""
    add_calendar(
        login, area, CalendarOptions(folder, read_only, hide_private, disable_reminders, auto_sync_contacts, policy)
    )
    click.echo(f"{login} now syncs {area} with {'the calendar ' + folder if folder.strip() else 'the main calendar'}")


@calendar.command("set")
@click.argument("login")
@click.argument("area")
@click.option("--folder", default=None, metavar="NAME", help="Another Exchange calendar ('' for the main calendar).")
@click.option("--read-only/--no-read-only", default=None, help="Only PC CADDIE → Exchange, or both ways.")
@click.option(
    "--hide-private/--show-private", default=None, help="Private Exchange appointments not imported, or imported."
)
@click.option(
    "--disable-reminders/--enable-reminders",
    default=None,
    help="Appointments written to Exchange without a reminder, or with.",
)
@click.option(
    "--auto-sync-contacts/--no-auto-sync-contacts",
    default=None,
    help="Persons booked into the area join the contact sync, or not.",
)
@click.option(
    "--policy", type=click.Choice(POLICIES), default=None, help="Who wins when both sides changed an appointment."
)
@club_command(transaction=False)
def calendar_set(
    club: Club,
    login: str,
    area: str,
    folder: str | None,
    read_only: bool | None,
    hide_private: bool | None,
    disable_reminders: bool | None,
    auto_sync_contacts: bool | None,
    policy: str | None,
) -> None:
    """Change the options of a calendar LOGIN syncs with AREA in place; only the options given
    change. Prints what changed and what the next cycle does about it."""
    change = CalendarChange(folder, read_only, hide_private, disable_reminders, auto_sync_contacts, policy)
    with between_cycles(club.home.cycle_lock_file), club.db.atomic():
        done = set_calendar(login, area, change)
    if not done.changed:
        click.echo(f"{login}'s {area}: nothing changed")
        return
    click.echo(f"{login}'s {area}: {', '.join(name.replace('_', ' ') for name in done.changed)} changed")
    for sentence in done.consequences:
        click.echo(f"- {sentence}")


@calendar.command("list")
@click.argument("login")
@json_option
@club_command
def calendar_list(club: Club, login: str, as_json: bool) -> None:
    """The areas LOGIN syncs, with their options, and whether the sync leaves the mailbox alone
    because Exchange refused its login."""
    rows = calendar_rows(login)
    if as_json:
        emit_json([row.as_json() for row in rows])
        return
    emit_table(CALENDAR_HEADERS, [row.cells() for row in rows])
    refused = mailbox_refusal(login)
    if refused:
        click.echo(f"{login}: {refused}")


@calendar.command("import-area")
@click.argument("login")
@click.argument("area")
@club_command
def calendar_import_area(club: Club, login: str, area: str) -> None:
    """Items made in Outlook without an area's category go into AREA (when several areas share
    one Exchange calendar; by default the first one added)."""
    others = set_import_area(login, area)
    if others:
        click.echo(f"Items made in Outlook go into {area} unless a category names {', '.join(others)}")
    else:
        click.echo(f"{area} is the only area in its calendar: every item made in Outlook goes into it")


@calendar.command("remove")
@click.argument("login")
@click.argument("area")
@club_command
def calendar_remove(club: Club, login: str, area: str) -> None:
    """Stop syncing AREA for LOGIN."""
    remove_calendar(login, area)
    click.echo(f"{login} no longer syncs {area}")


@calendar.command("resume")
@click.argument("login")
@click.argument("area")
@club_command
def calendar_resume(club: Club, login: str, area: str) -> None:
    """Resume a calendar that the sync paused (e.g. after a mass-deletion guard)."""
    reason = resume_calendar(login, area)
    click.echo(f"{login}'s {area} resumed (it was paused: {reason})" if reason else f"{login}'s {area} was not paused")


COMMANDS = [calendar]
