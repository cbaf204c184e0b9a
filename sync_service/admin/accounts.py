"""Exchange accounts: one per PC CADDIE user, the password encrypted at rest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..store.models import ExchangeAccount
from ..vault import PasswordVault
from . import AdminError
from .lookups import user_by_login
from .mailbox_blocks import clear_block

MAILBOX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MASK = "********"


@dataclass(frozen=True)
class AccountView:
    login: str
    ews_url: str
    mailbox: str
    username: str
    password: str = MASK


def check_ews_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise AdminError(f"{url!r} is not an EWS address like https://mail.example.com/EWS/Exchange.asmx")
    return url


def set_account(
    login: str, ews_url: str, mailbox: str, username: str | None, password: str, vault: PasswordVault
) -> None:
    user = user_by_login(login)
    ews_url = check_ews_url(ews_url)
    mailbox = mailbox.strip()
    if not MAILBOX.match(mailbox):
        raise AdminError(f"{mailbox!r} is not a mailbox address like golfclub@example.com")
    if not password:
        raise AdminError("the password is empty")
    if "\n" in password or "\r" in password:
        raise AdminError("the password may not contain a line break")
    values = {
        "ews_url": ews_url,
        "mailbox": mailbox,
        "username": (username or mailbox).strip(),
        "password_encrypted": vault.encrypt(password),
    }
    ExchangeAccount.insert(user=user, **values).on_conflict(
        conflict_target=[ExchangeAccount.user],
        update={getattr(ExchangeAccount, name): value for name, value in values.items()},
    ).execute()
    clear_block(user.id)  # a mailbox left alone after a refused login is tried again (issue 13, defect 7)


def show_account(login: str) -> AccountView:
    user = user_by_login(login)
    account = ExchangeAccount.get_or_none(ExchangeAccount.user == user)
    if account is None:
        raise AdminError(f"the user {login!r} has no Exchange account (see `sync-service account set`)")
    return AccountView(login, account.ews_url, account.mailbox, account.username)


def account_for_gateway(login: str, vault: PasswordVault) -> dict[str, str]:
    """The account as the gateway wants it with each request (the password decrypted, in memory only)."""
    user = user_by_login(login)
    account = ExchangeAccount.get_or_none(ExchangeAccount.user == user)
    if account is None:
        raise AdminError(f"the user {login!r} has no Exchange account (see `sync-service account set`)")
    return {
        "ews_url": account.ews_url,
        "mailbox": account.mailbox,
        "username": account.username,
        "password": vault.decrypt(account.password_encrypted),
    }
