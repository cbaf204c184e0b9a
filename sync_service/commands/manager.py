"""`sync-service manager`: the service manager window, in the terminal or (--web) in a browser.
Textual is loaded only when the window opens, so that the other commands start as fast as before."""

from __future__ import annotations

import click

from protocol.addresses import Address, is_loopback
from service_runtime.cli_support import AddressType, open_home


@click.command("manager")
@click.option(
    "--control",
    type=click.Choice(["auto", "systemd", "windows", "process"]),
    default="auto",
    show_default=True,
    help="How Start/Stop/Restart act: systemd units, Windows services, or processes this window starts "
    "(auto: systemd or Windows where both services are installed as such, else process).",
)
@click.option("--web", type=AddressType(), default=None, help="Serve the window to a browser at HOST:PORT instead.")
@click.option("--allow-remote", is_flag=True, help="With --web: allow an address other than loopback.")
@click.pass_obj
def manager(home_value: str | None, control: str, web: Address | None, allow_remote: bool) -> None:
    """The service manager window: both services, F2 Start, F3 Stop, F4 Restart, F5 Refresh,
    F6 Log archive, Shift+F5 auto refresh on/off, and the log of the selected service."""
    if allow_remote and web is None:
        raise click.UsageError("--allow-remote goes with --web HOST:PORT")
    if web is not None and not allow_remote and not is_loopback(web.host):
        raise click.ClickException(f"--web {web}: not a loopback address; add --allow-remote to serve it to others")
    home, _ = open_home(home_value)
    if web is not None:
        from sync_service.manager.web import ServeError, serve

        try:
            serve(home, control, web)
        except ServeError as exc:
            raise click.ClickException(str(exc)) from None
        return
    from sync_service.manager.app import ManagerApp
    from sync_service.manager.control import choose_control

    ManagerApp(home, choose_control(control, home)).run()
