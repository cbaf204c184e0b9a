"""store/accounts.py: a stored account row and the vault make the tagged account, and back."""

import datetime as dt

import peewee as pw
import pytest
from cryptography.fernet import Fernet

from protocol.accounts import AppCredentials, EwsAccount, GraphAccount, PasswordCredentials
from sync_service.store.accounts import (
    AccountMissing,
    AccountUnusable,
    account_for_gateway,
    account_from_row,
    account_of,
    account_row,
    row_values,
)
from sync_service.store.app_registration import store_app
from sync_service.store.database import open_database
from sync_service.store.mailbox_blocks import blocked_mailboxes, credentials_digest, record_block
from sync_service.store.models import ExchangeAccount, MailboxBlock, User
from sync_service.store.schema import migrate
from sync_service.vault import PasswordVault, VaultError

URL = "https://mail.example.com/EWS/Exchange.asmx"
SECRET = "S3cr3t-Pa55!"
ACCOUNT = EwsAccount(URL, "golf@example.com", PasswordCredentials("DOMAIN\\golf", SECRET, "ntlm"))


@pytest.fixture
def vault():
    return PasswordVault(Fernet.generate_key())


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "club.sqlite3")
    User.create(login="alice", display_name="Alice")
    User.create(login="bob", display_name="Bob")
    yield database
    database.close()


def store(login, account, vault):
    return ExchangeAccount.create(user=User.get(User.login == login), **row_values(account, vault))


def test_an_account_is_stored_and_read_back_whole(db, vault):
    row = store("alice", ACCOUNT, vault)
    assert (row.backend, row.credential_kind, row.auth, row.username) == ("ews", "password", "ntlm", "DOMAIN\\golf")
    assert SECRET.encode() not in bytes(row.password_encrypted)
    assert account_from_row(account_row(row.user_id), vault) == ACCOUNT
    assert account_of("alice", vault) == ACCOUNT
    wire = account_for_gateway("alice", vault)
    assert wire == ACCOUNT.to_wire()
    assert wire["mailbox"] == "golf@example.com"  # what the engine reads of it


def test_a_user_without_an_account(db, vault):
    assert account_row(User.get(User.login == "bob")) is None
    with pytest.raises(AccountMissing, match="the user 'bob' has no Exchange account"):
        account_of("bob", vault)
    with pytest.raises(AccountMissing, match="the user 'ghost' has no Exchange account"):
        account_for_gateway("ghost", vault)


def test_a_password_the_key_cannot_decrypt(db, vault):
    store("alice", ACCOUNT, PasswordVault(Fernet.generate_key()))
    with pytest.raises(VaultError, match="cannot be decrypted with this home's key"):
        account_of("alice", vault)


def test_a_row_written_by_another_program_outside_the_rules(db, vault):
    store("alice", ACCOUNT, vault)
    ExchangeAccount.update(endpoint="mail.example.com").execute()
    with pytest.raises(AccountUnusable) as refused:
        account_of("alice", vault)
    assert str(refused.value) == (
        "the Exchange account of 'alice' cannot be used: 'mail.example.com' is not an EWS address like "
        "https://mail.example.com/EWS/Exchange.asmx; set it again with `sync-service account set alice`"
    )
    assert isinstance(refused.value, VaultError)  # the engine then leaves that mailbox alone, saying why
    assert SECRET not in str(refused.value)


def test_an_app_account_before_the_app_is_set_says_what_to_run(db, vault):
    User.create(login="carol", display_name="Carol")
    ExchangeAccount.create(
        user=User.get(User.login == "carol"), backend="graph", mailbox="carol@example.com", credential_kind="app"
    )
    with pytest.raises(AccountUnusable, match="uses the club's app, but the club has no app registration yet: run "):
        account_of("carol", vault)


APP = AppCredentials("contoso.onmicrosoft.com", "0a1b2c3d-client", "app-S3cret", graph_url="https://graph.example/v1.0")


@pytest.mark.parametrize(
    "account",
    [GraphAccount("carol@example.com", APP), EwsAccount(URL, "carol@example.com", APP)],
    ids=["graph", "ews-oauth"],
)
def test_an_app_account_carries_the_club_app_to_the_gateway(db, vault, account):
    store_app(APP, vault)
    row = store("alice", account, vault)
    assert (row.username, row.password_encrypted, row.auth) == (None, None, None)  # nothing secret per account
    assert account_from_row(account_row(row.user_id), vault) == account
    wire = account_for_gateway("alice", vault)
    assert wire["credentials"] == APP.to_wire()
    assert wire["credentials"]["client_secret"] == "app-S3cret"
    [(stored,)] = db.execute_sql("SELECT secret_encrypted FROM app_registration").fetchall()
    assert b"app-S3cret" not in bytes(stored)


def test_a_new_app_registration_lifts_the_block_of_an_app_account(db, vault):
    store_app(APP, vault)
    row = store("alice", GraphAccount("carol@example.com", APP), vault)
    record_block(row.user_id, "auth_failed", "the app's client secret was refused")
    assert row.user_id in blocked_mailboxes()
    store_app(APP, vault)  # the same values, set again: a new encrypted secret
    assert blocked_mailboxes() == {}


def digest(row):
    return credentials_digest(
        row.backend,
        row.endpoint,
        row.mailbox,
        row.credential_kind,
        row.username,
        row.password_encrypted,
        row.auth,
    )


def test_the_digest_covers_every_part_of_the_account(db, vault):
    row = store("alice", ACCOUNT, vault)
    base = digest(row)
    for name, value in [
        ("endpoint", "https://other.example.com/EWS/Exchange.asmx"),
        ("mailbox", "pro@example.com"),
        ("username", "golf"),
        ("password_encrypted", b"another token"),
        ("auth", "basic"),
    ]:
        other = ExchangeAccount(**{**row.__data__, name: value})
        assert digest(other) != base, name
    assert digest(account_row(row.user_id)) == base


def test_an_ews_basic_account_digests_as_it_did_before_the_union():
    # the digest the previous version recorded for this account (its four parts, length-prefixed)
    before = "27d73d7ad6d8e856081689ae552e52094c6c6852d2fd24db130fbd921839e99f"
    token = b"gAAAA-an-encrypted-password"
    assert credentials_digest("ews", URL, "golf@example.com", "password", "DOMAIN\\golf", token, "basic") == before
    assert credentials_digest("ews", URL, "golf@example.com", "password", "DOMAIN\\golf", token, "ntlm") != before


def test_a_mailbox_blocked_before_the_upgrade_stays_blocked(tmp_path):
    path = tmp_path / "club.sqlite3"
    old = pw.SqliteDatabase(str(path), pragmas={"foreign_keys": 1}, lock_type="IMMEDIATE")
    migrate(old, target=6)
    old.execute_sql("INSERT INTO pcc_user (id, login, display_name) VALUES (1, 'alice', 'Alice')")
    old.execute_sql(
        "INSERT INTO exchange_account (user_id, ews_url, mailbox, username, password_encrypted) VALUES (1, ?, ?, ?, ?)",
        (URL, "golf@example.com", "DOMAIN\\golf", b"gAAAA-an-encrypted-password"),
    )
    old.execute_sql(
        "INSERT INTO mailbox_block (user_id, credentials, code, reason, since) VALUES (1, ?, 'auth_failed', ?, ?)",
        (
            "27d73d7ad6d8e856081689ae552e52094c6c6852d2fd24db130fbd921839e99f",
            "the password was refused",
            dt.datetime(2026, 11, 30, 8, 0),
        ),
    )
    old.close()
    db = open_database(path)
    assert MailboxBlock.select().count() == 1
    assert list(blocked_mailboxes()) == [1]
    db.close()
