"""`exchange-gateway`: the Exchange gateway's command line."""

from __future__ import annotations

import errno
import signal
import ssl
import sys
from dataclasses import replace
from pathlib import Path

import click
import trio
from loguru import logger

from protocol.addresses import Address, is_loopback
from protocol.rpc import Heartbeat, PeerSettings
from service_runtime.cli_support import AddressType, open_home, service_group
from service_runtime.home import Home, HomeError, ensure_token
from service_runtime.log_commands import add_logs_command
from service_runtime.logsetup import configure_logging
from service_runtime.signals import stop_on_signals
from service_runtime.status import StatusReporter
from service_runtime.version import product_version

from .backends import backends
from .ews.connection import ExchangeSettings, configure_exchangelib
from .exchange_operations import ExchangeLimits, ExchangeOperations
from .operations import OperationTable
from .server import Gateway, GatewaySettings
from .tokens import TokenProvider

SERVICE_NAME = "exchange-gateway"


main = service_group(SERVICE_NAME, "The Exchange gateway of the PC CADDIE Exchange synchronisation.")
add_logs_command(main, SERVICE_NAME)


@main.command()
@click.option(
    "--listen",
    type=AddressType(allow_port_zero=True),
    default=None,
    help="Address to listen on (default: the config file's, 127.0.0.1:3000).",
)
@click.option("--allow-remote", is_flag=True, default=None, help="Allow listening on an address other than loopback.")
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False, readable=True),
    default=None,
    help="Trust this file's certificates (PEM) besides the system's (the same as [exchange] ca_bundle).",
)
@click.option("--verbose", is_flag=True, help="Log debugging detail too.")
@click.pass_obj
def run(
    home_value: str | None, listen: Address | None, allow_remote: bool | None, ca_bundle: str | None, verbose: bool
) -> None:
    """Run the gateway in the foreground until SIGINT or SIGTERM."""
    home, config = open_home(home_value)
    if ca_bundle is not None:
        config = replace(config, exchange=replace(config.exchange, ca_bundle=ca_bundle))
    gateway_config = config.gateway
    listen = listen or gateway_config.listen
    allowed = allow_remote if allow_remote is not None else gateway_config.allow_remote
    if not allowed and not is_loopback(listen.host):
        raise click.ClickException(
            f"refusing to listen on {listen}: not a loopback address (give --allow-remote to allow it)"
        )
    try:
        token = ensure_token(home)
    except (HomeError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(home, SERVICE_NAME, config.logs, verbose=verbose)
    settings = GatewaySettings(
        listen=listen,
        token=token,
        version=product_version(),
        max_frame_size=gateway_config.max_frame_bytes,
        handshake_timeout=gateway_config.handshake_timeout_seconds,
        shutdown_grace=gateway_config.shutdown_grace_seconds,
        max_clients=gateway_config.max_clients,  # issue 13, defect 9
        peer=replace(
            PeerSettings(),
            heartbeat=Heartbeat(gateway_config.heartbeat_interval_seconds, gateway_config.heartbeat_max_missed),
        ),
    )
    exchange = config.exchange
    exchange_settings = ExchangeSettings(
        request_timeout=exchange.request_timeout_seconds,
        verify_tls=exchange.verify_tls,
        ca_bundle=exchange.ca_bundle or None,
        connections_per_endpoint=exchange.max_parallel_per_mailbox,
    )
    try:
        configure_exchangelib(exchange_settings)
    except (ssl.SSLError, OSError) as exc:
        raise click.ClickException(
            f"the CA bundle {exchange_settings.ca_bundle!r} could not be read as PEM certificates: {exc}"
        ) from None
    tokens = TokenProvider(exchange_settings)  # the club's app's tokens, for every backend and app_check
    operations = ExchangeOperations(
        backends(exchange_settings, tokens=tokens),
        ExchangeLimits(
            exchange.max_parallel_calls,
            exchange.max_parallel_per_mailbox,
            exchange.operation_deadline_seconds,
            reply_bytes=gateway_config.max_frame_bytes * 3 // 4,
        ),
        tokens,
    )
    trio.run(_serve_until_signal, home, Gateway(settings, OperationTable(operations.table())), operations)


async def _serve_until_signal(home: Home, gateway: Gateway, operations: ExchangeOperations) -> None:
    """Serve until a signal stops the gateway, inside the backends' lifetime: what they hold (Graph's
    httpx client and its connections) is closed when the serving has ended."""
    async with operations.running():
        await _serve(home, gateway)


async def _serve(home: Home, gateway: Gateway) -> None:
    listen = gateway.settings.listen
    try:
        listeners = await gateway.open_listeners()
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        logger.error(f"Cannot listen on {listen}: {reason}")
        raise click.ClickException(f"cannot listen on {listen}: {reason}") from None
    host, port = listeners[0].socket.getsockname()[:2]
    reporter = StatusReporter(
        home,
        SERVICE_NAME,
        gateway.settings.version,
        lambda: {"listen": f"{host}:{port}", "clients": gateway.total_clients},
    )
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                await nursery.start(reporter.run)
                nursery.start_soon(stop_on_signals, signals, gateway.request_stop, nursery.cancel_scope)
                await gateway.serve(listeners)
                nursery.cancel_scope.cancel()
    finally:
        reporter.stopped()


class MailboxType(click.ParamType):
    """ADDRESS:PASSWORD of an emulated mailbox (the password may contain colons)."""

    name = "ADDRESS:PASSWORD"

    def convert(self, value, param, ctx) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        address, sep, password = str(value).partition(":")
        address = address.strip()
        if not sep or not password:
            self.fail(f"{value!r} is not ADDRESS:PASSWORD", param, ctx)
        local_part, at, domain = address.partition("@")
        if not at or not local_part or not domain or " " in address:
            self.fail(f"{address!r} is not an e-mail address", param, ctx)
        return address, password


@main.command()
@click.option(
    "--listen",
    type=AddressType(allow_port_zero=True),
    required=True,
    help="Loopback address to listen on (port 0: any).",
)
@click.option(
    "--mailbox",
    "mailboxes",
    type=MailboxType(),
    multiple=True,
    required=True,
    help="A mailbox and the password of its Basic auth user; repeat for more.",
)
@click.option(
    "--app",
    "apps",
    metavar="TENANT:CLIENT_ID:SECRET",
    multiple=True,
    help="An app registration of a tenant (identity platform, Graph, EWS with bearer tokens); repeat for more.",
)
@click.option(
    "--tls",
    "tls_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="CERT_DIR",
    help="Serve HTTPS with a certificate made at start; its CA goes to CERT_DIR/ca.pem.",
)
@click.option("--verbose", is_flag=True, help="Log every request.")
def emulator(
    listen: Address,
    mailboxes: tuple[tuple[str, str], ...],
    apps: tuple[str, ...],
    tls_dir: Path | None,
    verbose: bool,
) -> None:
    """Run a stand-in Exchange server (EWS SOAP, Basic auth, in memory) until SIGINT or SIGTERM.

    It answers at http://HOST:PORT/EWS/Exchange.asmx; tests steer it at /emulator/faults and
    /emulator/state (see docs/emulator.md). It prints its EWS URL on the first line of stdout.
    With --app it is also the identity platform (/TENANT/...) and Microsoft Graph (/v1.0/); with
    --tls it serves HTTPS with a certificate made at start, its CA in CERT_DIR/ca.pem.
    """
    from exchange_standin.identity import parse_app
    from exchange_standin.logformat import log_to_stderr
    from exchange_standin.server import EmulatorError, EmulatorServer

    try:
        app_specs = [parse_app(text) for text in apps]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--app'") from None
    if len({(spec.tenant, spec.client_id) for spec in app_specs}) != len(app_specs):
        raise click.BadParameter("an app is given twice", param_hint="'--app'")

    seen = set()
    for address, _password in mailboxes:
        if address.lower() in seen:
            raise click.BadParameter(f"mailbox {address} is given twice", param_hint="'--mailbox'")
        seen.add(address.lower())
    log_to_stderr(verbose)
    try:
        server = EmulatorServer(listen.host, listen.port, mailboxes, apps=app_specs, tls_dir=tls_dir)
    except EmulatorError as exc:
        raise click.ClickException(str(exc)) from None

    def stop(signum: int, _frame: object) -> None:
        logger.info(f"Emulator stopping ({signal.Signals(signum).name})")
        server.request_stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    click.echo(server.url)
    sys.stdout.flush()
    server.serve_forever()
    server.stop()
    logger.info("Emulator stopped")
