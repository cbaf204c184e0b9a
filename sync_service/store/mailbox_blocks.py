"""Mailboxes Exchange refused the password of (issue 13, defect 7), as recorded in the database.
The engine records and reads them each cycle; `account set` and `account check` lift them.

After `auth_failed` a user's mailbox gets no further Exchange call, not even after a restart, so
that a wrong password never turns into a storm of failed logins (and a locked Windows account).
The record holds a digest of the account as it was refused: `account set` (which changes the
encrypted password even when it is the same) makes it stale at once, and `account check` lifts it
when Exchange accepts the login. The digest reveals nothing: it is made of the stored, encrypted
password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from .app_registration import app_digest, app_row
from .models import ExchangeAccount, MailboxBlock, User


@dataclass(frozen=True)
class Block:
    user_id: int
    login: str
    mailbox: str
    code: str
    reason: str
    since: dt.datetime

    def describe(self) -> str:
        """One line for `calendar list`, `contact list` and the log."""
        return (
            f"Exchange refused the login on {self.since:%Y-%m-%d %H:%M} UTC ({self.reason}); nothing is asked of "
            f"this mailbox until `sync-service account set {self.login}` or `sync-service account check "
            f"{self.login}` succeeds"
        )


PRE_UNION = ("ews", "password", "basic")  # every account before accounts were tagged (schema 7)


def credentials_digest(
    backend: str,
    endpoint: str | None,
    mailbox: str,
    credential_kind: str,
    username: str | None,
    password_encrypted: bytes | None,
    auth: str | None,
    app: str = "",
) -> str:
    """Pure: what identifies an account as it was set, every part of its tagged union (every
    `account set` gives a new one), and for credentials of kind "app" the club's app registration
    as it was set (`app_registration.app_digest`: every `app set` gives a new one too). An EWS
    account with a Basic password digests as it did before accounts were tagged, so that a mailbox
    blocked before the upgrade to schema 7 stays blocked."""
    parts = [(endpoint or "").encode(), mailbox.encode(), (username or "").encode(), bytes(password_encrypted or b"")]
    if (backend, credential_kind, auth) != PRE_UNION:
        parts += [backend.encode(), credential_kind.encode(), (auth or "").encode()]
    if app:
        parts.append(app.encode())
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _digest_of(account: ExchangeAccount) -> str:
    app = app_digest(app_row()) if account.credential_kind == "app" else ""
    return credentials_digest(
        account.backend,
        account.endpoint,
        account.mailbox,
        account.credential_kind,
        account.username,
        account.password_encrypted,
        account.auth,
        app,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_block(user_id: int, code: str, reason: str) -> Block | None:
    """Note that Exchange refused this user's account as it is now; None if it has none."""
    account = ExchangeAccount.get_or_none(ExchangeAccount.user == user_id)
    if account is None:
        return None
    since = _now()
    values = {"credentials": _digest_of(account), "code": code, "reason": reason, "since": since}
    MailboxBlock.insert(user=user_id, **values).on_conflict(
        conflict_target=[MailboxBlock.user],
        update={getattr(MailboxBlock, name): value for name, value in values.items()},
    ).execute()
    return Block(user_id, User.get_by_id(user_id).login, account.mailbox, code, reason, since)


def clear_block(user_id: int) -> bool:
    """The account was set again or its login succeeded. True if a block was lifted."""
    return bool(MailboxBlock.delete().where(MailboxBlock.user == user_id).execute())


def blocked_mailboxes(user_ids: list[int] | None = None) -> dict[int, Block]:
    """The blocks still in force (their account unchanged since), by user id; of `user_ids` only
    if given."""
    query = MailboxBlock.select(MailboxBlock, User).join(User)
    if user_ids is not None:
        query = query.where(MailboxBlock.user.in_(user_ids))
    rows = list(query)
    accounts = {
        a.user_id: a for a in ExchangeAccount.select().where(ExchangeAccount.user.in_([r.user_id for r in rows]))
    }
    return {
        row.user_id: Block(row.user_id, row.user.login, accounts[row.user_id].mailbox, row.code, row.reason, row.since)
        for row in rows
        if row.user_id in accounts and row.credentials == _digest_of(accounts[row.user_id])
    }


def block_of(user_id: int) -> Block | None:
    return blocked_mailboxes([user_id]).get(user_id)
