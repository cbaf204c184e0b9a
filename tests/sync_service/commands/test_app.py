"""`sync-service app set|show|check` and the accounts with the club's app (`account set --graph`,
`--oauth`): the client secret stored encrypted, never printed, carried to the gateway."""

import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sync_service.commands import app as app_commands
from sync_service.gateway_calls import GatewayCallFailed
from sync_service.store.database import open_database
from sync_service.store.mailbox_blocks import blocked_mailboxes, record_block

from .support import assert_refused

SECRET = "Q8~club-app-secret.value"
TENANT = "contoso.onmicrosoft.com"
CLIENT = "11111111-2222-3333-4444-555555555555"
URL = "https://outlook.office365.com/EWS/Exchange.asmx"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EWS_SCOPE = "https://outlook.office365.com/.default"


def database_bytes(home):
    data = (home / "pccaddie.sqlite3").read_bytes()
    wal = home / "pccaddie.sqlite3-wal"
    return data + (wal.read_bytes() if wal.exists() else b"")


def app_set(run, *extra, secret=SECRET):
    return run(
        "app", "set", "--tenant", TENANT, "--client-id", CLIENT, *extra, "--client-secret-stdin", input=secret + "\n"
    )


@pytest.fixture
def alice(run):
    run.ok("user", "add", "alice")
    return run


@pytest.fixture
def with_app(alice):
    result = app_set(alice)
    assert result.exit_code == 0, result.stderr
    return alice


def test_set_stores_the_secret_encrypted_and_show_masks_it(alice, tmp_path):
    result = app_set(alice)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"app registration {CLIENT} of {TENANT} saved (client secret encrypted)\n"
    assert SECRET.encode() not in database_bytes(tmp_path)
    shown = alice.json("app", "show")
    assert shown == {
        "tenant": TENANT,
        "client_id": CLIENT,
        "credential": "client secret",
        "client_secret": "********",
        "authority": f"https://login.microsoftonline.com/{TENANT}",
        "graph_url": "https://graph.microsoft.com/v1.0",
        "updated": shown["updated"],
        "accounts": 0,
    }
    out = alice.ok("app", "show")
    assert "client secret: ********" in out and SECRET not in out


def test_authority_and_graph_url_may_be_given(alice):
    assert (
        app_set(alice, "--authority", "https://login.example/t/", "--graph-url", "https://graph.example/v1.0").exit_code
        == 0
    )
    shown = alice.json("app", "show")
    assert (shown["authority"], shown["graph_url"]) == ("https://login.example/t", "https://graph.example/v1.0")


@pytest.mark.parametrize(
    "extra, secret, message",
    [
        (
            ("--authority", "http://login.example/t"),
            SECRET,
            "is not an authority like https://login.microsoftonline.com/",
        ),
        (("--graph-url", "graph"), SECRET, "is not a Microsoft Graph address"),
        ((), "", "the client secret is empty"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(alice, extra, secret, message):
    line = assert_refused(app_set(alice, *extra, secret=secret))
    assert message in line and SECRET not in line
    assert alice.count("app_registration") == 0


def test_a_bad_tenant_or_client_id_is_refused(alice):
    line = assert_refused(
        alice("app", "set", "--tenant", "a b", "--client-id", CLIENT, "--client-secret-stdin", input="s\n")
    )
    assert "'a b' is not a tenant id or domain" in line
    line = assert_refused(
        alice("app", "set", "--tenant", TENANT, "--client-id", "x/y", "--client-secret-stdin", input="s\n")
    )
    assert "is not an application (client) id" in line


def test_missing_options_are_usage_errors(alice):
    assert "--client-secret-stdin" in alice.usage_error("app", "set", "--tenant", TENANT, "--client-id", CLIENT).stderr
    assert "--tenant" in alice.usage_error("app", "set", "--client-id", CLIENT, "--client-secret-stdin").stderr


def test_show_and_check_before_set_say_what_to_run(alice):
    assert "run `sync-service app set --tenant TENANT --client-id ID --client-secret-stdin` first" in alice.refused(
        "app", "show"
    )
    assert "no app registration yet" in alice.refused("app", "check", "--gateway", "127.0.0.1:9")


def test_a_graph_account_before_the_app_is_refused_with_what_to_run(alice):
    line = alice.refused("account", "set", "alice", "--graph", "--mailbox", "golf@example.com")
    assert "the club has no app registration yet: run `sync-service app set" in line
    assert alice.count("exchange_account") == 0


def test_a_graph_account_uses_the_app(with_app):
    out = with_app.ok("account", "set", "alice", "--graph", "--mailbox", "golf@example.com")
    assert out == "Exchange account of alice saved (the club's app, Microsoft Graph)\n"
    assert with_app.rows(
        "SELECT backend, endpoint, credential_kind, username, password_encrypted FROM exchange_account"
    ) == [("graph", None, "app", None, None)]
    assert with_app.json("account", "show", "alice") == {
        "login": "alice",
        "backend": "graph",
        "mailbox": "golf@example.com",
        "credentials": "the club's app (see `sync-service app show`)",
    }
    assert with_app.json("app", "show")["accounts"] == 1


def test_an_oauth_account_is_ews_with_the_app(with_app):
    with_app.ok("account", "set", "alice", "--ews-url", URL, "--mailbox", "golf@example.com", "--oauth")
    assert with_app.rows("SELECT backend, endpoint, credential_kind FROM exchange_account") == [("ews", URL, "app")]
    assert with_app.json("account", "show", "alice")["ews_url"] == URL


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--graph", "--oauth", "--ews-url", URL), "give one of --graph"),
        (("--graph", "--ews-url", URL), "--graph takes no --ews-url"),
        (("--oauth",), "--oauth needs --ews-url URL"),
        (("--graph", "--password-stdin"), "has no password: drop --password-stdin"),
        (("--graph", "--username", "u", "--auth", "ntlm"), "drop --username, --auth"),
        ((), "give --ews-url URL (or --graph for Microsoft Graph)"),
    ],
)
def test_wrong_combinations_are_usage_errors(with_app, extra, message):
    result = with_app.usage_error("account", "set", "alice", "--mailbox", "golf@example.com", *extra)
    assert message in result.stderr
    assert with_app.count("exchange_account") == 0


def test_check_asks_the_gateway_for_a_token_of_each_api_in_use(with_app, monkeypatch):
    with_app.ok("account", "set", "alice", "--ews-url", URL, "--mailbox", "golf@example.com", "--oauth")
    asked = []

    def gateway_answers(home, config, op, args, timeout=120.0):
        asked.append((op, args))
        return {
            "tenant": TENANT,
            "client_id": CLIENT,
            "tokens": [
                {"scope": s, "expires_at": "2026-12-02T08:00:00+00:00", "expires_in": 3599} for s in args["scopes"]
            ],
        }

    monkeypatch.setattr(app_commands, "call_gateway", gateway_answers)
    out = with_app.ok("app", "check")
    [(op, args)] = asked
    assert op == "exchange.app_check" and args["scopes"] == [EWS_SCOPE]
    assert args["app"]["client_secret"] == SECRET  # it goes to the gateway, and nowhere else
    assert out == f"app {CLIENT}: OK, a token for {EWS_SCOPE} valid for 3599 s (until 2026-12-02T08:00:00+00:00)\n"
    assert SECRET not in out
    log = with_app.home / "logs" / "sync-service.log"
    assert not log.exists() or SECRET not in log.read_text()


def test_a_refused_check_is_one_line(with_app, monkeypatch):
    def gateway_refuses(home, config, op, args, timeout=120.0):
        raise GatewayCallFailed(
            "auth_failed", "the app's client secret was refused by the identity platform (auth_failed)"
        )

    monkeypatch.setattr(app_commands, "call_gateway", gateway_refuses)
    assert "client secret was refused" in with_app.refused("app", "check")


def test_setting_the_app_again_lifts_the_block_of_an_app_account(with_app):
    with_app.ok("account", "set", "alice", "--graph", "--mailbox", "golf@example.com")
    db = open_database(with_app.home / "pccaddie.sqlite3")
    with db.atomic():
        record_block(1, "auth_failed", "refused")
        assert list(blocked_mailboxes()) == [1]
    db.close()
    assert app_set(with_app).exit_code == 0
    db = open_database(with_app.home / "pccaddie.sqlite3")
    with db.atomic():
        assert blocked_mailboxes() == {}
    db.close()


def certificate_file(path, *, passphrase=None, other_key=False):
    """A PEM file with a self-signed client certificate and its private key; its thumbprint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "club app")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    stored = rsa.generate_private_key(public_exponent=65537, key_size=2048) if other_key else key
    protection = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    pem = stored.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection)
    path.write_bytes(pem + certificate.public_bytes(serialization.Encoding.PEM))
    return certificate.fingerprint(hashes.SHA1()).hex().upper(), pem


def test_a_client_certificate_instead_of_a_secret(alice, tmp_path, monkeypatch):
    thumbprint, pem = certificate_file(tmp_path / "app.pem")
    out = alice.ok("app", "set", "--tenant", TENANT, "--client-id", CLIENT, "--certificate", tmp_path / "app.pem")
    assert (
        out
        == f"app registration {CLIENT} of {TENANT} saved (client certificate {thumbprint}, its private key encrypted)\n"
    )
    key_body = pem.decode().splitlines()[1]
    assert key_body.encode() not in database_bytes(tmp_path)
    shown = alice.json("app", "show")
    assert shown["credential"] == f"client certificate {thumbprint}" and key_body not in json.dumps(shown)
    asked = []
    monkeypatch.setattr(
        app_commands, "call_gateway", lambda home, config, op, args, timeout=120.0: asked.append(args) or {"tokens": []}
    )
    alice.ok("app", "check")
    [args] = asked
    assert args["app"]["thumbprint"] == thumbprint and "client_secret" not in args["app"]
    assert key_body in args["app"]["certificate"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: path.write_text("not a certificate"), "holds no PEM certificate"),
        (lambda path: certificate_file(path, passphrase=b"pass"), "is protected by a passphrase"),
        (lambda path: certificate_file(path, other_key=True), "is not the certificate's"),
    ],
)
def test_a_bad_certificate_file_is_refused(alice, tmp_path, make, message):
    make(tmp_path / "app.pem")
    line = alice.refused("app", "set", "--tenant", TENANT, "--client-id", CLIENT, "--certificate", tmp_path / "app.pem")
    assert message in line
    assert alice.count("app_registration") == 0


def test_a_secret_and_a_certificate_together_are_a_usage_error(alice, tmp_path):
    certificate_file(tmp_path / "app.pem")
    result = alice.usage_error(
        "app",
        "set",
        "--tenant",
        TENANT,
        "--client-id",
        CLIENT,
        "--client-secret-stdin",
        "--certificate",
        tmp_path / "app.pem",
    )
    assert "exactly one of --client-secret-stdin or --certificate FILE" in result.stderr
