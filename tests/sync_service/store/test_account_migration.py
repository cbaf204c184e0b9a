"""Schema migration 7: the exchange_account table holds an account as a tagged union."""

import sqlite3

import peewee as pw
import pytest

from sync_service.store.database import open_database
from sync_service.store.models import ExchangeAccount
from sync_service.store.schema import migrate, schema_version

BEFORE_UNION = 6
TOKEN = b"gAAAA-an-encrypted-password"


def a_home_at_version_6_with_an_account(path):
    old = pw.SqliteDatabase(str(path), pragmas={"foreign_keys": 1}, lock_type="IMMEDIATE")
    migrate(old, target=BEFORE_UNION)
    old.execute_sql("INSERT INTO pcc_user (id, login, display_name) VALUES (1, 'alice', 'Alice'), (2, 'bob', 'Bob')")
    old.execute_sql(
        "INSERT INTO exchange_account (id, user_id, ews_url, mailbox, username, password_encrypted) "
        "VALUES (5, 1, 'https://mail.example.com/EWS/Exchange.asmx', 'golf@example.com', 'DOMAIN\\golf', ?)",
        (TOKEN,),
    )
    old.close()


def test_existing_accounts_become_ews_with_a_password_and_basic_auth(tmp_path):
    path = tmp_path / "club.sqlite3"
    a_home_at_version_6_with_an_account(path)
    db = open_database(path)
    assert schema_version(db) >= 7
    [account] = ExchangeAccount.select()
    assert (account.id, account.user_id, account.backend, account.credential_kind, account.auth) == (
        5,
        1,
        "ews",
        "password",
        "basic",
    )
    assert (account.endpoint, account.mailbox, account.username) == (
        "https://mail.example.com/EWS/Exchange.asmx",
        "golf@example.com",
        "DOMAIN\\golf",
    )
    assert bytes(account.password_encrypted) == TOKEN
    db.close()
    [copy] = tmp_path.glob("before-schema-*-from-6.sqlite3")
    with sqlite3.connect(copy) as backup:
        assert backup.execute("SELECT ews_url FROM exchange_account").fetchall() == [
            ("https://mail.example.com/EWS/Exchange.asmx",)
        ]


def test_the_rebuilt_table_keeps_one_account_per_user_and_the_cascade(tmp_path):
    path = tmp_path / "club.sqlite3"
    a_home_at_version_6_with_an_account(path)
    db = open_database(path)
    insert = (
        "INSERT INTO exchange_account (user_id, backend, endpoint, mailbox, credential_kind, username, "
        "password_encrypted, auth) VALUES (?, 'ews', 'https://x.example/EWS', 'a@example.com', 'password', 'a', "
        "x'00', 'ntlm')"
    )
    with pytest.raises(pw.IntegrityError), db.atomic():
        db.execute_sql(insert, (1,))  # alice has one already
    with pytest.raises(pw.IntegrityError), db.atomic():
        db.execute_sql(insert, (99,))  # no such user
    db.execute_sql(insert, (2,))
    db.execute_sql("DELETE FROM pcc_user WHERE id = 1")
    assert [a.user_id for a in ExchangeAccount.select()] == [2]
    db.close()


@pytest.mark.parametrize(
    "backend, endpoint, kind, username, password, auth",
    [
        ("exchange", "https://x.example/EWS", "password", "a", b"t", "basic"),  # no such backend
        ("ews", None, "password", "a", b"t", "basic"),  # EWS needs its address
        ("ews", "https://x.example/EWS", "password", None, b"t", "basic"),  # a password without a user
        ("ews", "https://x.example/EWS", "password", "a", None, "basic"),  # ... without the password
        ("ews", "https://x.example/EWS", "password", "a", b"t", None),  # ... without its auth type
        ("ews", "https://x.example/EWS", "password", "a", b"t", "kerberos"),
        ("ews", "https://x.example/EWS", "app", "a", b"t", None),  # app credentials hold no password
        ("ews", "https://x.example/EWS", "token", None, None, None),
        ("graph", None, "password", "a", b"t", "basic"),  # Graph only with the club's app
        ("graph", "https://x.example/EWS", "app", None, None, None),  # Graph's address is the app's
    ],
)
def test_combinations_outside_the_union_are_refused(tmp_path, backend, endpoint, kind, username, password, auth):
    db = open_database(tmp_path / "club.sqlite3")
    db.execute_sql("INSERT INTO pcc_user (id, login, display_name) VALUES (1, 'alice', 'Alice')")
    with pytest.raises(pw.IntegrityError):
        db.execute_sql(
            "INSERT INTO exchange_account (user_id, backend, endpoint, mailbox, credential_kind, username, "
            "password_encrypted, auth) VALUES (1, ?, ?, 'a@example.com', ?, ?, ?, ?)",
            (backend, endpoint, kind, username, password, auth),
        )
    db.close()


@pytest.mark.parametrize(
    "backend, endpoint, kind, username, password, auth",
    [
        ("ews", "https://x.example/EWS", "password", "a", b"t", "basic"),
        ("ews", "https://x.example/EWS", "password", "a", b"t", "ntlm"),
        ("ews", "https://x.example/EWS", "app", None, None, None),
        ("graph", None, "app", None, None, None),
    ],
)
def test_the_union_admits_its_members(tmp_path, backend, endpoint, kind, username, password, auth):
    db = open_database(tmp_path / "club.sqlite3")
    db.execute_sql("INSERT INTO pcc_user (id, login, display_name) VALUES (1, 'alice', 'Alice')")
    db.execute_sql(
        "INSERT INTO exchange_account (user_id, backend, endpoint, mailbox, credential_kind, username, "
        "password_encrypted, auth) VALUES (1, ?, ?, 'a@example.com', ?, ?, ?, ?)",
        (backend, endpoint, kind, username, password, auth),
    )
    assert ExchangeAccount.get().backend == backend
    db.close()
