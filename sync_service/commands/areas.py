"""`sync-service area add|list`: timetable areas."""

from __future__ import annotations

import click

from ..admin.areas import add_area, list_areas
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


COMMANDS = [area]
