"""`sync-service account set|show`: each user's Exchange account."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from protocol.addresses import Address
from service_runtime.cli_support import AddressType
from service_runtime.logsetup import configure_logging

from ..admin import AdminError
from ..admin.accounts import account_for_gateway, set_account, show_account
from ..admin.lookups import user_by_login
from ..admin.mailbox_blocks import clear_block, record_block
from ..gateway_calls import GatewayCallFailed, call_gateway, with_gateway
from ..service import SERVICE_NAME
from ..vault import PasswordVault
from .context import Club, club_command, emit_json, json_option


@click.group("account")
def account() -> None:
    """Exchange accounts (EWS address, mailbox, user name, password)."""


def _read_password(from_stdin: bool, password_file: Path | None) -> str:
    if from_stdin == (password_file is not None):
        raise AdminError("give the password with exactly one of --password-stdin or --password-file FILE")
    try:
        text = sys.stdin.read() if from_stdin else password_file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminError(f"cannot read the password: {exc}") from None
    lines = text.splitlines()
    return lines[0] if lines else ""


@account.command("set")
@click.argument("login")
@click.option("--ews-url", required=True, metavar="URL", help="e.g. https://mail.example.com/EWS/Exchange.asmx")
@click.option("--mailbox", required=True, metavar="ADDRESS", help="The mailbox to sync with.")
@click.option("--username", metavar="NAME", help="The login name for Exchange (default: the mailbox).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Read the password from the first line of FILE.",
)
@club_command
def account_set(
    club: Club,
    login: str,
    ews_url: str,
    mailbox: str,
    username: str | None,
    password_stdin: bool,
    password_file: Path | None,
) -> None:
    """Set (or replace) the user's Exchange account. The password is stored encrypted."""
    password = _read_password(password_stdin, password_file)
    set_account(login, ews_url, mailbox, username, password, PasswordVault.for_home(club.home))
    click.echo(f"Exchange account of {login} saved (password encrypted)")


@account.command("show")
@click.argument("login")
@json_option
@club_command
def account_show(club: Club, login: str, as_json: bool) -> None:
    """Show the user's Exchange account; the password is masked."""
    view = show_account(login)
    if as_json:
        emit_json(dataclasses.asdict(view))
        return
    for name, value in dataclasses.asdict(view).items():
        click.echo(f"{name.replace('_', ' ')}: {value}")


@account.command("check")
@click.argument("login")
@click.option("--gateway", type=AddressType(), default=None, help="The Exchange gateway (default: the config file's).")
@club_command(transaction=False)
def account_check(club: Club, login: str, gateway: Address | None) -> None:
    """Log in to LOGIN's Exchange mailbox through the gateway and report the server's version.

    When Exchange accepts the login, a mailbox the sync left alone after a refused login is
    synchronised again from the next cycle; when it refuses it, the sync leaves it alone."""
    with club.db.atomic():
        wire = account_for_gateway(login, PasswordVault.for_home(club.home))
        user_id = user_by_login(login).id
    configure_logging(club.home, SERVICE_NAME, club.config.logs, stderr=None)
    try:
        result = call_gateway(club.home, with_gateway(club.config, gateway), "exchange.check", {"account": wire})
    except GatewayCallFailed as failure:
        if failure.code == "auth_failed":
            with club.db.atomic():
                record_block(user_id, failure.code, str(failure))
        raise
    with club.db.atomic():
        lifted = clear_block(user_id)
    version = result.get("server_version") or "unknown version"
    click.echo(
        f"{login}: OK, mailbox {result.get('mailbox')} on Exchange {version} (calendar: {result.get('calendar')})"
    )
    if lifted:
        click.echo(f"{login}: the login works again: the sync takes this mailbox up again with its next cycle")


COMMANDS = [account]
