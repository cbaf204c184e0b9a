"""`sync-service param set|get|list`: special parameters."""

from __future__ import annotations

import click

from ..admin.parameters import get_parameter, list_parameters, set_parameter
from .context import Club, club_command, emit_json, emit_table, json_option


@click.group("param")
def param() -> None:
    """Special parameters: SYNC_EXCH (1 = the module is on), SYNC_EXCH_ATTEMPTS (default 10), others."""


@param.command("set")
@click.argument("name")
@click.argument("value")
@club_command
def param_set(club: Club, name: str, value: str) -> None:
    """Set NAME to VALUE."""
    name, value = set_parameter(name, value)
    click.echo(f"{name} = {value}")


@param.command("get")
@click.argument("name")
@club_command
def param_get(club: Club, name: str) -> None:
    """Print the value of NAME."""
    click.echo(get_parameter(name))


@param.command("list")
@json_option
@club_command
def param_list(club: Club, as_json: bool) -> None:
    """Every parameter that is set, and the defaults of the module's own."""
    values = list_parameters()
    if as_json:
        emit_json([{"name": n, "value": v, "default": d} for n, (v, d) in values.items()])
    else:
        emit_table(["NAME", "VALUE", ""], [(n, v, "(default)" if d else "") for n, (v, d) in values.items()])


COMMANDS = [param]
