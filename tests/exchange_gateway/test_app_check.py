"""exchange.app_check: a token for the club's app through the gateway, answered with its expiry
only (never the token), and every refusal a stable code with one line without the secret."""

import datetime as dt

import msgpack
import pytest
import trio

from exchange_gateway.errors import GatewayError
from exchange_gateway.exchange_operations import ExchangeOperations
from exchange_gateway.tokens import TokenProvider
from protocol.accounts import EWS_SCOPE, GRAPH_SCOPE

from .test_tokens import APP, SECRET, IdentityPlatform


@pytest.fixture
def platform():
    return IdentityPlatform()


@pytest.fixture
def operations(platform):
    return ExchangeOperations({}, tokens=TokenProvider(http_client=platform))


def check(operations, args):
    return trio.run(operations.table()["exchange.app_check"], args)


def test_it_answers_each_token_expiry_and_never_the_token(operations, platform):
    answer = check(operations, {"app": APP.to_wire(), "scopes": [GRAPH_SCOPE, EWS_SCOPE]})
    assert answer["tenant"] == APP.tenant and answer["client_id"] == APP.client_id
    assert [t["scope"] for t in answer["tokens"]] == [GRAPH_SCOPE, EWS_SCOPE]
    for token in answer["tokens"]:
        assert 3590 <= token["expires_in"] <= 3600
        assert dt.datetime.fromisoformat(token["expires_at"]).tzinfo is not None
    wire = msgpack.packb(answer)
    assert b"token-" not in wire and SECRET.encode() not in wire
    assert platform.issued == 2


def test_graph_is_the_default_scope(operations):
    assert [t["scope"] for t in check(operations, {"app": APP.to_wire()})["tokens"]] == [GRAPH_SCOPE]


@pytest.mark.parametrize(
    "args, message",
    [
        ({}, "app must be a map"),
        ({"app": {**APP.to_wire(), "tenant": ""}}, "app.tenant is missing"),
        ({"app": {**APP.to_wire(), "authority": "http://x"}}, "app: 'http://x' is not an authority"),
        ({"app": APP.to_wire(), "scopes": ["https://example.com/.default"]}, "scopes must be a list of"),
        ({"app": APP.to_wire(), "scopes": []}, "scopes must be a list of"),
    ],
)
def test_a_malformed_request_is_invalid(operations, args, message):
    with pytest.raises(GatewayError) as refused:
        check(operations, args)
    assert refused.value.code == "invalid" and message in refused.value.message
    assert SECRET not in refused.value.message


def test_a_wrong_secret_is_auth_failed_without_the_secret(operations):
    with pytest.raises(GatewayError) as refused:
        check(operations, {"app": {**APP.to_wire(), "client_secret": "typo-" + SECRET}})
    assert refused.value.to_wire() == {
        "code": "auth_failed",
        "message": "the app's client secret was refused by the identity platform (AADSTS7000215)",
    }
