"""The users' Exchange accounts as the store holds them: a row (schema migration 7) and the vault
make the `protocol.accounts` value the gateway is sent (`account_from_row`), and `row_values` is
the way back. The engine reads accounts through this module; `admin/accounts.py`, which writes
them, maps them with it too.

An account of credential kind "app" (EWS with OAuth, or Microsoft Graph) carries the club's app
registration (`store/app_registration.py`): without one it is unusable, with a sentence saying to
run `sync-service app set`.

Every function runs in the caller's transaction (in the engine: the database thread). The password
and the app's client secret are decrypted in memory only, for the request at hand.
"""

from __future__ import annotations

from typing import Any

from protocol.accounts import (
    INVALID,
    UNSUPPORTED,
    Account,
    AccountError,
    AppCredentials,
    Credentials,
    EwsAccount,
    GraphAccount,
    PasswordCredentials,
)

from ..vault import PasswordVault, VaultError
from .app_registration import AppMissing, app_credentials
from .models import ExchangeAccount, User


class AccountMissing(LookupError):
    """The user has no Exchange account (or there is no such user)."""


class AccountUnusable(VaultError):
    """A stored account this program cannot use as it stands: one written by another program
    outside the rules of `account set`, or of a backend this version does not speak. Like a
    password the home's key cannot decrypt (hence a VaultError), it leaves that user's mailbox
    alone with this sentence, and `account set` mends it."""


def account_from_row(row: ExchangeAccount, vault: PasswordVault) -> Account:
    """The row as the tagged union it stores; AccountUnusable (or VaultError) if it is none."""
    login = row.user.login
    try:
        credentials = _credentials_of(row, vault)
        if row.backend == EwsAccount.backend:
            return EwsAccount(row.endpoint or "", row.mailbox, credentials)
        if row.backend == GraphAccount.backend and isinstance(credentials, AppCredentials):
            return GraphAccount(row.mailbox, credentials)
        raise AccountError(UNSUPPORTED, f"its backend {row.backend!r} is not supported by this version")
    except AccountError as exc:
        raise AccountUnusable(
            f"the Exchange account of {login!r} cannot be used: {exc.message}; "
            f"set it again with `sync-service account set {login}`"
        ) from None
    except AppMissing as exc:
        raise AccountUnusable(f"the Exchange account of {login!r} uses the club's app, but {exc}") from None


def _credentials_of(row: ExchangeAccount, vault: PasswordVault) -> Credentials:
    if row.credential_kind == AppCredentials.kind:
        return app_credentials(vault)
    if row.credential_kind != PasswordCredentials.kind:
        raise AccountError(
            UNSUPPORTED, f"its credentials of kind {row.credential_kind!r} are not supported by this version"
        )
    if row.password_encrypted is None:
        raise AccountError(INVALID, "it has no password")
    password = vault.decrypt(row.password_encrypted)
    return PasswordCredentials(row.username or "", password, row.auth or "")


def row_values(account: Account, vault: PasswordVault) -> dict[str, Any]:
    """The columns that store `account` (the inverse of `account_from_row`), the password
    encrypted; app credentials are the club's registration's (stored by `app set`), not the row's."""
    credentials = account.credentials
    values: dict[str, Any] = {
        "backend": account.backend,
        "endpoint": account.endpoint if isinstance(account, EwsAccount) else None,
        "mailbox": account.mailbox,
        "credential_kind": credentials.kind,
        "username": None,
        "password_encrypted": None,
        "auth": None,
    }
    if isinstance(credentials, PasswordCredentials):
        values["username"] = credentials.username
        values["password_encrypted"] = vault.encrypt(credentials.password)
        values["auth"] = credentials.auth
    return values


def account_row(user: User | int) -> ExchangeAccount | None:
    return ExchangeAccount.get_or_none(ExchangeAccount.user == user)


def account_of(login: str, vault: PasswordVault) -> Account:
    """The account of the user `login`; AccountMissing if there is none."""
    row = ExchangeAccount.select().join(User).where(User.login == login).first()
    if row is None:
        raise AccountMissing(f"the user {login!r} has no Exchange account (see `sync-service account set`)")
    return account_from_row(row, vault)


def account_for_gateway(login: str, vault: PasswordVault) -> dict[str, Any]:
    """The account's wire form, as the gateway wants it with each request (`mailbox` among its keys)."""
    return account_of(login, vault).to_wire()
