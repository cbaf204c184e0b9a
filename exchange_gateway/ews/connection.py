"""exchangelib accounts for the mailboxes the sync service names, built once and kept.

An account is cached per endpoint, mailbox, user name, auth type and password (its hash): a
changed password in PC CADDIE simply makes a new one. After an auth failure the cached account is
dropped. exchangelib's retry policy is FailFast: every failure comes back at once, and waiting is
decided by the sync service (it knows how long the server asked for).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

import requests.adapters
from exchangelib import BASIC, DELEGATE, NTLM, Account, Configuration, Credentials, FailFast
from exchangelib.protocol import BaseProtocol
from exchangelib.util import _get_retry_after

from .errors import INVALID, GatewayError, ServiceUnavailable

AUTH_TYPES = {"basic": BASIC, "ntlm": NTLM}


@dataclass(frozen=True)
class AccountSpec:
    """Which mailbox, where, as whom: sent by the sync service with every request."""

    ews_url: str
    mailbox: str
    username: str
    password: str = field(repr=False)
    auth: str = "basic"

    @classmethod
    def from_wire(cls, wire: Any) -> "AccountSpec":
        if not isinstance(wire, Mapping):
            raise GatewayError(INVALID, "the request needs an 'account' map")
        values = {}
        for name in ("ews_url", "mailbox", "password"):
            value = wire.get(name)
            if not isinstance(value, str) or not value:
                raise GatewayError(INVALID, f"account.{name} is missing")
            values[name] = value
        parts = urlsplit(values["ews_url"])
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise GatewayError(INVALID, f"account.ews_url {values['ews_url']!r} is not an http(s) address")
        username = wire.get("username") or values["mailbox"]
        auth = wire.get("auth", "basic")
        if not isinstance(username, str) or auth not in AUTH_TYPES:
            raise GatewayError(INVALID, f"account.auth must be one of {', '.join(AUTH_TYPES)}")
        return cls(values["ews_url"], values["mailbox"], username, values["password"], auth)

    @property
    def cache_key(self) -> tuple[str, ...]:
        secret = hashlib.sha256(self.password.encode()).hexdigest()
        return (self.ews_url, self.mailbox.lower(), self.username, self.auth, secret)

    @property
    def label(self) -> str:
        return f"{self.mailbox} at {urlsplit(self.ews_url).hostname}"


@dataclass(frozen=True)
class ExchangeSettings:
    request_timeout: float = 60.0  # one HTTP request to Exchange, at most
    connections_per_endpoint: int = 4
    verify_tls: bool = True
    ca_bundle: str | None = None  # a private CA's certificates (PEM), for a server with its own


def _adapter_class(settings: ExchangeSettings) -> type[requests.adapters.HTTPAdapter]:
    verify: bool | str = settings.ca_bundle if settings.ca_bundle else settings.verify_tls

    class ConfiguredTLSAdapter(requests.adapters.HTTPAdapter):
        """TLS as configured: verified against the system's CAs, a private bundle, or (never by
        default) not at all."""

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
    BaseProtocol.HTTP_ADAPTER_CLS = _adapter_class(settings)
    for name in ("exchangelib", "requests_ntlm", "urllib3", "requests_oauthlib"):
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


class AccountCache:
    def __init__(self, settings: ExchangeSettings) -> None:
        self.settings = settings
        self._accounts: dict[tuple[str, ...], Account] = {}
        self._lock = threading.Lock()

    def get(self, spec: AccountSpec) -> Account:
        """The account for `spec` (blocking on first use: no network yet, that comes with a call)."""
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

    def forget(self, spec: AccountSpec) -> None:
        with self._lock:
            self._accounts.pop(spec.cache_key, None)

    def __len__(self) -> int:
        return len(self._accounts)
