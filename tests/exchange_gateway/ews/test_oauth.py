"""EWS with the club's app (`--oauth`): the gateway obtains the app's token through real msal from
the stand-in's identity platform over verified TLS, and exchangelib sends it as a bearer token,
impersonating the mailbox; the token is renewed before it expires, and neither it nor the secret
reaches a log line or an answer."""

from __future__ import annotations

import logging

import msgpack
import pytest
import trio
from exchangelib.protocol import close_connections
from loguru import logger

from exchange_gateway.backends import backends
from exchange_gateway.errors import GatewayError
from exchange_gateway.ews.connection import ExchangeSettings, configure_exchangelib
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations
from exchange_gateway.tokens import TokenProvider
from exchange_standin import EmulatorServer
from exchange_standin.identity import AppSpec
from protocol.accounts import EWS_SCOPE, GRAPH_SCOPE, AppCredentials

TENANT, CLIENT, SECRET = "contoso.example", "client-7f3a", "Ap9~secret.of-the-club"
ANNA = ("anna@club.example", "anna-password")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def standin(tmp_path):
    server = EmulatorServer(mailboxes=[ANNA], apps=[AppSpec(TENANT, CLIENT, SECRET)], tls_dir=tmp_path).start()
    settings = ExchangeSettings(request_timeout=10, ca_bundle=str(server.ca_file))
    configure_exchangelib(settings)
    yield server, settings
    server.stop()
    close_connections()
    configure_exchangelib(ExchangeSettings(request_timeout=10))


@pytest.fixture
def logged(caplog):
    """Every line logged meanwhile, through the standard logging (exchangelib, msal, requests) or
    loguru (the product's own), at every level."""
    caplog.set_level(logging.DEBUG)
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="TRACE")
    yield lambda: "\n".join(lines + [record.getMessage() for record in caplog.records])
    logger.remove(sink)


def app(server, secret=SECRET):
    return AppCredentials(TENANT, CLIENT, secret, f"{server.base_url}/{TENANT}", f"{server.base_url}/v1.0")


def account(server, secret=SECRET):
    return {"backend": "ews", "endpoint": server.url, "mailbox": ANNA[0], "credentials": app(server, secret).to_wire()}


def operations(settings, tokens):
    return ExchangeOperations(backends(settings, tokens=tokens), ExchangeLimits(deadline=30), tokens)


def call(ops, name, args):
    return trio.run(ops.table()[name], args)


def test_a_mailbox_is_reached_with_the_app_token_and_impersonation(standin, logged):
    server, settings = standin
    tokens = TokenProvider(settings)
    ops = operations(settings, tokens)
    checked = call(ops, "exchange.check", {"account": account(server)})
    assert checked["mailbox"] == ANNA[0]
    folders = call(ops, "exchange.folders", {"account": account(server)})
    assert any(folder["main"] for folder in folders)
    token = tokens.token(app(server), EWS_SCOPE)
    assert "POST /EWS/Exchange.asmx" in logged()  # the stand-in's own lines are there
    assert SECRET not in logged() and token.value not in logged()
    assert SECRET.encode() not in msgpack.packb([checked, folders])


def test_the_token_is_renewed_before_it_expires(standin):
    server, settings = standin
    clock = Clock(server.identity.clock())
    tokens = TokenProvider(settings, clock=clock)
    ops = operations(settings, tokens)
    call(ops, "exchange.check", {"account": account(server)})
    first = tokens.token(app(server), EWS_SCOPE)
    clock.now = first.expires_at - 299  # within five minutes of its expiry
    server.identity.expire_all()  # the stand-in refuses the tokens issued so far
    assert call(ops, "exchange.check", {"account": account(server)})["mailbox"] == ANNA[0]
    assert tokens.token(app(server), EWS_SCOPE).value != first.value


def test_a_wrong_secret_is_auth_failed_and_the_secret_is_nowhere(standin, logged):
    server, settings = standin
    ops = operations(settings, TokenProvider(settings))
    with pytest.raises(GatewayError) as refused:
        call(ops, "exchange.check", {"account": account(server, "wrong-" + SECRET)})
    assert refused.value.code == "auth_failed"
    assert refused.value.message.startswith("the app's client secret was refused by the identity platform")
    assert SECRET not in logged() + refused.value.message


def test_app_check_against_the_identity_platform(standin):
    server, settings = standin
    ops = operations(settings, TokenProvider(settings))
    answer = call(ops, "exchange.app_check", {"app": app(server).to_wire(), "scopes": [GRAPH_SCOPE, EWS_SCOPE]})
    assert [t["scope"] for t in answer["tokens"]] == [GRAPH_SCOPE, EWS_SCOPE]
    with pytest.raises(GatewayError) as refused:
        call(
            ops,
            "exchange.app_check",
            {
                "app": {
                    **app(server).to_wire(),
                    "tenant": "fabrikam.example",
                    "authority": f"{server.base_url}/fabrikam.example",
                }
            },
        )
    assert refused.value.code == "auth_failed" and "fabrikam.example" in refused.value.message
