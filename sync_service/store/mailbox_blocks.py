"""Mailboxes Exchange refused the password of (issue 13, defect 7), as recorded in the database.
The engine records and reads them each cycle; `account set` and `account check` lift them.

After `auth_failed` a user's mailbox gets no further Exchange call, not even after a restart, so
that a wrong password never turns into a storm of failed logins (and a locked Windows account).
The record holds a digest of the account as it was refused: `account set` (which changes the
encrypted password even when it is the same) makes it stale at once, and `account check` lifts it
when Exchange accepts the login. The digest reveals nothing: it is made of the stored, encrypted
password.

What the line advises depends on the cause: a password account is mended with `account set`; an
account with the club's app (credentials of kind "app") is mended with `app set` when the app
itself was refused (a wrong secret, an unknown tenant or app, a permission not granted: the identity
platform's answer, or Graph refusing the token), and by the tenant's admin (or `account set`, for a
wrong address) when the app may not reach the mailbox (`refusal_line`). The cause is the gateway's
machine reason of the `auth_failed` (its `details["reason"]`, exchange_gateway/errors.REASONS),
recorded with the block (`cause`, schema 9); a block recorded before, or from an older gateway that
names none, is told by the gateway's wording (`MAILBOX_OUT_OF_REACH_WORDING`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from .app_registration import app_digest, app_row
from .models import ExchangeAccount, MailboxBlock, User

# The causes the gateway names (exchange_gateway/errors.REASONS; the store imports nothing of the
# gateway: tests/sync_service/store/test_mailbox_blocks.py holds the two to each other).
MAILBOX_OUT_OF_REACH = "mailbox_out_of_reach"
APP_REFUSED = "app_refused"
PASSWORD_REFUSED = "password_refused"
CAUSES = (MAILBOX_OUT_OF_REACH, APP_REFUSED, PASSWORD_REFUSED)
# How a gateway that names no cause words a refusal of the mailbox rather than of the app
# (exchange_gateway/graph/errors.map_failure: Graph's 403, or 404 ErrorInvalidUser).
MAILBOX_OUT_OF_REACH_WORDING = "may not reach the mailbox"
APP_SET = "sync-service app set --tenant … --client-id … --client-secret-stdin"


def out_of_reach(cause: str | None, reason: str) -> bool:
    """Pure: whether a refusal is of the mailbox (not of the credentials): by its `cause` when the
    gateway named one it knows, else by the gateway's wording of `reason`."""
    if cause in CAUSES:
        return cause == MAILBOX_OUT_OF_REACH
    return MAILBOX_OUT_OF_REACH_WORDING in reason


def refusal_line(login: str, credential_kind: str, reason: str, since: dt.datetime, cause: str | None = None) -> str:
    """Pure: the one line for a refusal of `login`'s account of `credential_kind` that Exchange (or
    the identity platform) gave as `reason` at `since`, of `cause` (the gateway's reason code; None
    from an older gateway): what mends it, and what lifts the block."""
    at = f"{since:%Y-%m-%d %H:%M} UTC"
    if credential_kind != "app":
        return (
            f"Exchange refused the login on {at} ({reason}); nothing is asked of this mailbox until "
            f"`sync-service account set {login}` or `sync-service account check {login}` succeeds"
        )
    if out_of_reach(cause, reason):
        return (
            f"the club's app may not reach this mailbox, since {at} ({reason}); the tenant's admin must give the "
            f"app access to it (RBAC for Applications), or a wrong address be corrected with `sync-service account "
            f"set {login}`; nothing is asked of this mailbox until `sync-service account check {login}` succeeds "
            "or the account is set again"
        )
    return (
        f"the club's app was refused on {at} ({reason}); correct it with `{APP_SET}` and try it with "
        f"`sync-service app check`; nothing is asked of this mailbox until the app is set again or "
        f"`sync-service account check {login}` succeeds"
    )


def refusal_summary(login: str, credential_kind: str, reason: str, cause: str | None = None) -> tuple[str, str]:
    """Pure: the refusal as the cycle's summary says it, by the same cause as `refusal_line`:
    (what was refused and until when the mailbox is left alone, what mends it)."""
    if credential_kind != "app":
        return (
            f"Exchange refused the login; left alone until `sync-service account set {login}` or "
            f"`sync-service account check {login}` succeeds",
            f"mend it with `sync-service account set {login}`",
        )
    if out_of_reach(cause, reason):
        return (
            "the club's app may not reach this mailbox (the tenant's RBAC for Applications); left alone until "
            f"`sync-service account check {login}` succeeds or the account is set again",
            "the tenant's admin must give the app access to it (RBAC for Applications), or a wrong address be "
            f"corrected with `sync-service account set {login}`",
        )
    return (
        f"the club's app was refused; left alone until `sync-service app set` or `sync-service account check {login}` "
        "succeeds",
        f"mend it with `{APP_SET}` and try it with `sync-service app check`",
    )


@dataclass(frozen=True)
class Block:
    user_id: int
    login: str
    mailbox: str
    code: str
    reason: str
    since: dt.datetime
    credential_kind: str = "password"  # the account's (models.ExchangeAccount): "app" advises `app set`
    cause: str | None = None  # the gateway's reason code (CAUSES); None: told by the reason's wording

    def describe(self) -> str:
        """One line for `calendar list`, `contact list` and the log."""
        return refusal_line(self.login, self.credential_kind, self.reason, self.since, self.cause)

    def left_alone(self) -> str:
        """For the cycle's summary: what was refused, and until when the mailbox is left alone."""
        return refusal_summary(self.login, self.credential_kind, self.reason, self.cause)[0]

    def mend(self) -> str:
        """For the cycle's summary: what mends it."""
        return refusal_summary(self.login, self.credential_kind, self.reason, self.cause)[1]

    @property
    def app_refused(self) -> bool:
        """The club's app itself was refused: `app set` mends it."""
        return self.credential_kind == "app" and not out_of_reach(self.cause, self.reason)


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


def record_block(user_id: int, code: str, reason: str, cause: str | None = None) -> Block | None:
    """Note that Exchange refused this user's account as it is now, as `reason` (the gateway's
    message) of `cause` (its reason code, if it named one); None if the user has no account."""
    account = ExchangeAccount.get_or_none(ExchangeAccount.user == user_id)
    if account is None:
        return None
    since = _now()
    values = {"credentials": _digest_of(account), "code": code, "reason": reason, "since": since, "cause": cause}
    MailboxBlock.insert(user=user_id, **values).on_conflict(
        conflict_target=[MailboxBlock.user],
        update={getattr(MailboxBlock, name): value for name, value in values.items()},
    ).execute()
    return Block(
        user_id, User.get_by_id(user_id).login, account.mailbox, code, reason, since, account.credential_kind, cause
    )


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
        row.user_id: Block(
            row.user_id,
            row.user.login,
            accounts[row.user_id].mailbox,
            row.code,
            row.reason,
            row.since,
            accounts[row.user_id].credential_kind,
            row.cause,
        )
        for row in rows
        if row.user_id in accounts and row.credentials == _digest_of(accounts[row.user_id])
    }


def block_of(user_id: int) -> Block | None:
    return blocked_mailboxes([user_id]).get(user_id)
