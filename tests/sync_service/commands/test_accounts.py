"""`sync-service account set|show`: the Exchange account, its password encrypted at rest."""

import json
import stat

import pytest

from service_runtime.home import Home
from sync_service.admin.accounts import account_for_gateway
from sync_service.store.database import open_database
from sync_service.vault import PasswordVault

from .support import assert_refused

URL = "https://mail.example.com/EWS/Exchange.asmx"
PASSWORD = "Pl4in-T3xt-Geheimnis!"


def database_bytes(home):
    """The database file and its write-ahead log, if any, as bytes."""
    data = (home / "pccaddie.sqlite3").read_bytes()
    wal = home / "pccaddie.sqlite3-wal"
    if wal.exists():
        data += wal.read_bytes()
    return data


@pytest.fixture
def alice(run):
    run.ok("user", "add", "alice")
    return run


def set_account(run, *extra, password=PASSWORD):
    return run(
        "account",
        "set",
        "alice",
        "--ews-url",
        URL,
        "--mailbox",
        "golf@example.com",
        *extra,
        "--password-stdin",
        input=password + "\n",
    )


def test_set_stores_the_password_encrypted(alice, tmp_path):
    result = set_account(alice)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Exchange account of alice saved (password encrypted)\n"
    assert PASSWORD not in result.stdout + result.stderr
    assert PASSWORD.encode() not in database_bytes(tmp_path)
    [(stored,)] = alice.rows("SELECT password_encrypted FROM exchange_account")
    assert PASSWORD.encode() not in bytes(stored)
    key = tmp_path / "secret.key"
    assert key.exists()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_show_masks_the_password(alice):
    set_account(alice, "--username", "DOMAIN\\golf")
    out = alice.ok("account", "show", "alice")
    assert out.splitlines() == [
        "login: alice",
        "backend: ews",
        f"ews url: {URL}",
        "mailbox: golf@example.com",
        "username: DOMAIN\\golf",
        "auth: basic",
        "password: ********",
    ]
    shown = alice.json("account", "show", "alice")
    assert shown == {
        "login": "alice",
        "backend": "ews",
        "ews_url": URL,
        "mailbox": "golf@example.com",
        "username": "DOMAIN\\golf",
        "auth": "basic",
        "password": "********",
    }
    assert PASSWORD not in out + json.dumps(shown)


def test_ntlm_is_chosen_with_auth_and_goes_to_the_gateway(alice, tmp_path):
    set_account(alice, "--username", "DOMAIN\\golf", "--auth", "ntlm")
    assert alice.json("account", "show", "alice")["auth"] == "ntlm"
    assert alice.rows("SELECT backend, credential_kind, auth FROM exchange_account") == [("ews", "password", "ntlm")]
    home = open_database(tmp_path / "pccaddie.sqlite3")
    with home.atomic():
        wire = account_for_gateway("alice", PasswordVault.for_home(Home(tmp_path)))
    home.close()
    assert wire == {
        "backend": "ews",
        "endpoint": URL,
        "mailbox": "golf@example.com",
        "credentials": {"kind": "password", "username": "DOMAIN\\golf", "password": PASSWORD, "auth": "ntlm"},
    }


def test_an_unknown_auth_is_a_usage_error(alice):
    result = set_account(alice, "--auth", "kerberos")
    assert result.exit_code == 2
    assert "'kerberos' is not one of 'basic', 'ntlm'" in result.stderr
    assert alice.count("exchange_account") == 0
    assert PASSWORD not in result.stdout + result.stderr


def test_username_defaults_to_the_mailbox(alice):
    set_account(alice)
    assert alice.json("account", "show", "alice")["username"] == "golf@example.com"


def test_password_from_a_file(alice, tmp_path):
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\nsecond line ignored\n")
    out = alice.ok(
        "account", "set", "alice", "--ews-url", URL, "--mailbox", "golf@example.com", "--password-file", str(secret)
    )
    assert PASSWORD not in out
    secret.unlink()
    assert PASSWORD.encode() not in database_bytes(tmp_path)
    assert alice.json("account", "show", "alice")["password"] == "********"


def test_set_again_replaces_the_account(alice, tmp_path):
    set_account(alice)
    other = "https://other.example.org/EWS/Exchange.asmx"
    result = alice(
        "account",
        "set",
        "alice",
        "--ews-url",
        other,
        "--mailbox",
        "pro@example.org",
        "--password-stdin",
        input="n3w-Passw0rd\n",
    )
    assert result.exit_code == 0, result.stderr
    assert alice.count("exchange_account") == 1
    shown = alice.json("account", "show", "alice")
    assert (shown["ews_url"], shown["mailbox"], shown["username"]) == (other, "pro@example.org", "pro@example.org")
    assert b"n3w-Passw0rd" not in database_bytes(tmp_path)


def test_set_waits_for_a_running_cycle_and_gives_up_with_one_line(alice, tmp_path, monkeypatch):
    """A new mailbox forgets the Exchange ids held for the old one: a cycle running meanwhile
    would write back the ids it was handed, so `account set` waits for it, and gives up cleanly."""
    import filelock

    from sync_service.admin import between_cycles

    set_account(alice)
    monkeypatch.setattr(between_cycles, "WAIT_SECONDS", 0.0)
    with filelock.FileLock(str(tmp_path / "sync-cycle.lock")):  # a cycle holds it
        result = alice(
            "account",
            "set",
            "alice",
            "--ews-url",
            URL,
            "--mailbox",
            "pro@example.org",
            "--password-stdin",
            input="n3w-Passw0rd\n",
        )
        line = assert_refused(result)
    assert line == "Error: a sync cycle has been running for over 0 s; try again when it has ended"
    assert alice.json("account", "show", "alice")["mailbox"] == "golf@example.com"
    assert set_account(alice, password="n3w-Passw0rd").exit_code == 0  # once the cycle has ended


def test_show_without_an_account(alice):
    assert alice.refused("account", "show", "alice").startswith("Error: the user 'alice' has no Exchange account")


def test_show_of_an_unknown_user(run):
    assert run.refused("account", "show", "ghost").startswith("Error: unknown user 'ghost'")


def test_set_for_an_unknown_user(run):
    result = run(
        "account",
        "set",
        "ghost",
        "--ews-url",
        URL,
        "--mailbox",
        "golf@example.com",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert assert_refused(result).startswith("Error: unknown user 'ghost'")
    assert PASSWORD not in result.stdout + result.stderr


def refused_without_account(run, *args, input=None):
    line = run.refused("account", "set", "alice", *args, input=input)
    assert run.count("exchange_account") == 0
    assert PASSWORD not in line
    return line


@pytest.mark.parametrize(
    "url", ["mail.example.com/EWS/Exchange.asmx", "ftp://mail.example.com/EWS", "https://", "not a url", ""]
)
def test_bad_ews_url(alice, url):
    line = refused_without_account(
        alice, "--ews-url", url, "--mailbox", "golf@example.com", "--password-stdin", input=PASSWORD + "\n"
    )
    assert "is not an EWS address" in line


@pytest.mark.parametrize("mailbox", ["golf", "golf@example", "@example.com", "golf@@example.com", "go lf@ex.com", ""])
def test_bad_mailbox(alice, mailbox):
    line = refused_without_account(
        alice, "--ews-url", URL, "--mailbox", mailbox, "--password-stdin", input=PASSWORD + "\n"
    )
    assert "is not a mailbox address" in line


@pytest.mark.parametrize("stdin", ["", "\n", "\nsecond line\n"])
def test_empty_password(alice, stdin):
    line = refused_without_account(
        alice, "--ews-url", URL, "--mailbox", "golf@example.com", "--password-stdin", input=stdin
    )
    assert line == "Error: the password is empty"


def test_both_password_sources(alice, tmp_path):
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD)
    line = refused_without_account(
        alice,
        "--ews-url",
        URL,
        "--mailbox",
        "golf@example.com",
        "--password-stdin",
        "--password-file",
        str(secret),
        input=PASSWORD + "\n",
    )
    assert "exactly one of --password-stdin or --password-file" in line


def test_no_password_source(alice):
    line = refused_without_account(alice, "--ews-url", URL, "--mailbox", "golf@example.com")
    assert "exactly one of --password-stdin or --password-file" in line


def test_password_file_that_does_not_exist(alice, tmp_path):
    line = refused_without_account(
        alice, "--ews-url", URL, "--mailbox", "golf@example.com", "--password-file", str(tmp_path / "missing")
    )
    assert line.startswith("Error: cannot read the password")


def test_missing_ews_url_is_a_usage_error(alice):
    alice.usage_error("account", "set", "alice", "--mailbox", "golf@example.com", "--password-stdin")
    assert alice.count("exchange_account") == 0


def test_a_damaged_key_file(alice, tmp_path):
    (tmp_path / "secret.key").write_bytes(b"not a fernet key\n")
    (tmp_path / "secret.key").chmod(0o600)
    result = set_account(alice)
    assert assert_refused(result) == "Error: the key file is damaged (not a Fernet key)"
    assert alice.count("exchange_account") == 0


def test_a_key_file_others_can_read(alice, tmp_path):
    set_account(alice)
    (tmp_path / "secret.key").chmod(0o644)
    assert "can be read by other users (mode 0644)" in assert_refused(set_account(alice))


def test_check_without_an_account_is_refused_before_the_gateway_is_asked(alice):
    line = alice.refused("account", "check", "alice", "--gateway", "127.0.0.1:9")
    assert line.startswith("Error: the user 'alice' has no Exchange account")


def test_check_of_an_unknown_user(run):
    assert run.refused("account", "check", "ghost", "--gateway", "127.0.0.1:9").startswith(
        "Error: unknown user 'ghost'"
    )


def test_a_stored_account_outside_the_rules_is_refused_with_the_reason(alice):
    set_account(alice)
    alice.execute("UPDATE exchange_account SET endpoint = 'mail.example.com'")
    line = alice.refused("account", "check", "alice", "--gateway", "127.0.0.1:9")
    assert line == (
        "Error: the Exchange account of 'alice' cannot be used: 'mail.example.com' is not an EWS address like "
        "https://mail.example.com/EWS/Exchange.asmx; set it again with `sync-service account set alice`"
    )
    assert PASSWORD not in line
