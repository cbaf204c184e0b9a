"""`sync-service filter add|list|remove`: appointments whose title matches are not synchronised."""

from __future__ import annotations

import click

from ..admin.subscriptions import add_filter, remove_filter
from ..admin.views import FILTER_HEADERS, filter_rows
from .context import Club, club_command, emit_json, emit_table, json_option


@click.group("filter")
def filter_() -> None:
    """Exclusion filters: 'Test' contains, '*Test' ends with, 'Test*' starts with, 'A*B' both; case ignored."""


@filter_.command("add")
@click.argument("login")
@click.argument("pattern")
@club_command
def filter_add(club: Club, login: str, pattern: str) -> None:
    """Exclude appointments whose title matches PATTERN (at most one '*')."""
    click.echo(f"filter {add_filter(login, pattern)!r} added for {login}")


@filter_.command("list")
@click.argument("login")
@json_option
@club_command
def filter_list(club: Club, login: str, as_json: bool) -> None:
    """LOGIN's exclusion filters."""
    rows = filter_rows(login)
    if as_json:
        emit_json([row.as_json() for row in rows])
    else:
        emit_table(FILTER_HEADERS, [row.cells() for row in rows])


@filter_.command("remove")
@click.argument("login")
@click.argument("pattern")
@club_command
def filter_remove(club: Club, login: str, pattern: str) -> None:
    """Remove one of LOGIN's filters."""
    remove_filter(login, pattern)
    click.echo(f"filter {pattern.strip()!r} removed for {login}")


COMMANDS = [filter_]
