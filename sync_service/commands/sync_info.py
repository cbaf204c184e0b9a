"""`sync-service stats|report|conflicts|items`: what the sync did, and what it could not do."""

from __future__ import annotations

import click

from ..admin import AdminError
from ..admin.sync_info import PERIODS, report, reset_items
from ..admin.views import (
    CONFLICT_HEADERS,
    ITEM_HEADERS,
    STATS_HEADERS,
    conflict_rows,
    item_rows,
    stat_rows,
    stats_total,
)
from ..clubtime import ClubTimeError, parse_day
from .context import Club, club_command, emit_json, emit_table, json_option


def _day(value: str | None):
    try:
        return parse_day(value) if value else None
    except ClubTimeError as exc:
        raise AdminError(str(exc)) from None


@click.command("stats")
@click.argument("login")
@click.option("--from", "since", metavar="DATE", help="First day (default: everything recorded).")
@click.option("--to", "until", metavar="DATE", help="Last day.")
@click.option("--by", type=click.Choice(PERIODS), default="day", show_default=True)
@json_option
@club_command
def stats(club: Club, login: str, since: str | None, until: str | None, by: str, as_json: bool) -> None:
    """Synchronised entries for a period (STATISTICS tab): per day, week or month."""
    rows = stat_rows(login, _day(since), _day(until), by)
    if as_json:
        emit_json([row.as_json() for row in rows])
        return
    emit_table(STATS_HEADERS, [row.cells() for row in rows])
    if rows:
        click.echo(stats_total(rows))


@click.command("report")
@click.argument("login")
@click.option("--cycles", type=click.IntRange(1, 1000), default=5, show_default=True, help="The last N cycles.")
@json_option
@club_command
def report_command(club: Club, login: str, cycles: int, as_json: bool) -> None:
    """What the last cycles did for LOGIN, item by item, and why something was skipped."""
    rows = report(login, cycles)
    if as_json:
        emit_json(rows)
        return
    emit_table(
        ["CYCLE", "AREA", "ACTION", "IN", "ITEM", "TITLE", "DETAIL"],
        [
            (
                r["cycle"][:19].replace("T", " "),
                r["area"],
                r["action"],
                r["side"],
                r["item"][:20],
                r["title"],
                r["detail"],
            )
            for r in rows
        ],
    )


@click.command("conflicts")
@click.argument("login")
@json_option
@club_command
def conflicts_command(club: Club, login: str, as_json: bool) -> None:
    """Conflicts met (both sides changed an appointment or a contact), with the version that lost."""
    rows = conflict_rows(login)
    if as_json:
        emit_json([row.as_json() for row in rows])
        return
    emit_table(CONFLICT_HEADERS, [row.cells() for row in rows])


@click.group("items", invoke_without_command=True)
@click.option("--stopped", is_flag=True, help="Only the items no longer tried.")
@json_option
@click.pass_context
def items_group(ctx: click.Context, stopped: bool, as_json: bool) -> None:
    """Active items: entries that failed to synchronise (SYNC_EXCH_ATTEMPTS tries, then stopped)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(items_list, stopped=stopped, as_json=as_json)


@club_command
def items_list(club: Club, stopped: bool, as_json: bool) -> None:
    rows = item_rows(stopped)
    if as_json:
        emit_json([row.as_json() for row in rows])
        return
    emit_table(ITEM_HEADERS, [row.cells() for row in rows])


@items_group.command("reset")
@click.argument("ids", nargs=-1, type=int, metavar="ID…")
@click.option("--all", "reset_all", is_flag=True, help="Every failing or stopped item.")
@club_command
def items_reset(club: Club, ids: tuple[int, ...], reset_all: bool) -> None:
    """Let items be tried again from the next cycle."""
    if bool(ids) == reset_all:
        raise click.UsageError("give item ids or --all")
    count = reset_items(None if reset_all else list(ids))
    click.echo(f"{count} item(s) will be tried again in the next cycle")


COMMANDS = [stats, report_command, conflicts_command, items_group]
