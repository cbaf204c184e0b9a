"""`sync-service app set|show|check`: the club's app registration in Microsoft Entra ID."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from protocol.addresses import Address
from service_runtime.cli_support import AddressType
from service_runtime.logsetup import configure_logging

from ..admin import AdminError
from ..admin.app import app_for_gateway, read_certificate, scopes_in_use, set_app, show_app
from ..gateway_calls import call_gateway, with_gateway
from ..service import SERVICE_NAME
from ..vault import PasswordVault
from .context import Club, club_command, emit_json, json_option


@click.group("app")
def app() -> None:
    """The club's app registration (Microsoft Entra ID) for Exchange Online."""


def _read_secret() -> str:
    try:
        lines = sys.stdin.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminError(f"cannot read the client secret: {exc}") from None
    return lines[0].strip() if lines else ""


@app.command("set")
@click.option(
    "--tenant", required=True, metavar="TENANT", help="The tenant id or domain, e.g. contoso.onmicrosoft.com."
)
@click.option("--client-id", required=True, metavar="ID", help="The app's application (client) id.")
@click.option("--client-secret-stdin", is_flag=True, help="Read the client secret from the first line of stdin.")
@click.option(
    "--certificate",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A client certificate instead of a secret: a PEM file with the certificate and its private key.",
)
@click.option(
    "--authority", metavar="URL", help="Where tokens come from (default: https://login.microsoftonline.com/TENANT)."
)
@click.option(
    "--graph-url", metavar="URL", help="Microsoft Graph's address (default: https://graph.microsoft.com/v1.0)."
)
@club_command
def app_set(
    club: Club,
    tenant: str,
    client_id: str,
    client_secret_stdin: bool,
    certificate: Path | None,
    authority: str | None,
    graph_url: str | None,
) -> None:
    """Set (or replace) the club's app registration; the client secret (or the certificate's
    private key) is stored encrypted."""
    if client_secret_stdin == (certificate is not None):
        raise click.UsageError("give exactly one of --client-secret-stdin or --certificate FILE")
    vault = PasswordVault.for_home(club.home)
    if certificate is not None:
        try:
            pem = certificate.read_bytes()
        except OSError as exc:
            raise AdminError(f"cannot read {certificate}: {exc.strerror or exc}") from None
        client = read_certificate(pem, str(certificate))
        registration = set_app(tenant, client_id, "", vault, authority, graph_url, client)
        click.echo(
            f"app registration {registration.client_id} of {registration.tenant} saved "
            f"(client certificate {client.thumbprint}, its private key encrypted)"
        )
        return
    registration = set_app(tenant, client_id, _read_secret(), vault, authority, graph_url)
    click.echo(f"app registration {registration.client_id} of {registration.tenant} saved (client secret encrypted)")


@app.command("show")
@json_option
@club_command
def app_show(club: Club, as_json: bool) -> None:
    """Show the club's app registration; the client secret is masked."""
    view = show_app()
    if as_json:
        emit_json(dataclasses.asdict(view))
        return
    for name, value in dataclasses.asdict(view).items():
        click.echo(f"{name.replace('_', ' ')}: {value}")


@app.command("check")
@click.option("--gateway", type=AddressType(), default=None, help="The Exchange gateway (default: the config file's).")
@club_command(transaction=False)
def app_check(club: Club, gateway: Address | None) -> None:
    """Obtain a token for the club's app through the gateway (for each API its accounts use) and
    report how long it is valid; the token itself is never shown."""
    with club.db.atomic():
        wire = app_for_gateway(PasswordVault.for_home(club.home))
        scopes = scopes_in_use()
    configure_logging(club.home, SERVICE_NAME, club.config.logs, stderr=None)
    result = call_gateway(
        club.home, with_gateway(club.config, gateway), "exchange.app_check", {"app": wire, "scopes": scopes}
    )
    for token in result.get("tokens", []):
        click.echo(
            f"app {wire['client_id']}: OK, a token for {token.get('scope')} "
            f"valid for {int(token.get('expires_in', 0))} s (until {token.get('expires_at')})"
        )


COMMANDS = [app]
