"""`sync-service`: the synchronisation service's command line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click
import trio

from protocol.addresses import Address
from service_runtime.cli_support import AddressType, open_home, service_group
from service_runtime.home import HomeError
from service_runtime.log_commands import add_logs_command
from service_runtime.logsetup import configure_logging
from service_runtime.overview import overview as service_overview
from service_runtime.overview import render as render_overview

from .commands import register as register_admin_commands
from .commands.manager import manager as manager_command
from .service import SERVICE_NAME, ServiceSettings, run_service, sync_once
from .store.schema import SchemaError
from .vault import VaultError

main = service_group(SERVICE_NAME, "The synchronisation service of the PC CADDIE Exchange synchronisation.")
add_logs_command(main, SERVICE_NAME)
register_admin_commands(main)
main.add_command(manager_command)


gateway_option = click.option(
    "--gateway",
    type=AddressType(),
    default=None,
    help="The Exchange gateway's address (default: the config file's, 127.0.0.1:3000).",
)


@main.command()
@gateway_option
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds between the starts of two sync cycles (default: the config file's, 60).",
)
@click.option("--verbose", is_flag=True, help="Log debugging detail too.")
@click.pass_obj
def run(home_value: str | None, gateway: Address | None, interval: float | None, verbose: bool) -> None:
    """Run the synchronisation service in the foreground until SIGINT or SIGTERM."""
    home, config = open_home(home_value)
    settings = ServiceSettings.from_config(config, gateway=gateway, interval=interval)
    configure_logging(home, SERVICE_NAME, config.logs, verbose=verbose)
    try:
        trio.run(run_service, home, settings)
    except (HomeError, SchemaError, VaultError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command("sync-now")
@gateway_option
@click.option("--verbose", is_flag=True, help="Log debugging detail too.")
@click.pass_obj
def sync_now(home_value: str | None, gateway: Address | None, verbose: bool) -> None:
    """Run one sync cycle in the foreground, then exit (status 1 if it could not complete)."""
    home, config = open_home(home_value)
    settings = ServiceSettings.from_config(config, gateway=gateway)
    configure_logging(home, SERVICE_NAME, config.logs, verbose=verbose)
    try:
        report = trio.run(sync_once, home, settings)
    except (HomeError, SchemaError, VaultError) as exc:
        raise click.ClickException(str(exc)) from None
    if not report.ok:
        raise click.ClickException(report.error or "the sync cycle did not complete")
    click.echo(f"Sync cycle done in {report.seconds * 1000:.0f} ms" + (f": {report.summary}" if report.summary else ""))


@main.command()
@click.option("--keep-running", is_flag=True, help="After the story, leave both services running until Ctrl+C.")
@click.pass_obj
def demo(home_value: str | None, keep_running: bool) -> None:
    """The whole story on embedded defaults, with both services as real processes, then exit 0.

    Uses a fresh temporary home unless --home is given, and a free loopback port.
    """
    from sandbox.demo import DemoFailed, run_demo  # (the demo kit, loaded only for the demo)

    try:
        run_demo(Path(home_value) if home_value else None, keep_running)
    except DemoFailed as exc:
        raise click.ClickException(f"demo failed: {exc}") from None


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
@click.pass_obj
def overview(home_value: str | None, as_json: bool) -> None:
    """Both services: name, state, ID, time of the last heartbeat, PID, version."""
    home, _ = open_home(home_value)
    rows = service_overview(home)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(row) for row in rows], indent=2, ensure_ascii=False))
        return
    for line in render_overview(rows):
        click.echo(line)
