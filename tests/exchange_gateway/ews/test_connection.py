import pytest

from exchange_gateway.errors import GatewayError
from exchange_gateway.ews.connection import AccountCache, AccountSpec, ExchangeSettings

APP = {
    "kind": "app",
    "tenant": "contoso.example",
    "client_id": "client-1",
    "client_secret": "app-secret",
    "authority": "https://login.example/contoso.example",
    "graph_url": "https://graph.example/v1.0",
}
WIRE = {"ews_url": "https://mail.example.com/EWS/Exchange.asmx", "mailbox": "pro@club.example", "password": "pw"}


def test_spec_from_wire():
    spec = AccountSpec.from_wire(WIRE)
    assert (spec.username, spec.auth) == ("pro@club.example", "basic")
    assert "pw" not in repr(spec)
    assert spec.label == "pro@club.example at mail.example.com"


@pytest.mark.parametrize(
    "change",
    [
        {"ews_url": "mail.example.com"},
        {"ews_url": "ftp://x/EWS"},
        {"mailbox": ""},
        {"password": None},
        {"auth": "kerberos"},
    ],
)
def test_spec_refusals(change):
    with pytest.raises(GatewayError) as refused:
        AccountSpec.from_wire({**WIRE, **change})
    assert refused.value.code == "invalid"


def test_cache_keeps_one_account_per_credentials_and_forgets():
    cache = AccountCache(ExchangeSettings())
    spec = AccountSpec.from_wire(WIRE)
    first = cache.get(spec)
    same = AccountSpec.from_wire({**WIRE, "mailbox": "PRO@club.example", "username": "pro@club.example"})
    assert cache.get(same) is first
    other = cache.get(AccountSpec.from_wire({**WIRE, "password": "new"}))
    assert other is not first and len(cache) == 2
    cache.forget(spec)
    assert cache.get(spec) is not first


TAGGED = {
    "backend": "ews",
    "endpoint": "https://mail.example.com/EWS/Exchange.asmx",
    "mailbox": "pro@club.example",
    "credentials": {"kind": "password", "username": "pro@club.example", "password": "pw", "auth": "basic"},
}


def test_the_tagged_and_the_flat_form_name_the_same_account():
    tagged, flat = AccountSpec.from_wire(TAGGED), AccountSpec.from_wire(WIRE)
    assert tagged == flat
    assert tagged.cache_key == flat.cache_key
    assert tagged.label == "pro@club.example at mail.example.com"


def test_the_tagged_form_carries_ntlm_and_a_domain_user():
    credentials = {**TAGGED["credentials"], "username": "CLUB\\pro", "auth": "ntlm"}
    spec = AccountSpec.from_wire({**TAGGED, "credentials": credentials})
    assert (spec.ews_url, spec.mailbox, spec.username, spec.auth) == (
        "https://mail.example.com/EWS/Exchange.asmx",
        "pro@club.example",
        "CLUB\\pro",
        "ntlm",
    )
    assert spec.cache_key != AccountSpec.from_wire(TAGGED).cache_key


@pytest.mark.parametrize(
    "change, message",
    [
        ({"endpoint": "ftp://x/EWS"}, "account: 'ftp://x/EWS' is not an EWS address"),
        ({"mailbox": "pro"}, "account: 'pro' is not a mailbox address"),
        ({"credentials": None}, "account.credentials must be a map"),
        ({"credentials": {**TAGGED["credentials"], "auth": "kerberos"}}, "must be one of basic, ntlm"),
        ({"credentials": {**TAGGED["credentials"], "password": ""}}, "account.credentials.password is missing"),
    ],
)
def test_tagged_refusals_are_invalid_and_keep_the_password_out(change, message):
    with pytest.raises(GatewayError) as refused:
        AccountSpec.from_wire({**TAGGED, **change})
    assert (refused.value.code, message in refused.value.message) == ("invalid", True), refused.value.message
    assert "pw" not in refused.value.message


@pytest.mark.parametrize(
    "change, message",
    [
        ({"backend": "jmap"}, "account: the backend 'jmap' is not supported here (known: ews, graph)"),
        (
            {"credentials": {"kind": "kerberos"}},
            "account: credentials of kind 'kerberos' are not supported here (known: password, app)",
        ),
        ({"backend": "graph", "credentials": APP}, "the EWS backend cannot serve a 'graph' account"),
    ],
)
def test_a_backend_or_credentials_it_does_not_speak_are_unsupported(change, message):
    with pytest.raises(GatewayError) as refused:
        AccountSpec.from_wire({**TAGGED, **change})
    assert (refused.value.code, refused.value.message) == ("unsupported", message)


def test_an_account_with_the_app_is_kept_per_app_and_secret_and_shows_no_secret():
    spec = AccountSpec.from_wire({**TAGGED, "credentials": APP})
    assert (spec.auth, spec.app is not None, spec.password) == ("oauth", True, "")
    assert "app-secret" not in repr(spec)
    other = AccountSpec.from_wire({**TAGGED, "credentials": {**APP, "client_secret": "another"}})
    assert other.cache_key != spec.cache_key
    password = AccountSpec.from_wire(TAGGED)
    assert password.cache_key != spec.cache_key
