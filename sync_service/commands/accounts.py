"""`sync-service account set|show|check|remove`: each user's Exchange account."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from protocol.accounts import AUTH_TYPES
from protocol.addresses import Address
from service_runtime.cli_support import AddressType
from service_runtime.logsetup import configure_logging

from ..admin import AdminError
from ..admin.accounts import remove_account, set_account, set_app_account
from ..admin.between_cycles import between_cycles
from ..admin.exchange_calls import check_account
from ..admin.views import account_fields, account_lines
from ..gateway_calls import with_gateway
from ..service import SERVICE_NAME
from ..vault import PasswordVault
from .context import Club, club_command, emit_json, json_option


@click.group("account")
def account() -> None:
    """Exchange accounts (backend, EWS address, mailbox, user name, password)."""


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
@click.option("--ews-url", metavar="URL", help="e.g. https://mail.example.com/EWS/Exchange.asmx")
@click.option("--graph", is_flag=True, help="Exchange Online through Microsoft Graph, with the club's app.")
@click.option("--oauth", is_flag=True, help="EWS with the club's app (an OAuth2 bearer token, no password).")
@click.option("--mailbox", required=True, metavar="ADDRESS", help="The mailbox to sync with.")
@click.option("--username", metavar="NAME", help="The login name for Exchange (default: the mailbox).")
@click.option(
    "--auth",
    type=click.Choice(AUTH_TYPES),
    default=None,
    help="How the password is sent: Basic (over TLS, the default) or NTLM (a Windows domain login).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Read the password from the first line of FILE.",
)
@club_command(transaction=False)
def account_set(
    club: Club,
    login: str,
    ews_url: str | None,
    graph: bool,
    oauth: bool,
    mailbox: str,
    username: str | None,
    auth: str | None,
    password_stdin: bool,
    password_file: Path | None,
) -> None:
    """Set (or replace) the user's Exchange account: EWS at URL with a password, which is stored
    encrypted; EWS at URL with the club's app (--oauth); or Microsoft Graph with the club's app
    (--graph). The last two need `sync-service app set` first. A change of mailbox forgets the
    Exchange ids held for it, so it waits for a running sync cycle to end (`between_cycles`)."""
    vault = PasswordVault.for_home(club.home)
    if graph or oauth:
        _refuse_password_options(graph, oauth, ews_url, username, auth, password_stdin, password_file)
        with between_cycles(club.home.cycle_lock_file), club.db.atomic():
            set_app_account(login, mailbox, vault, None if graph else ews_url)
        click.echo(f"Exchange account of {login} saved (the club's app, {'Microsoft Graph' if graph else 'EWS'})")
        return
    if ews_url is None:
        raise click.UsageError("give --ews-url URL (or --graph for Microsoft Graph)")
    password = _read_password(password_stdin, password_file)
    with between_cycles(club.home.cycle_lock_file), club.db.atomic():
        set_account(login, ews_url, mailbox, username, password, vault, auth=auth or "basic")
    click.echo(f"Exchange account of {login} saved (password encrypted)")


def _refuse_password_options(
    graph: bool,
    oauth: bool,
    ews_url: str | None,
    username: str | None,
    auth: str | None,
    password_stdin: bool,
    password_file: Path | None,
) -> None:
    """The usage errors of an account with the club's app: it has no password of its own."""
    if graph and oauth:
        raise click.UsageError("give one of --graph (Microsoft Graph) or --oauth (EWS with the club's app), not both")
    if graph and ews_url is not None:
        raise click.UsageError("--graph takes no --ews-url: Microsoft Graph's address is the club's app's")
    if oauth and ews_url is None:
        raise click.UsageError("--oauth needs --ews-url URL (e.g. https://outlook.office365.com/EWS/Exchange.asmx)")
    named = [
        name
        for name, given in (
            ("--username", username is not None),
            ("--auth", auth is not None),
            ("--password-stdin", password_stdin),
            ("--password-file", password_file is not None),
        )
        if given
    ]
    if named:
        raise click.UsageError(f"an account with the club's app has no password: drop {', '.join(named)}")


@account.command("show")
@click.argument("login")
@json_option
@club_command
def account_show(club: Club, login: str, as_json: bool) -> None:
    """Show the user's Exchange account; the password is masked."""
    if as_json:
        emit_json(account_fields(login))
        return
    for line in account_lines(login):
        click.echo(line)


@account.command("check")
@click.argument("login")
@click.option("--gateway", type=AddressType(), default=None, help="The Exchange gateway (default: the config file's).")
@club_command(transaction=False)
def account_check(club: Club, login: str, gateway: Address | None) -> None:
    """Log in to LOGIN's Exchange mailbox through the gateway and report the server's version.

    When Exchange accepts the login, a mailbox the sync left alone after a refused login is
    synchronised again from the next cycle; when it refuses it, the sync leaves it alone."""
    configure_logging(club.home, SERVICE_NAME, club.config.logs, stderr=None)
    checked = check_account(club.db, club.home, with_gateway(club.config, gateway), login)
    for line in checked.lines():
        click.echo(line)


@account.command("remove")
@click.argument("login")
@click.option(
    "--force", is_flag=True, help="Remove it even while the user syncs calendars or contacts (they stop syncing)."
)
@club_command(transaction=False)
def account_remove(club: Club, login: str, force: bool) -> None:
    """Remove LOGIN's Exchange account (refused while the user syncs calendars or contacts, unless
    --force). Nothing is deleted in Exchange."""
    with between_cycles(club.home.cycle_lock_file), club.db.atomic():
        said = remove_account(login, force)
    for sentence in said:
        click.echo(sentence)


COMMANDS = [account]
