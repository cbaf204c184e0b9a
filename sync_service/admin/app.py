"""The club's app registration in Microsoft Entra ID (`app set|show`, issue 16): the tenant, the
application (client) id, its client secret (encrypted at rest with the vault's key, as the
passwords are) or a client certificate (its private key encrypted the same way), the authority
tokens come from and the Microsoft Graph address. The accounts of kind `--graph` and `--oauth`
use it; `store/app_registration.py` holds the row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization

from protocol.accounts import (
    EWS_SCOPE,
    GRAPH_SCOPE,
    AccountError,
    AppCredentials,
    EwsAccount,
    GraphAccount,
    check_client_id,
    check_https_url,
    check_tenant,
    default_authority,
)

from ..store.app_registration import AppMissing, app_credentials, app_row, store_app
from ..store.models import ExchangeAccount
from ..vault import PasswordVault
from . import AdminError

MASK = "********"


@dataclass(frozen=True)
class AppView:
    """What `app show` prints: the registration without its secret."""

    tenant: str
    client_id: str
    credential: str
    client_secret: str
    authority: str
    graph_url: str
    updated: str
    accounts: int  # the accounts that use it


@dataclass(frozen=True)
class ClientCertificate:
    """A client certificate as `app set --certificate` reads it: its private key (PEM, unencrypted
    PKCS#8) and its SHA-1 thumbprint (hex), as Entra ID shows it."""

    private_key: str = field(repr=False)
    thumbprint: str


def read_certificate(pem: bytes, where: str) -> ClientCertificate:
    """The private key and certificate of a PEM file (both in it, in any order; the key without a
    passphrase), the key matching the certificate; AdminError saying what is wrong."""
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise AdminError(f"{where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise AdminError(f"the private key in {where} is protected by a passphrase: export it without one") from None
    except (ValueError, UnsupportedAlgorithm):
        raise AdminError(f"{where} holds no PEM private key (-----BEGIN PRIVATE KEY-----)") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.PEM, public) != certificate.public_key().public_bytes(
        serialization.Encoding.PEM, public
    ):
        raise AdminError(f"the private key in {where} is not the certificate's")
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ClientCertificate(private, certificate.fingerprint(hashes.SHA1()).hex().upper())  # noqa: S303


def app_registration(
    tenant: str,
    client_id: str,
    secret: str,
    authority: str | None = None,
    graph_url: str | None = None,
    certificate: ClientCertificate | None = None,
) -> AppCredentials:
    """The registration as typed (spaces around the values dropped; the authority defaulting to
    Microsoft's login for the tenant, the Graph address to Graph v1.0), with a client secret or
    a client certificate, or AdminError."""
    tenant, client_id = tenant.strip(), client_id.strip()
    try:
        check_tenant(tenant)  # in the order the options are named, before the secret
        check_client_id(client_id)
        authority = (authority or default_authority(tenant)).strip().rstrip("/")
        check_https_url(authority, "an authority", "https://login.microsoftonline.com/TENANT")
        graph = (graph_url or AppCredentials.graph_url).strip()
        if certificate is not None:
            return AppCredentials(
                tenant, client_id, "", authority, graph, certificate.private_key, certificate.thumbprint
            )
        if not secret:
            raise AdminError("the client secret is empty (give it on the first line of standard input)")
        return AppCredentials(tenant, client_id, secret, authority, graph)
    except AccountError as exc:
        raise AdminError(exc.message) from None


def set_app(
    tenant: str,
    client_id: str,
    secret: str,
    vault: PasswordVault,
    authority: str | None = None,
    graph_url: str | None = None,
    certificate: ClientCertificate | None = None,
) -> AppCredentials:
    """Set (or replace) the club's app registration. A mailbox of an app account left alone after
    a refused login is tried again (its block's digest covers the registration)."""
    app = app_registration(tenant, client_id, secret, authority, graph_url, certificate)
    store_app(app, vault)
    return app


def _accounts_using_app() -> list[ExchangeAccount]:
    return list(ExchangeAccount.select().where(ExchangeAccount.credential_kind == AppCredentials.kind))


def show_app() -> AppView:
    row = app_row()
    if row is None:
        raise AdminError(str(AppMissing()))
    updated = row.updated if isinstance(row.updated, dt.datetime) else dt.datetime.fromisoformat(str(row.updated))
    return AppView(
        row.tenant,
        row.client_id,
        "client secret" if row.credential_kind == "secret" else f"client certificate {row.thumbprint}",
        MASK if row.credential_kind == "secret" else "(none: the certificate's private key is stored encrypted)",
        row.authority,
        row.graph_url,
        f"{updated:%Y-%m-%d %H:%M} UTC",
        len(_accounts_using_app()),
    )


def scopes_in_use() -> list[str]:
    """The token scopes the club's app accounts need: Graph's for `--graph`, Exchange Online's
    EWS for `--oauth`; Graph's when no account uses the app yet."""
    backends = {row.backend for row in _accounts_using_app()}
    scopes = [GRAPH_SCOPE] if GraphAccount.backend in backends or not backends else []
    return scopes + ([EWS_SCOPE] if EwsAccount.backend in backends else [])


def app_for_gateway(vault: PasswordVault) -> dict[str, Any]:
    """The registration's wire form (the credentials an app account carries), for `app check`."""
    try:
        return app_credentials(vault).to_wire()
    except AppMissing as exc:
        raise AdminError(str(exc)) from None
