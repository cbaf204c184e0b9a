"""store/mailbox_blocks.py: the one line said of a mailbox left alone after a refusal advises by
cause (issue 16): a password account `account set`, the club's app refused `app set` and `app check`,
a mailbox the app may not reach its admin's scoping (and `account check`)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet

from exchange_gateway.errors import REASONS
from exchange_gateway.graph.errors import GraphFailure, map_failure
from exchange_gateway.tokens import _refusal
from protocol.accounts import AppCredentials, EwsAccount, GraphAccount, PasswordCredentials
from sync_service.store.accounts import row_values
from sync_service.store.app_registration import store_app
from sync_service.store.database import open_database
from sync_service.store.mailbox_blocks import (
    APP_REFUSED,
    CAUSES,
    MAILBOX_OUT_OF_REACH,
    MAILBOX_OUT_OF_REACH_WORDING,
    PASSWORD_REFUSED,
    _digest_of,
    block_of,
    blocked_mailboxes,
    record_block,
    refusal_line,
    refusal_summary,
)
from sync_service.store.models import ExchangeAccount, User
from sync_service.store.schema import BLOCK_CAUSE, LATEST_VERSION, migrate, schema_version
from sync_service.vault import PasswordVault

APP = AppCredentials("contoso.onmicrosoft.com", "0a1b2c3d-client", "app-S3cret", graph_url="https://graph.example/v1.0")
SCOPE = "https://graph.microsoft.com/.default"
SINCE = dt.datetime(2026, 12, 2, 9, 30)
MAILBOX = "carol@example.com"

# what the gateway answers for each cause, as it words it
WRONG_SECRET = _refusal(APP, SCOPE, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid"})
UNKNOWN_TENANT = _refusal(APP, SCOPE, {"error": "invalid_request", "error_description": "AADSTS90002: Tenant"})
UNKNOWN_APP = _refusal(APP, SCOPE, {"error": "unauthorized_client", "error_description": "AADSTS700016: App"})
TOKEN_REFUSED = map_failure(
    GraphFailure(401, "InvalidAuthenticationToken", "Access token validation failure."), MAILBOX
)
OUT_OF_REACH = map_failure(GraphFailure(403, "ErrorAccessDenied", "Access is denied."), MAILBOX)
NOT_IN_TENANT = map_failure(GraphFailure(404, "ErrorInvalidUser", "The requested user is invalid."), MAILBOX)


@pytest.mark.parametrize(
    "refusal", [WRONG_SECRET, UNKNOWN_TENANT, UNKNOWN_APP, TOKEN_REFUSED], ids=["secret", "tenant", "app", "token"]
)
def test_a_refused_app_advises_app_set_and_app_check(refusal):
    assert refusal.code == "auth_failed"
    line = refusal_line("carol", "app", refusal.message, SINCE)
    assert line.startswith("the club's app was refused on 2026-12-02 09:30 UTC (")
    assert refusal.message in line
    assert "`sync-service app set --tenant … --client-id … --client-secret-stdin`" in line
    assert "`sync-service app check`" in line and "`sync-service account check carol`" in line
    assert "account set" not in line
    assert "\n" not in line


@pytest.mark.parametrize("refusal", [OUT_OF_REACH, NOT_IN_TENANT], ids=["403", "404"])
def test_a_mailbox_the_app_may_not_reach_advises_its_scope_and_account_check(refusal):
    assert refusal.code == "auth_failed"
    line = refusal_line("carol", "app", refusal.message, SINCE)
    assert line.startswith("the club's app may not reach this mailbox, since 2026-12-02 09:30 UTC (")
    assert refusal.message in line
    assert "RBAC for Applications" in line and "`sync-service account check carol`" in line
    assert "app set" not in line
    assert "\n" not in line


def test_a_refused_password_advises_account_set_as_before():
    line = refusal_line("alice", "password", "Exchange refused the user name or password", SINCE)
    assert line == (
        "Exchange refused the login on 2026-12-02 09:30 UTC (Exchange refused the user name or password); nothing "
        "is asked of this mailbox until `sync-service account set alice` or `sync-service account check alice` "
        "succeeds"
    )


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "club.sqlite3")
    for login in ("alice", "carol", "dora"):
        User.create(login=login, display_name=login.title())
    yield database
    database.close()


def test_the_recorded_block_knows_the_kind_of_its_account(db):
    vault = PasswordVault(Fernet.generate_key())
    store_app(APP, vault)
    accounts = {
        "alice": EwsAccount(
            "https://mail.example.com/EWS/Exchange.asmx", "a@example.com", PasswordCredentials("a", "pw")
        ),
        "carol": GraphAccount(MAILBOX, APP),
        "dora": EwsAccount("https://outlook.office365.com/EWS/Exchange.asmx", "d@example.com", APP),  # --oauth
    }
    ids = {}
    for login, account in accounts.items():
        user = User.get(User.login == login)
        ExchangeAccount.create(user=user, **row_values(account, vault))
        ids[login] = user.id
    made = record_block(ids["carol"], "auth_failed", WRONG_SECRET.message)
    assert made is not None and made.credential_kind == "app"
    assert "app set" in made.describe()
    record_block(ids["alice"], "auth_failed", "Exchange refused the user name or password, or access to the mailbox")
    record_block(ids["dora"], "auth_failed", OUT_OF_REACH.message)
    read = blocked_mailboxes()
    assert {login: read[ids[login]].credential_kind for login in accounts} == {
        "alice": "password",
        "carol": "app",
        "dora": "app",
    }
    assert "`sync-service account set alice`" in read[ids["alice"]].describe()
    assert "app set" in read[ids["carol"]].describe() and "account set" not in read[ids["carol"]].describe()
    assert "RBAC for Applications" in read[ids["dora"]].describe()
    assert block_of(ids["carol"]) == read[ids["carol"]]


# -- the gateway's reason code (issue 16): the line is picked by it, the wording only without it --


def test_the_causes_are_the_gateways_reasons():
    assert CAUSES == REASONS
    assert (MAILBOX_OUT_OF_REACH, APP_REFUSED) == (OUT_OF_REACH.reason, TOKEN_REFUSED.reason)
    assert all(MAILBOX_OUT_OF_REACH_WORDING in refusal.message for refusal in (OUT_OF_REACH, NOT_IN_TENANT))


def test_the_cause_picks_the_line_whatever_the_wording():
    unworded = "AccessDenied"  # a refusal of the mailbox in words the store does not know
    line = refusal_line("carol", "app", unworded, SINCE, MAILBOX_OUT_OF_REACH)
    assert line.startswith("the club's app may not reach this mailbox") and unworded in line
    worded = "the token for the mailbox that the app may not reach the mailbox with was refused"
    line = refusal_line("carol", "app", worded, SINCE, APP_REFUSED)
    assert line.startswith("the club's app was refused") and "app set" in line
    # a password account's line is the same for every cause: `account set` mends it
    for cause in (None, *CAUSES):
        assert refusal_line("alice", "password", "refused", SINCE, cause).startswith("Exchange refused the login")


@pytest.mark.parametrize("cause", [None, "a_reason_of_a_newer_gateway"])
def test_without_a_cause_it_knows_the_line_is_told_by_the_wording(cause):
    assert refusal_line("carol", "app", OUT_OF_REACH.message, SINCE, cause).startswith(
        "the club's app may not reach this mailbox"
    )
    assert refusal_line("carol", "app", WRONG_SECRET.message, SINCE, cause).startswith("the club's app was refused")
    assert refusal_line("carol", "app", "AccessDenied", SINCE, cause).startswith("the club's app was refused")


def graph_user(db) -> int:
    vault = PasswordVault(Fernet.generate_key())
    store_app(APP, vault)
    user = User.get(User.login == "carol")
    ExchangeAccount.create(user=user, **row_values(GraphAccount(MAILBOX, APP), vault))
    return user.id


def test_the_cause_is_recorded_with_the_block(db):
    user_id = graph_user(db)
    made = record_block(user_id, "auth_failed", "AccessDenied", MAILBOX_OUT_OF_REACH)
    assert made is not None and made.cause == MAILBOX_OUT_OF_REACH and not made.app_refused
    read = block_of(user_id)
    assert read == made and "RBAC for Applications" in read.describe()
    record_block(user_id, "auth_failed", "InvalidAuthenticationToken", APP_REFUSED)  # recorded again: replaced
    read = block_of(user_id)
    assert read is not None and read.cause == APP_REFUSED and read.app_refused and "app set" in read.describe()
    record_block(user_id, "auth_failed", OUT_OF_REACH.message)  # an older gateway: no cause
    read = block_of(user_id)
    assert read is not None and read.cause is None and not read.app_refused
    assert "RBAC for Applications" in read.describe()


def test_a_block_recorded_before_schema_9_is_kept_and_told_by_its_wording(tmp_path):
    path = tmp_path / "club.sqlite3"
    db = open_database(path, upgrade=False)
    migrate(db, target=BLOCK_CAUSE.version - 1)
    User.create(login="carol", display_name="Carol")
    user_id = graph_user(db)
    account = ExchangeAccount.get(ExchangeAccount.user == user_id)
    db.execute_sql(  # as the previous version recorded it: no cause column
        "INSERT INTO mailbox_block (user_id, credentials, code, reason, since) VALUES (?, ?, ?, ?, ?)",
        (user_id, _digest_of(account), "auth_failed", OUT_OF_REACH.message, SINCE),
    )
    db.close()

    db = open_database(path)
    assert schema_version(db) == LATEST_VERSION  # upgraded from before 9 to the latest
    read = block_of(user_id)
    assert read is not None and read.cause is None and read.reason == OUT_OF_REACH.message
    assert read.describe().startswith("the club's app may not reach this mailbox")
    db.close()


@pytest.mark.parametrize(
    ("kind", "cause", "reason", "command"),
    [
        ("password", PASSWORD_REFUSED, "refused", "`sync-service account set alice`"),
        ("app", APP_REFUSED, WRONG_SECRET.message, "`sync-service app set"),
        ("app", None, WRONG_SECRET.message, "`sync-service app set"),
        ("app", MAILBOX_OUT_OF_REACH, "AccessDenied", "RBAC for Applications"),
        ("app", None, OUT_OF_REACH.message, "RBAC for Applications"),
    ],
)
def test_the_summary_advises_as_the_line_does(kind, cause, reason, command):
    left_alone, mend = refusal_summary("alice", kind, reason, cause)
    line = refusal_line("alice", kind, reason, SINCE, cause)
    assert command in line and command in mend
    assert "left alone until" in left_alone and "\n" not in left_alone + mend
    other = "app set" if command != "`sync-service app set" else "account set"
    assert other not in left_alone and other not in mend and other not in line
