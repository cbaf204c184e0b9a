"""The club's app registration (Microsoft Entra ID) as the store holds it: one row (schema
migration 8), its client secret encrypted with the vault's key. `app_credentials` makes the
`protocol.accounts.AppCredentials` the accounts of kind "app" carry to the gateway, decrypting the
secret in memory only; `app_digest` identifies the registration as it was set, for the refused
mailboxes' records (`mailbox_blocks.credentials_digest`).

Every function runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from protocol.accounts import AccountError, AppCredentials

from ..vault import PasswordVault, VaultError
from .models import AppRegistration

SECRET = "secret"
CERTIFICATE = "certificate"  # a client certificate: its private key encrypted, and its thumbprint
APP_ID = 1  # the club has one app registration


class AppMissing(LookupError):
    """The club has no app registration yet."""

    def __init__(self) -> None:
        super().__init__(
            "the club has no app registration yet: run `sync-service app set --tenant TENANT "
            "--client-id ID --client-secret-stdin` first"
        )


class AppUnusable(VaultError):
    """A stored app registration this program cannot use as it stands (written outside `app set`,
    or with a credential kind this version does not speak); `app set` mends it."""


def app_row() -> AppRegistration | None:
    return AppRegistration.get_or_none(AppRegistration.id == APP_ID)


def app_credentials(vault: PasswordVault) -> AppCredentials:
    """The registration as the accounts carry it; AppMissing, or AppUnusable (a VaultError)."""
    row = app_row()
    if row is None:
        raise AppMissing()
    if row.credential_kind == SECRET and row.secret_encrypted is not None:
        secret, key, thumbprint = vault.decrypt(row.secret_encrypted), "", ""
    elif row.credential_kind == CERTIFICATE and row.certificate_encrypted is not None:
        secret, key, thumbprint = "", vault.decrypt(row.certificate_encrypted), row.thumbprint or ""
    else:
        raise AppUnusable(
            f"the club's app registration has credentials of kind {row.credential_kind!r}, which this version "
            "cannot use; set it again with `sync-service app set`"
        )
    try:
        return AppCredentials(row.tenant, row.client_id, secret, row.authority, row.graph_url, key, thumbprint)
    except AccountError as exc:
        raise AppUnusable(
            f"the club's app registration cannot be used: {exc.message}; set it again with `sync-service app set`"
        ) from None


def store_app(app: AppCredentials, vault: PasswordVault) -> None:
    """Set (or replace) the registration, its secret (or its certificate's private key) encrypted."""
    values = {
        "tenant": app.tenant,
        "client_id": app.client_id,
        "credential_kind": SECRET if app.client_secret else CERTIFICATE,
        "secret_encrypted": vault.encrypt(app.client_secret) if app.client_secret else None,
        "certificate_encrypted": vault.encrypt(app.certificate) if app.certificate else None,
        "thumbprint": app.thumbprint or None,
        "authority": app.authority,
        "graph_url": app.graph_url,
        "updated": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }
    AppRegistration.insert(id=APP_ID, **values).on_conflict(
        conflict_target=[AppRegistration.id],
        update={getattr(AppRegistration, name): value for name, value in values.items()},
    ).execute()


def app_digest(row: AppRegistration | None) -> str:
    """Pure: what identifies the registration as it was set (every `app set` gives a new one, as
    the secret is encrypted afresh); made of the encrypted secret, so it reveals nothing."""
    if row is None:
        return ""
    digest = hashlib.sha256()
    parts = [row.tenant, row.client_id, row.credential_kind, row.authority, row.graph_url, row.thumbprint or ""]
    for part in [p.encode() for p in parts] + [
        bytes(row.secret_encrypted or b""),
        bytes(row.certificate_encrypted or b""),
    ]:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()
