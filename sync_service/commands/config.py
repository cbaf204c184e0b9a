"""`sync-service config get|set|list`: HOME/config.toml, KEY as SECTION.NAME (e.g. gateway.listen).
Both services read the file; the work is in service_runtime/config.py."""

from __future__ import annotations

import click

from service_runtime.cli_support import open_home
from service_runtime.config import ConfigError, config_items, config_value, set_config_value
from service_runtime.home import HomeError, resolve_home

from .context import emit_json, emit_table, json_option


@click.group("config")
def config() -> None:
    """The configuration file both services read (HOME/config.toml), KEY as SECTION.NAME."""


@config.command("get")
@click.argument("key")
@click.pass_obj
def config_get(home_value: str | None, key: str) -> None:
    """Print the value of KEY (e.g. gateway.listen)."""
    _, settings = open_home(home_value)
    try:
        click.echo(config_value(settings, key))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@config.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_obj
def config_set(home_value: str | None, key: str, value: str) -> None:
    """Set KEY to VALUE in the file, checked as the services read it; the file's comments stay.
    The services read the file when they start."""
    try:
        home = resolve_home(home_value).prepare()
        before, now = set_config_value(home, key, value)
    except (HomeError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    key = key.strip()
    if before == now:
        click.echo(f"{key} = {now} (unchanged)")
        return
    click.echo(f"{key} = {now}" + (f" (was {before})" if before is not None else ""))
    click.echo("The services read it when they start: restart them for it to take effect.")


@config.command("list")
@json_option
@click.pass_obj
def config_list(home_value: str | None, as_json: bool) -> None:
    """Every key with its value, and whether it is the default."""
    _, settings = open_home(home_value)
    items = config_items(settings)
    if as_json:
        emit_json([{"key": i.key, "value": i.value, "default": i.default, "is_default": i.is_default} for i in items])
        return
    emit_table(
        ["KEY", "VALUE", "DEFAULT"],
        [(i.key, i.value, "(default)" if i.is_default else f"default: {i.default}") for i in items],
    )


COMMANDS = [config]
