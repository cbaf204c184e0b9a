"""Mailboxes Exchange refused the password of (issue 13, defect 7), as recorded in the database.

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

from ..store.models import ExchangeAccount, MailboxBlock, User


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


def credentials_digest(ews_url: str, mailbox: str, username: str, password_encrypted: bytes) -> str:
    """Pure: what identifies an account as it was set (every `account set` gives a new one)."""
    digest = hashlib.sha256()
    for part in (ews_url.encode(), mailbox.encode(), username.encode(), bytes(password_encrypted)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _digest_of(account: ExchangeAccount) -> str:
    return credentials_digest(account.ews_url, account.mailbox, account.username, account.password_encrypted)


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
