"""exchangelib accounts for the mailboxes the sync service names, built once and kept.

An account is cached per endpoint, mailbox, user name, auth type and password (its hash): a
changed password in PC CADDIE simply makes a new one. After an auth failure the cached account is
dropped. exchangelib's retry policy is FailFast: every failure comes back at once, and waiting is
decided by the sync service (it knows how long the server asked for).

An account with the club's app (`--oauth`, credentials of kind "app") reaches EWS with the app's
bearer token (scope https://outlook.office365.com/.default, from the gateway's TokenProvider,
tokens.py) and impersonates the mailbox. Before each call the token is renewed if it is about to
expire (the provider decides), and installed in exchangelib's OAuth2 client, which all of the
account's sessions share; it is cached per endpoint, mailbox, app and secret (its hash).
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests.adapters
from exchangelib import BASIC, DELEGATE, IMPERSONATION, NTLM, OAUTH2, Account, Configuration, Credentials, FailFast
from exchangelib.credentials import OAuth2AuthorizationCodeCredentials
from exchangelib.protocol import BaseProtocol
from exchangelib.util import _get_retry_after

from protocol import accounts as protocol_accounts
from protocol.accounts import (
    EWS_SCOPE,
    AccountError,
    AppCredentials,
    EwsAccount,
    PasswordCredentials,
    account_from_wire,
)

from ..errors import UNSUPPORTED, GatewayError
from .errors import ServiceUnavailable

if TYPE_CHECKING:
    from ..tokens import Token, TokenProvider

AUTH_TYPES = {"basic": BASIC, "ntlm": NTLM}
APP_AUTH = "oauth"  # an AccountSpec's auth when it uses the club's app


@dataclass(frozen=True)
class AccountSpec:
    """Which mailbox, where, as whom: the EWS account a request names (`protocol.accounts`, sent by
    the sync service with every request), as exchangelib wants it."""

    ews_url: str
    mailbox: str
    username: str
    password: str = field(repr=False)
    auth: str = "basic"
    app: AppCredentials | None = None  # the club's app (auth "oauth"): a bearer token, no password

    @classmethod
    def from_wire(cls, wire: Any) -> "AccountSpec":
        """The request's account in either wire form (tagged, or the flat form of a sync service of
        the previous version); `invalid` if malformed, `unsupported` if not an EWS account."""
        try:
            account = account_from_wire(wire)
        except AccountError as exc:
            named = exc.message.startswith(("account.", "the request"))
            raise GatewayError(exc.code, exc.message if named else f"account: {exc.message}") from None
        return cls.from_account(account)

    @classmethod
    def from_account(cls, account: protocol_accounts.Account) -> "AccountSpec":
        if account.backend != EwsAccount.backend:
            raise GatewayError(UNSUPPORTED, f"the EWS backend cannot serve a {account.backend!r} account")
        if not isinstance(account, EwsAccount):
            raise GatewayError(UNSUPPORTED, f"the EWS backend cannot serve a {account.backend!r} account")
        credentials = account.credentials
        if isinstance(credentials, AppCredentials):
            return cls(account.endpoint, account.mailbox, credentials.client_id, "", APP_AUTH, credentials)
        if not isinstance(credentials, PasswordCredentials):
            raise GatewayError(UNSUPPORTED, f"EWS with {credentials.kind!r} credentials is not supported here")
        return cls(account.endpoint, account.mailbox, credentials.username, credentials.password, credentials.auth)

    @property
    def cache_key(self) -> tuple[str, ...]:
        secret = self.app.proof if self.app is not None else self.password
        digest = hashlib.sha256(secret.encode()).hexdigest()
        authority = self.app.authority if self.app is not None else ""
        return (self.ews_url, self.mailbox.lower(), self.username, self.auth, authority, digest)

    @property
    def label(self) -> str:
        return f"{self.mailbox} at {urlsplit(self.ews_url).hostname}"


@dataclass(frozen=True)
class ExchangeSettings:
    request_timeout: float = 60.0  # one HTTP request to Exchange, at most
    connections_per_endpoint: int = 4
    verify_tls: bool = True
    ca_bundle: str | None = None  # a private CA's certificates (PEM), for a server with its own


def trust_context(ca_bundle: str) -> ssl.SSLContext:
    """The system's trusted CAs and, besides them, the certificates of `ca_bundle` (PEM)."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_bundle)
    return context


def tls_adapter(settings: ExchangeSettings) -> type[requests.adapters.HTTPAdapter]:
    verify: bool = settings.verify_tls or bool(settings.ca_bundle)
    context = trust_context(settings.ca_bundle) if settings.ca_bundle else None

    class ConfiguredTLSAdapter(requests.adapters.HTTPAdapter):
        """TLS as configured: verified against the system's CAs (and requests' own bundle), with a
        private bundle's certificates trusted besides them, or (never by default) not at all."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            if context is not None:
                kwargs["ssl_context"] = context
            super().init_poolmanager(*args, **kwargs)

        def cert_verify(self, conn: Any, url: str, _verify: Any, cert: Any) -> None:
            super().cert_verify(conn=conn, url=url, verify=verify, cert=cert)

        def get_connection_with_tls_context(
            self, request: Any, _verify: Any, proxies: Any = None, cert: Any = None
        ) -> Any:
            return super().get_connection_with_tls_context(request=request, verify=verify, proxies=proxies, cert=cert)

    return ConfiguredTLSAdapter


def configure_exchangelib(settings: ExchangeSettings) -> None:
    """exchangelib keeps these per process (class attributes): set them once, at start. Its own
    logging (which at DEBUG would show requests and their headers) is held at WARNING, so that
    no credential can reach a log whatever the logging set-up around it."""
    BaseProtocol.TIMEOUT = settings.request_timeout
    BaseProtocol.HTTP_ADAPTER_CLS = tls_adapter(settings)
    for name in ("exchangelib", "requests_ntlm", "urllib3", "requests_oauthlib", "oauthlib", "msal"):
        logging.getLogger(name).setLevel(logging.WARNING)


class GatewayFailFast(FailFast):
    """FailFast, except that an HTTP 503 keeps its Retry-After: exchangelib's own FailFast turns it
    into ErrorInternalServerTransientError and then into "server busy, wait 10 s", a wait nobody
    asked for."""

    def raise_response_errors(self, response: Any) -> None:
        if response.status_code == 503:
            retry_after = _get_retry_after(response)
            raise ServiceUnavailable(f"HTTP 503 from {response.url}", float(retry_after) if retry_after else None)
        super().raise_response_errors(response)


class AppTokenCredentials(OAuth2AuthorizationCodeCredentials):
    """exchangelib's OAuth2 credentials holding the club's app's token, which the gateway's
    TokenProvider gives (exchangelib itself never asks an identity platform: it has no client id
    or secret here). `renew` installs a newer token in the OAuth2 client all sessions share."""

    def __init__(self, tokens: TokenProvider, app: AppCredentials) -> None:
        self._tokens = tokens
        self._app = app
        self._value = ""
        super().__init__(access_token=None)
        self.renew()

    def renew(self) -> None:
        """The provider's current token for EWS (renewed by it before it expires), installed if new."""
        token = self._tokens.token(self._app, EWS_SCOPE)
        with self.lock:
            if token.value != self._value:
                self._install(token)

    def _install(self, token: Token) -> None:
        self._value = token.value
        wire = {"access_token": token.value, "token_type": "Bearer", "expires_at": token.expires_at}
        self.access_token = wire
        self.client.token = wire  # the OAuth2 client every session of this account uses
        self.client.populate_token_attributes(wire)

    def refresh(self, session: Any) -> None:  # exchangelib: the token it holds has expired
        self.renew()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AppTokenCredentials) and other._app == self._app

    def __hash__(self) -> int:  # the same whatever token it holds (exchangelib keys protocols by it)
        return hash((AppTokenCredentials, self._app))

    def __repr__(self) -> str:
        return f"AppTokenCredentials({self._app.client_id!r}, '********')"


class AccountCache:
    def __init__(self, settings: ExchangeSettings, tokens: TokenProvider | None = None) -> None:
        self.settings = settings
        self.tokens = tokens  # the club's app's tokens, for accounts with the app
        self._accounts: dict[tuple[str, ...], Account] = {}
        self._lock = threading.Lock()

    def get(self, spec: AccountSpec) -> Account:
        """The account for `spec` (blocking on first use: no network yet, that comes with a call;
        for an account with the app, a token, which the provider may have to ask for)."""
        if spec.app is not None:
            return self._app_account(spec, spec.app)
        with self._lock:
            account = self._accounts.get(spec.cache_key)
            if account is None:
                config = Configuration(
                    service_endpoint=spec.ews_url,
                    credentials=Credentials(spec.username, spec.password),
                    auth_type=AUTH_TYPES[spec.auth],
                    retry_policy=GatewayFailFast(),
                    max_connections=self.settings.connections_per_endpoint,
                )
                account = Account(
                    primary_smtp_address=spec.mailbox, config=config, autodiscover=False, access_type=DELEGATE
                )
                self._accounts[spec.cache_key] = account
            return account

    def _app_account(self, spec: AccountSpec, app: AppCredentials) -> Account:
        if self.tokens is None:
            raise GatewayError(UNSUPPORTED, "this gateway was started without the club's app's token provider")
        with self._lock:
            account = self._accounts.get(spec.cache_key)
        if account is not None:
            account.protocol.credentials.renew()
            return account
        credentials = AppTokenCredentials(self.tokens, app)  # outside the lock: it may ask for a token
        config = Configuration(
            service_endpoint=spec.ews_url,
            credentials=credentials,
            auth_type=OAUTH2,
            retry_policy=GatewayFailFast(),
            max_connections=self.settings.connections_per_endpoint,
        )
        account = Account(
            primary_smtp_address=spec.mailbox, config=config, autodiscover=False, access_type=IMPERSONATION
        )
        with self._lock:
            return self._accounts.setdefault(spec.cache_key, account)

    def forget(self, spec: AccountSpec) -> None:
        with self._lock:
            self._accounts.pop(spec.cache_key, None)
        if spec.app is not None and self.tokens is not None:
            self.tokens.forget(spec.app)

    def __len__(self) -> int:
        return len(self._accounts)
