"""An account: which mailbox, where, through which backend, and as whom.

The sync service stores one per user (`sync_service/store/accounts.py` builds it from the row and
the vault) and sends its wire form with every gateway request; the gateway reads it back
(`exchange_gateway/ews/connection.AccountSpec`). Both are tagged unions:

    {"backend": "ews",
     "endpoint": "https://mail.example.com/EWS/Exchange.asmx",
     "mailbox": "golf@example.com",
     "credentials": {"kind": "password", "username": "DOMAIN\\\\golf", "password": "…", "auth": "basic"}}

`backend` picks the account's class (`BACKENDS`), `credentials.kind` the credentials' class
(`CREDENTIALS`). Backends: "ews" (an Exchange Server's or Exchange Online's EWS address) and
"graph" (Microsoft Graph; its address is the club's app registration's `graph_url`, so it has no
endpoint). Credentials: "password" (a user name and password, Basic or NTLM; EWS only) and "app"
(the club's app registration in Microsoft Entra ID, issue 16: tenant, client id, client secret,
authority and Graph address, which the gateway needs for a token of the client-credentials flow):

    "credentials": {"kind": "app", "tenant": "contoso.onmicrosoft.com", "client_id": "…",
                    "client_secret": "…", "authority": "https://login.microsoftonline.com/contoso…",
                    "graph_url": "https://graph.microsoft.com/v1.0"}

A Graph account has app credentials only. A backend or kind this program does not know is refused
with the code `unsupported`, anything malformed with `invalid` (the gateway answers these codes as
they are).

`from_wire` also reads the flat form a sync service sent before accounts were tagged (issue 15):
`{"ews_url", "mailbox", "username" (default: the mailbox), "password", "auth" (default: basic)}`,
so that the two services may be restarted in either order after an upgrade of the gateway.

No message of `AccountError`, no repr and no `str` of these values contains the password or the
client secret. This
module imports nothing that does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping
from urllib.parse import urlsplit

INVALID = "invalid"
UNSUPPORTED = "unsupported"

MAILBOX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
AUTH_TYPES = ("basic", "ntlm")
TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")  # a tenant id (GUID) or domain name
THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")
CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # the app's (client) id, a GUID in Entra ID
LOGIN_AUTHORITY = "https://login.microsoftonline.com/"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EWS_SCOPE = "https://outlook.office365.com/.default"


class AccountError(ValueError):
    """An account refused: `code` is `invalid` (malformed) or `unsupported` (a backend or kind of
    credentials this program does not speak); `message` says why, never showing a secret."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _text(wire: Mapping[str, Any], name: str, where: str) -> str:
    value = wire.get(name)
    if value is None or value == "":
        raise AccountError(INVALID, f"{where}{name} is missing")
    if not isinstance(value, str):
        raise AccountError(INVALID, f"{where}{name} must be text")
    return value


def check_mailbox(mailbox: str) -> None:
    if not MAILBOX.match(mailbox):
        raise AccountError(INVALID, f"{mailbox!r} is not a mailbox address like golfclub@example.com")


def check_ews_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise AccountError(INVALID, f"{url!r} is not an EWS address like https://mail.example.com/EWS/Exchange.asmx")


@dataclass(frozen=True)
class PasswordCredentials:
    """A user name and password, sent to the server by `auth` (Basic or NTLM)."""

    kind: ClassVar[str] = "password"

    username: str
    password: str = field(repr=False)
    auth: str = "basic"

    def __post_init__(self) -> None:
        if not self.username.strip():
            raise AccountError(INVALID, "the user name is empty")
        if not self.password:
            raise AccountError(INVALID, "the password is empty")
        if "\n" in self.password or "\r" in self.password:
            raise AccountError(INVALID, "the password may not contain a line break")
        if self.auth not in AUTH_TYPES:
            raise AccountError(INVALID, f"the authentication must be one of {', '.join(AUTH_TYPES)}, not {self.auth!r}")

    def to_wire(self) -> dict[str, str]:
        return {"kind": self.kind, "username": self.username, "password": self.password, "auth": self.auth}

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> PasswordCredentials:
        where = "account.credentials."
        return cls(_text(wire, "username", where), _text(wire, "password", where), _text(wire, "auth", where))


def check_tenant(tenant: str) -> None:
    if not TENANT.match(tenant):
        raise AccountError(INVALID, f"{tenant!r} is not a tenant id or domain like contoso.onmicrosoft.com")


def check_client_id(client_id: str) -> None:
    if not CLIENT_ID.match(client_id):
        raise AccountError(INVALID, f"{client_id!r} is not an application (client) id")


def check_https_url(url: str, what: str, example: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise AccountError(INVALID, f"{url!r} is not {what} like {example}")


def default_authority(tenant: str) -> str:
    return LOGIN_AUTHORITY + tenant


@dataclass(frozen=True)
class AppCredentials:
    """The club's app registration (Microsoft Entra ID): the gateway obtains the app's tokens with
    them (client-credentials flow) and acts for the account's mailbox. `authority` is where the
    tokens come from, `graph_url` the Microsoft Graph address (both HTTPS). The app proves itself
    with a client secret, or with a client certificate: `certificate` (the certificate's private
    key, PEM) and `thumbprint` (the certificate's SHA-1, hex), `client_secret` then empty."""

    kind: ClassVar[str] = "app"

    tenant: str
    client_id: str
    client_secret: str = field(repr=False)
    authority: str = ""
    graph_url: str = GRAPH_URL
    certificate: str = field(default="", repr=False)
    thumbprint: str = ""

    def __post_init__(self) -> None:
        check_tenant(self.tenant)
        check_client_id(self.client_id)
        if bool(self.client_secret) == bool(self.certificate):
            raise AccountError(
                INVALID,
                "the client secret is empty" if not self.certificate else "give a secret or a certificate, not both",
            )
        if any(c in self.client_secret for c in "\r\n"):
            raise AccountError(INVALID, "the client secret may not contain a line break")
        if self.certificate and not THUMBPRINT.match(self.thumbprint):
            raise AccountError(INVALID, "the certificate's thumbprint must be its SHA-1 in 40 hex digits")
        if not self.authority:
            object.__setattr__(self, "authority", default_authority(self.tenant))
        check_https_url(self.authority, "an authority", LOGIN_AUTHORITY + "TENANT")
        check_https_url(self.graph_url, "a Microsoft Graph address", GRAPH_URL)

    @property
    def label(self) -> str:
        """The app as messages name it (never its secret)."""
        return f"the app {self.client_id} of {self.tenant}"

    @property
    def proof(self) -> str:
        """What the app proves itself with (its secret, or its certificate): for digests only."""
        return self.client_secret or self.certificate

    def to_wire(self) -> dict[str, str]:
        proof = (
            {"client_secret": self.client_secret}
            if self.client_secret
            else {"certificate": self.certificate, "thumbprint": self.thumbprint}
        )
        return {
            "kind": self.kind,
            "tenant": self.tenant,
            "client_id": self.client_id,
            **proof,
            "authority": self.authority,
            "graph_url": self.graph_url,
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any], where: str = "account.credentials.") -> AppCredentials:
        certificate = wire.get("certificate")
        if certificate is not None and wire.get("client_secret") is None:
            return cls(
                _text(wire, "tenant", where),
                _text(wire, "client_id", where),
                "",
                _text(wire, "authority", where),
                _text(wire, "graph_url", where),
                _text(wire, "certificate", where),
                _text(wire, "thumbprint", where),
            )
        return cls(
            _text(wire, "tenant", where),
            _text(wire, "client_id", where),
            _text(wire, "client_secret", where),
            _text(wire, "authority", where),
            _text(wire, "graph_url", where),
        )


Credentials = PasswordCredentials | AppCredentials  # the union of the kinds in CREDENTIALS

CREDENTIALS: dict[str, type[Credentials]] = {
    PasswordCredentials.kind: PasswordCredentials,
    AppCredentials.kind: AppCredentials,
}


def credentials_from_wire(wire: Any) -> Credentials:
    if not isinstance(wire, Mapping):
        raise AccountError(INVALID, "account.credentials must be a map")
    kind = _text(wire, "kind", "account.credentials.")
    if kind not in CREDENTIALS:
        raise AccountError(
            UNSUPPORTED, f"credentials of kind {kind!r} are not supported here (known: {', '.join(CREDENTIALS)})"
        )
    return CREDENTIALS[kind].from_wire(wire)


@dataclass(frozen=True)
class EwsAccount:
    """A mailbox on an Exchange Server, through Exchange Web Services at `endpoint`: with a
    password, or with the club's app (OAuth2 bearer token, impersonating the mailbox)."""

    backend: ClassVar[str] = "ews"

    endpoint: str
    mailbox: str
    credentials: Credentials

    def __post_init__(self) -> None:
        check_ews_url(self.endpoint)
        check_mailbox(self.mailbox)

    @property
    def label(self) -> str:
        """The mailbox and where it is, for log lines and messages."""
        return f"{self.mailbox} at {urlsplit(self.endpoint).hostname}"

    def to_wire(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "endpoint": self.endpoint,
            "mailbox": self.mailbox,
            "credentials": self.credentials.to_wire(),
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> EwsAccount:
        endpoint = _text(wire, "endpoint", "account.")
        mailbox = _text(wire, "mailbox", "account.")
        return cls(endpoint, mailbox, credentials_from_wire(wire.get("credentials")))

    @classmethod
    def from_flat_wire(cls, wire: Mapping[str, Any]) -> EwsAccount:
        """The account as a sync service sent it before accounts were tagged."""
        endpoint = _text(wire, "ews_url", "account.")
        mailbox = _text(wire, "mailbox", "account.")
        password = _text(wire, "password", "account.")
        username = wire.get("username") or mailbox
        auth = wire.get("auth", "basic")
        if not isinstance(username, str):
            raise AccountError(INVALID, "account.username must be text")
        if not isinstance(auth, str):
            raise AccountError(INVALID, "account.auth must be text")
        return cls(endpoint, mailbox, PasswordCredentials(username, password, auth))


@dataclass(frozen=True)
class GraphAccount:
    """A mailbox in Exchange Online, through Microsoft Graph with the club's app (its address is
    the app's `graph_url`)."""

    backend: ClassVar[str] = "graph"

    mailbox: str
    credentials: AppCredentials

    def __post_init__(self) -> None:
        check_mailbox(self.mailbox)
        if not isinstance(self.credentials, AppCredentials):
            raise AccountError(INVALID, "a Microsoft Graph account needs the club's app (credentials of kind 'app')")

    @property
    def label(self) -> str:
        return f"{self.mailbox} through Microsoft Graph"

    def to_wire(self) -> dict[str, Any]:
        return {"backend": self.backend, "mailbox": self.mailbox, "credentials": self.credentials.to_wire()}

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> GraphAccount:
        mailbox = _text(wire, "mailbox", "account.")
        credentials = credentials_from_wire(wire.get("credentials"))
        if not isinstance(credentials, AppCredentials):
            raise AccountError(INVALID, "a Microsoft Graph account needs the club's app (credentials of kind 'app')")
        return cls(mailbox, credentials)


Account = EwsAccount | GraphAccount  # the union of the backends in BACKENDS

BACKENDS: dict[str, type[Account]] = {EwsAccount.backend: EwsAccount, GraphAccount.backend: GraphAccount}


def account_from_wire(wire: Any) -> Account:
    """The account a request names, in either wire form; AccountError if it cannot be used."""
    if not isinstance(wire, Mapping):
        raise AccountError(INVALID, "the request needs an 'account' map")
    if "backend" not in wire and "ews_url" in wire:
        return EwsAccount.from_flat_wire(wire)
    backend = _text(wire, "backend", "account.")
    if backend not in BACKENDS:
        raise AccountError(UNSUPPORTED, f"the backend {backend!r} is not supported here (known: {', '.join(BACKENDS)})")
    return BACKENDS[backend].from_wire(wire)
