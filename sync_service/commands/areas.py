"""`sync-service area add|list|remove`: timetable areas."""

from __future__ import annotations

import click

from ..admin.areas import add_area, list_areas, remove_area
from .context import Club, club_command, emit_json, emit_table, json_option


@click.group("area")
def area() -> None:
    """Timetable areas: tee times, lessons, rooms, staff plans."""


@area.command("add")
@click.argument("name")
@click.option("--owner", "owners", multiple=True, metavar="LOGIN", help="A user who owns the area (repeatable).")
@club_command
def area_add(club: Club, name: str, owners: tuple[str, ...]) -> None:
    """Add a timetable area."""
    row = add_area(name, owners)
    click.echo(f"area {row.name} added (id {row.id})")


@area.command("list")
@json_option
@club_command
def area_list(club: Club, as_json: bool) -> None:
    """Every timetable area with its owners."""
    rows = [{"id": a.id, "name": a.name, "owners": owners} for a, owners in list_areas()]
    if as_json:
        emit_json(rows)
    else:
        emit_table(["ID", "AREA", "OWNERS"], [(r["id"], r["name"], ", ".join(r["owners"]) or "-") for r in rows])


@area.command("remove")
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove the area even while users sync it (their calendars of it go).")
@club_command
def area_remove(club: Club, name: str, force: bool) -> None:
    """Remove a timetable area without appointments (refused while users sync it, unless --force).
    Nothing is deleted in Exchange."""
    for sentence in remove_area(name, force):
        click.echo(sentence)


COMMANDS = [area]
