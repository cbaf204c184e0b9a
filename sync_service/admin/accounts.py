"""Exchange accounts: one per PC CADDIE user, the password encrypted at rest.

An account is a `protocol.accounts` value (a tagged union: backend, endpoint, mailbox, credentials);
`store/accounts.py` maps it to and from its row. `account set` makes EWS accounts with a password
(Basic or NTLM), EWS accounts with the club's app (`--oauth`) and Microsoft Graph accounts
(`--graph`); the last two need the club's app registration first (`app set`, admin/app.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol.accounts import (
    Account,
    AccountError,
    AppCredentials,
    EwsAccount,
    GraphAccount,
    PasswordCredentials,
    check_ews_url,
    check_mailbox,
)

from ..store.accounts import AccountMissing, account_row, row_values
from ..store.accounts import account_for_gateway as stored_account_for_gateway
from ..store.app_registration import AppMissing, app_credentials
from ..store.mailbox_blocks import clear_block
from ..store.mailbox_move import forget_exchange_ids, moved
from ..store.models import ExchangeAccount
from ..vault import PasswordVault
from . import AdminError
from .lookups import user_by_login
from .users import describe_uses, user_uses

MASK = "********"


@dataclass(frozen=True)
class AccountView:
    """What `account show` prints: the account without its password."""

    login: str
    backend: str
    ews_url: str
    mailbox: str
    username: str
    auth: str
    password: str = MASK


@dataclass(frozen=True)
class AppAccountView:
    """What `account show` prints for an account with the club's app (`ews_url` for EWS only)."""

    login: str
    backend: str
    ews_url: str | None
    mailbox: str
    credentials: str


def ews_account(ews_url: str, mailbox: str, username: str | None, password: str, auth: str = "basic") -> EwsAccount:
    """An EWS account with a password as typed (spaces around the names dropped, the user name
    defaulting to the mailbox), or AdminError saying what is wrong."""
    ews_url, mailbox = ews_url.strip(), mailbox.strip()
    try:
        check_ews_url(ews_url)  # in the order the options are named, before the credentials
        check_mailbox(mailbox)
        return EwsAccount(ews_url, mailbox, PasswordCredentials((username or mailbox).strip(), password, auth))
    except AccountError as exc:
        raise AdminError(exc.message) from None


def app_account(mailbox: str, vault: PasswordVault, ews_url: str | None = None) -> Account:
    """An account with the club's app: Microsoft Graph, or EWS at `ews_url` (`--oauth`); AdminError
    if the club has no app registration yet (saying what to run) or the values are wrong."""
    mailbox = mailbox.strip()
    try:
        if ews_url is not None:
            check_ews_url(ews_url.strip())
        check_mailbox(mailbox)
        app = app_credentials(vault)
        return GraphAccount(mailbox, app) if ews_url is None else EwsAccount(ews_url.strip(), mailbox, app)
    except AccountError as exc:
        raise AdminError(exc.message) from None
    except AppMissing as exc:
        raise AdminError(str(exc)) from None


def store_account(login: str, account: Account, vault: PasswordVault) -> None:
    """Set (or replace) the user's account as `account`. When its items are reached another way
    (another backend, endpoint or mailbox), the Exchange ids held for them are forgotten and looked
    up again by our external id (store/mailbox_move.py): switching EWS to Graph makes no duplicate."""
    user = user_by_login(login)
    values = row_values(account, vault)
    before = ExchangeAccount.select().where(ExchangeAccount.user == user).dicts().first()
    if moved(before, values):
        forget_exchange_ids(user.id)
    ExchangeAccount.insert(user=user, **values).on_conflict(
        conflict_target=[ExchangeAccount.user],
        update={getattr(ExchangeAccount, name): value for name, value in values.items()},
    ).execute()
    clear_block(user.id)  # a mailbox left alone after a refused login is tried again (issue 13, defect 7)


def set_app_account(login: str, mailbox: str, vault: PasswordVault, ews_url: str | None = None) -> None:
    """Set (or replace) the user's account as Microsoft Graph (or EWS at `ews_url`) with the club's app."""
    user_by_login(login)
    store_account(login, app_account(mailbox, vault, ews_url), vault)


def set_account(
    login: str,
    ews_url: str,
    mailbox: str,
    username: str | None,
    password: str,
    vault: PasswordVault,
    auth: str = "basic",
) -> None:
    """Set (or replace) the user's account as EWS with a password."""
    user_by_login(login)
    store_account(login, ews_account(ews_url, mailbox, username, password, auth), vault)


def show_account(login: str) -> AccountView | AppAccountView:
    account = account_row(user_by_login(login))
    if account is None:
        raise AdminError(f"the user {login!r} has no Exchange account (see `sync-service account set`)")
    if account.credential_kind == AppCredentials.kind:
        return AppAccountView(
            login, account.backend, account.endpoint, account.mailbox, "the club's app (see `sync-service app show`)"
        )
    return AccountView(
        login, account.backend, account.endpoint or "", account.mailbox, account.username or "", account.auth or ""
    )


def account_for_gateway(login: str, vault: PasswordVault) -> dict[str, Any]:
    """The account's wire form for a command that asks the gateway itself (`store/accounts.py`
    makes it), with the admin commands' errors: an unknown user or no account is an AdminError."""
    user_by_login(login)
    try:
        return stored_account_for_gateway(login, vault)
    except AccountMissing as exc:
        raise AdminError(str(exc)) from None


def remove_account(login: str, force: bool = False) -> tuple[str, ...]:
    """Remove the user's Exchange account. Refused while the user syncs calendars or contacts,
    unless `force`: they stay set up and stop syncing until `account set`. The Exchange ids held
    for the user are forgotten (store/mailbox_move.py), so that a later `account set` finds the
    items again by our external id, whichever mailbox it names; nothing is deleted in Exchange.
    Returns what was done, one sentence each."""
    user = user_by_login(login)
    if account_row(user) is None:
        raise AdminError(f"the user {login!r} has no Exchange account")
    areas, contacts = user_uses(user)
    if (areas or contacts) and not force:
        raise AdminError(
            f"the user {login!r} syncs {describe_uses(areas, contacts)} with this account: remove them "
            "first, or remove the account with --force (they stop syncing until `account set`)"
        )
    forgotten = forget_exchange_ids(user.id)
    ExchangeAccount.delete().where(ExchangeAccount.user == user).execute()
    clear_block(user.id)
    said = [f"the Exchange account of {login!r} is removed"]
    if areas or contacts:
        said.append(f"{describe_uses(areas, contacts)} stay set up and stop syncing until `account set`")
    if forgotten:
        said.append(
            f"the {forgotten} item(s) the sync made stay in Exchange; a later `account set` finds them "
            "again by our external id (none is made twice in the same mailbox)"
        )
    return tuple(said)
