"""protocol/accounts.py: an account as a tagged union, in both wire forms."""

import json
import subprocess
import sys

import pytest

from protocol.accounts import (
    AccountError,
    AppCredentials,
    EwsAccount,
    GraphAccount,
    PasswordCredentials,
    account_from_wire,
)

SECRET = "S3cr3t-Pa55!"
URL = "https://mail.example.com/EWS/Exchange.asmx"
TAGGED = {
    "backend": "ews",
    "endpoint": URL,
    "mailbox": "golf@example.com",
    "credentials": {"kind": "password", "username": "DOMAIN\\golf", "password": SECRET, "auth": "ntlm"},
}
FLAT = {"ews_url": URL, "mailbox": "golf@example.com", "password": SECRET}


def test_an_ews_account_goes_over_the_wire_and_back():
    account = EwsAccount(URL, "golf@example.com", PasswordCredentials("DOMAIN\\golf", SECRET, "ntlm"))
    wire = account.to_wire()
    assert wire == TAGGED
    assert json.loads(json.dumps(wire)) == wire  # plain JSON
    assert account_from_wire(wire) == account
    assert (account.backend, account.credentials.kind, account.label) == (
        "ews",
        "password",
        "golf@example.com at mail.example.com",
    )


def test_the_flat_form_of_the_previous_version_is_read_as_ews_with_a_password():
    account = account_from_wire(FLAT)
    assert account == EwsAccount(URL, "golf@example.com", PasswordCredentials("golf@example.com", SECRET, "basic"))
    named = account_from_wire({**FLAT, "username": "DOMAIN\\golf", "auth": "ntlm"})
    assert named.credentials == PasswordCredentials("DOMAIN\\golf", SECRET, "ntlm")
    assert account_from_wire(named.to_wire()) == named


def test_no_repr_shows_the_password():
    account = account_from_wire(TAGGED)
    assert SECRET not in repr(account) + str(account) + repr(account.credentials)


def test_each_wire_form_is_copied_not_shared():
    account = account_from_wire(TAGGED)
    first = account.to_wire()
    first["credentials"]["password"] = "changed"
    assert account.to_wire()["credentials"]["password"] == SECRET


def without(wire, *path):
    copy = json.loads(json.dumps(wire))
    inner = copy
    for name in path[:-1]:
        inner = inner[name]
    del inner[path[-1]]
    return copy


def changed(wire, value, *path):
    copy = json.loads(json.dumps(wire))
    inner = copy
    for name in path[:-1]:
        inner = inner[name]
    inner[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    "wire, message",
    [
        (None, "the request needs an 'account' map"),
        (["ews"], "the request needs an 'account' map"),
        ({}, "account.backend is missing"),
        (changed(TAGGED, 7, "backend"), "account.backend must be text"),
        (without(TAGGED, "endpoint"), "account.endpoint is missing"),
        (changed(TAGGED, "mail.example.com", "endpoint"), "'mail.example.com' is not an EWS address"),
        (changed(TAGGED, "ftp://mail.example.com/EWS", "endpoint"), "is not an EWS address"),
        (changed(TAGGED, "https://", "endpoint"), "is not an EWS address"),
        (without(TAGGED, "mailbox"), "account.mailbox is missing"),
        (changed(TAGGED, "golf", "mailbox"), "'golf' is not a mailbox address"),
        (without(TAGGED, "credentials"), "account.credentials must be a map"),
        (changed(TAGGED, "password", "credentials"), "account.credentials must be a map"),
        (without(TAGGED, "credentials", "kind"), "account.credentials.kind is missing"),
        (without(TAGGED, "credentials", "username"), "account.credentials.username is missing"),
        (changed(TAGGED, "  ", "credentials", "username"), "the user name is empty"),
        (without(TAGGED, "credentials", "password"), "account.credentials.password is missing"),
        (changed(TAGGED, "", "credentials", "password"), "account.credentials.password is missing"),
        (changed(TAGGED, 1234, "credentials", "password"), "account.credentials.password must be text"),
        (changed(TAGGED, SECRET + "\n", "credentials", "password"), "the password may not contain a line break"),
        (without(TAGGED, "credentials", "auth"), "account.credentials.auth is missing"),
        (changed(TAGGED, "kerberos", "credentials", "auth"), "must be one of basic, ntlm, not 'kerberos'"),
        (changed(FLAT, "mail.example.com", "ews_url"), "is not an EWS address"),
        (changed(FLAT, "", "mailbox"), "account.mailbox is missing"),
        (changed(FLAT, None, "password"), "account.password is missing"),
        (changed(FLAT, "kerberos", "auth"), "must be one of basic, ntlm"),
        (changed(FLAT, ["x"], "username"), "account.username must be text"),
        (changed(FLAT, 1, "auth"), "account.auth must be text"),
    ],
)
def test_malformed_accounts_are_invalid_and_say_why_without_the_password(wire, message):
    with pytest.raises(AccountError) as refused:
        account_from_wire(wire)
    assert refused.value.code == "invalid"
    assert message in refused.value.message
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    "wire, message",
    [
        (changed(TAGGED, "jmap", "backend"), "the backend 'jmap' is not supported here (known: ews, graph)"),
        (
            changed(TAGGED, {"kind": "kerberos"}, "credentials"),
            "credentials of kind 'kerberos' are not supported here (known: password, app)",
        ),
    ],
)
def test_a_backend_or_credentials_this_version_does_not_speak_are_unsupported(wire, message):
    with pytest.raises(AccountError) as refused:
        account_from_wire(wire)
    assert (refused.value.code, refused.value.message) == ("unsupported", message)


def test_building_an_account_validates_it_as_reading_one_does():
    with pytest.raises(AccountError, match="is not a mailbox address"):
        EwsAccount(URL, "not an address", PasswordCredentials("u", SECRET))
    with pytest.raises(AccountError, match="the password is empty"):
        PasswordCredentials("u", "")


def test_it_imports_nothing_that_does_io():
    io = "{'trio', 'peewee', 'exchangelib', 'requests'}"
    code = f"import sys, protocol.accounts; print(sorted({io} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


APP_SECRET = "app-S3cret~value"
APP = {
    "kind": "app",
    "tenant": "contoso.onmicrosoft.com",
    "client_id": "11111111-2222-3333-4444-555555555555",
    "client_secret": APP_SECRET,
    "authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com",
    "graph_url": "https://graph.microsoft.com/v1.0",
}
GRAPH = {"backend": "graph", "mailbox": "golf@example.com", "credentials": APP}


def test_a_graph_account_goes_over_the_wire_and_back_with_the_app():
    app = AppCredentials("contoso.onmicrosoft.com", "11111111-2222-3333-4444-555555555555", APP_SECRET)
    assert app.authority == APP["authority"] and app.graph_url == APP["graph_url"]  # the defaults
    account = GraphAccount("golf@example.com", app)
    assert account.to_wire() == GRAPH
    assert account_from_wire(GRAPH) == account
    assert account.label == "golf@example.com through Microsoft Graph"
    assert APP_SECRET not in repr(account) + str(account) + account.label + app.label


def test_an_ews_account_may_use_the_app():
    wire = {"backend": "ews", "endpoint": URL, "mailbox": "golf@example.com", "credentials": APP}
    account = account_from_wire(wire)
    assert isinstance(account, EwsAccount) and isinstance(account.credentials, AppCredentials)
    assert account.to_wire() == wire


@pytest.mark.parametrize(
    "wire, message",
    [
        (changed(GRAPH, {**APP, "client_secret": ""}, "credentials"), "account.credentials.client_secret is missing"),
        (changed(GRAPH, {**APP, "tenant": "a b"}, "credentials"), "'a b' is not a tenant id or domain"),
        (changed(GRAPH, {**APP, "client_id": "x/y"}, "credentials"), "'x/y' is not an application (client) id"),
        (changed(GRAPH, {**APP, "authority": "http://login.example"}, "credentials"), "is not an authority like"),
        (changed(GRAPH, {**APP, "graph_url": "graph"}, "credentials"), "is not a Microsoft Graph address"),
        (changed(GRAPH, {**APP, "client_secret": "a\nb"}, "credentials"), "may not contain a line break"),
        (changed(GRAPH, TAGGED["credentials"], "credentials"), "needs the club's app"),
        (changed(GRAPH, "x", "mailbox"), "is not a mailbox address"),
    ],
)
def test_malformed_app_accounts_are_invalid_without_the_secret(wire, message):
    with pytest.raises(AccountError) as refused:
        account_from_wire(wire)
    assert refused.value.code == "invalid"
    assert message in refused.value.message
    assert APP_SECRET not in str(refused.value) and SECRET not in str(refused.value)


def test_app_credentials_may_carry_a_client_certificate_instead_of_a_secret():
    key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
    wire = {**APP, "certificate": key, "thumbprint": "0F" * 20}
    del wire["client_secret"]
    account = account_from_wire({**GRAPH, "credentials": wire})
    assert account.credentials.certificate == key and account.credentials.client_secret == ""
    assert account.to_wire()["credentials"] == wire
    assert key not in repr(account)
    with pytest.raises(AccountError, match="thumbprint must be its SHA-1 in 40 hex digits"):
        account_from_wire({**GRAPH, "credentials": {**wire, "thumbprint": "xyz"}})
    with pytest.raises(AccountError, match="a secret or a certificate, not both"):
        AppCredentials("t.example", "c", "secret", certificate=key, thumbprint="0F" * 20)
