"""Schema migration 8 and store/app_registration.py: the club's one app registration, its secret
encrypted with the vault's key."""

import peewee as pw
import pytest
from cryptography.fernet import Fernet

from protocol.accounts import AppCredentials
from sync_service.store.app_registration import (
    AppMissing,
    AppUnusable,
    app_credentials,
    app_digest,
    app_row,
    store_app,
)
from sync_service.store.database import open_database
from sync_service.store.models import AppRegistration, ExchangeAccount
from sync_service.store.schema import migrate, schema_version
from sync_service.vault import PasswordVault

SECRET = "Kq8~app.secret-value"
TENANT, CLIENT = "contoso.onmicrosoft.com", "11111111-2222-3333-4444-555555555555"
APP = AppCredentials(TENANT, CLIENT, SECRET)


@pytest.fixture
def vault():
    return PasswordVault(Fernet.generate_key())


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "club.sqlite3")
    yield database
    database.close()


def test_a_home_at_schema_7_is_upgraded_and_keeps_its_accounts(tmp_path, vault):
    path = tmp_path / "club.sqlite3"
    old = pw.SqliteDatabase(str(path), pragmas={"foreign_keys": 1}, lock_type="IMMEDIATE")
    migrate(old, target=7)
    old.execute_sql("INSERT INTO pcc_user (id, login, display_name) VALUES (1, 'alice', 'Alice')")
    old.execute_sql(
        "INSERT INTO exchange_account (user_id, backend, endpoint, mailbox, credential_kind, username, "
        "password_encrypted, auth) VALUES (1, 'ews', 'https://mail.example.com/EWS/Exchange.asmx', "
        "'golf@example.com', 'password', 'golf', x'00', 'basic')"
    )
    old.close()
    db = open_database(path)
    assert schema_version(db) >= 8
    assert [a.mailbox for a in ExchangeAccount.select()] == ["golf@example.com"]
    assert app_row() is None
    store_app(APP, vault)
    assert app_credentials(vault) == APP
    db.close()
    assert list(tmp_path.glob("before-schema-*-from-7.sqlite3"))  # the copy made before the upgrade


def test_the_secret_is_stored_encrypted_and_read_back(db, vault):
    store_app(APP, vault)
    [(stored, kind)] = db.execute_sql("SELECT secret_encrypted, credential_kind FROM app_registration").fetchall()
    assert SECRET.encode() not in bytes(stored) and kind == "secret"
    assert app_credentials(vault) == APP


def test_setting_it_again_replaces_the_one_registration(db, vault):
    store_app(APP, vault)
    other = AppCredentials("fabrikam.example", "other-client", "second-secret", "https://login.example/fabrikam")
    store_app(other, vault)
    assert AppRegistration.select().count() == 1
    assert app_credentials(vault) == other


def test_no_registration_says_what_to_run(db, vault):
    with pytest.raises(AppMissing, match=r"run `sync-service app set --tenant TENANT --client-id ID"):
        app_credentials(vault)


def test_the_schema_admits_one_registration_and_a_credential_of_one_kind(db, vault):
    store_app(APP, vault)
    with pytest.raises(pw.IntegrityError):  # a second one
        db.execute_sql(
            "INSERT INTO app_registration (id, tenant, client_id, credential_kind, secret_encrypted, authority, "
            "graph_url, updated) VALUES (2, 't', 'c', 'secret', x'00', 'https://a', 'https://g', '2026-01-01')"
        )
    with pytest.raises(pw.IntegrityError):  # a secret kind without the secret
        db.execute_sql("UPDATE app_registration SET secret_encrypted = NULL")
    with pytest.raises(pw.IntegrityError):  # a certificate kind without its certificate
        db.execute_sql("UPDATE app_registration SET credential_kind = 'certificate'")


def test_a_certificate_registration_keeps_its_private_key_encrypted(db, vault):
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    certified = AppCredentials(TENANT, CLIENT, "", certificate=key, thumbprint="AB" * 20)
    store_app(certified, vault)
    [(kind, secret, stored, thumbprint)] = db.execute_sql(
        "SELECT credential_kind, secret_encrypted, certificate_encrypted, thumbprint FROM app_registration"
    ).fetchall()
    assert (kind, secret, thumbprint) == ("certificate", None, "AB" * 20)
    assert b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in bytes(stored)
    assert app_credentials(vault) == certified


def test_a_registration_written_outside_app_set_is_unusable_with_a_sentence(db, vault):
    store_app(APP, vault)
    db.execute_sql("UPDATE app_registration SET tenant = 'not a tenant'")
    with pytest.raises(AppUnusable, match="'not a tenant' is not a tenant id or domain.*set it again with"):
        app_credentials(vault)


def test_the_digest_changes_with_every_set_and_shows_no_secret(db, vault):
    store_app(APP, vault)
    first = app_digest(app_row())
    store_app(APP, vault)
    second = app_digest(app_row())
    assert first != second and SECRET not in first + second
    assert app_digest(None) == ""
