"""What every admin command needs: the home, its config and the club database, opened once; and
one way to turn a refusal into one clear line and exit status 1, with nothing half-written."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

import click
import peewee as pw

from service_runtime.cli_support import open_home
from service_runtime.config import Config
from service_runtime.home import Home

from ..admin import AdminError
from ..admin.refusals import refusal_message
from ..gateway_calls import GatewayCallFailed
from ..store.database import DATABASE_FILE, open_database
from ..store.schema import SchemaError
from ..vault import VaultError


@dataclass(frozen=True)
class Club:
    home: Home
    config: Config
    db: pw.SqliteDatabase

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.club.timezone)


def open_club(home_value: str | None) -> Club:
    home, config = open_home(home_value)
    try:
        db = open_database(home.root / DATABASE_FILE)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from None
    return Club(home, config, db)


def club_command(function: Callable[..., Any] | None = None, *, transaction: bool = True) -> Any:
    """Give the command a `club` as first argument and run it in one transaction: any refusal
    rolls everything back and becomes one line on stderr with exit status 1. A command that waits
    on the network between reading and writing says `transaction=False` and opens its own short
    transactions (`club.db.atomic()`), so that the database is never locked while it waits."""
    if function is None:
        return functools.partial(club_command, transaction=transaction)

    @click.pass_obj
    @functools.wraps(function)
    def wrapper(home_value: str | None, *args: Any, **kwargs: Any) -> Any:
        club = open_club(home_value)
        try:
            if not transaction:
                return function(club, *args, **kwargs)
            with club.db.atomic():
                return function(club, *args, **kwargs)
        except (AdminError, VaultError, GatewayCallFailed, pw.IntegrityError, pw.OperationalError) as exc:
            raise click.ClickException(refusal_message(exc) or str(exc)) from None
        finally:
            club.db.close()

    return wrapper


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def emit_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if not rows:
        click.echo("(none)")
        return
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
