"""The club's app's access tokens (issue 16): msal's client-credentials flow, one
`ConfidentialClientApplication` per (authority, client id, secret digest), tokens cached per scope
and renewed before they expire.

`token(app, scope)` blocks (msal's HTTP is requests): the EWS backend calls it in its worker
thread, and `token_async` runs it in a worker thread of its own under a limiter. A token is
renewed `margin` seconds before its expiry (5 minutes, or half its lifetime if that is shorter),
so that no request is sent with a token about to lapse; msal's own cache is emptied first, so that
a renewal really asks the identity platform.

Every failure is a GatewayError with one clear line: a refused secret, an app or tenant the
identity platform does not know and a scope the app may not have are `auth_failed`; an identity
platform that cannot be reached is `unreachable`; anything else it answers is `server_error`. No
message, repr or log line holds the secret or a token (msal's own logging is held at WARNING).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import msal
import requests
import trio

from protocol.accounts import AppCredentials

from .errors import AUTH_FAILED, SERVER_ERROR, THROTTLED, UNREACHABLE, GatewayError
from .ews.connection import ExchangeSettings, tls_adapter

RENEW_MARGIN = 300.0  # seconds before its expiry a token is renewed (msal's own margin too)
TOKEN_REQUESTS = 4  # token requests in worker threads at once (token_async)
AADSTS = re.compile(r"AADSTS(\d+)")
TENANT_NOT_FOUND = ("90002", "90023")
APP_NOT_FOUND = "700016"


@dataclass(frozen=True)
class Token:
    """An access token for `scope`, valid until `expires_at` (seconds since the epoch)."""

    value: str = field(repr=False)
    scope: str
    issued_at: float
    expires_at: float

    @property
    def lifetime(self) -> float:
        return self.expires_at - self.issued_at


def _key(app: AppCredentials) -> tuple[str, str, str]:
    return (
        app.authority.rstrip("/").lower(),
        app.client_id.lower(),
        hashlib.sha256(app.proof.encode()).hexdigest(),
    )


class _Client:
    """One msal application and its tokens by scope; `lock` serialises its token requests."""

    def __init__(self, application: msal.ConfidentialClientApplication) -> None:
        self.application = application
        self.tokens: dict[str, Token] = {}
        self.lock = threading.Lock()


class TokenProvider:
    def __init__(
        self,
        settings: ExchangeSettings = ExchangeSettings(),
        *,
        clock: Callable[[], float] = time.time,
        http_client: Any = None,
        margin: float = RENEW_MARGIN,
        limiter: trio.CapacityLimiter | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._http_client = http_client
        self._margin = margin
        self._limiter = limiter
        self._clients: dict[tuple[str, str, str], _Client] = {}
        self._lock = threading.Lock()
        logging.getLogger("msal").setLevel(logging.WARNING)  # at DEBUG it would log its requests

    def _session(self) -> Any:
        if self._http_client is not None:
            return self._http_client
        session = requests.Session()  # TLS verified as for Exchange: the system's CAs, or the ca_bundle
        session.mount("https://", tls_adapter(self.settings)())
        return session

    def _client(self, app: AppCredentials) -> _Client:
        """The app's msal application, made on first use (msal then reads the authority's OpenID
        configuration: a tenant it does not know fails here)."""
        key = _key(app)
        with self._lock:
            client = self._clients.get(key)
        if client is not None:
            return client
        try:
            application = msal.ConfidentialClientApplication(
                app.client_id,
                client_credential=_credential(app),
                authority=app.authority,
                http_client=self._session(),
                timeout=self.settings.request_timeout,
                instance_discovery=False,  # the authority is the one given, not looked up at Microsoft
                token_cache=msal.TokenCache(),
            )
        except requests.RequestException as exc:
            raise _unreachable(app, exc) from None
        except ValueError:
            raise GatewayError(
                AUTH_FAILED,
                f"the identity platform at {app.authority} does not know the tenant {app.tenant!r} "
                "(is `sync-service app set --tenant` right?)",
            ) from None
        with self._lock:
            return self._clients.setdefault(key, _Client(application))

    def token(self, app: AppCredentials, scope: str) -> Token:
        """A token for `scope` (blocking): the cached one while it is good for more than the
        margin, else a new one; GatewayError if the identity platform gives none."""
        client = self._client(app)
        with client.lock:
            cached = client.tokens.get(scope)
            if cached is not None and self._clock() < cached.expires_at - self._renew_before(cached):
                return cached
            client.application.remove_tokens_for_client()  # a renewal asks the identity platform
            asked_at = self._clock()
            try:
                result = client.application.acquire_token_for_client([scope])
            except requests.RequestException as exc:
                raise _unreachable(app, exc) from None
            except ValueError:
                raise GatewayError(
                    SERVER_ERROR, f"the identity platform at {app.authority} gave an answer that is not a token"
                ) from None
            if not isinstance(result, dict) or "access_token" not in result:
                raise _refusal(app, scope, result if isinstance(result, dict) else {})
            lifetime = float(result.get("expires_in", 0))
            token = Token(str(result["access_token"]), scope, asked_at, asked_at + lifetime)
            client.tokens[scope] = token
            return token

    def _renew_before(self, token: Token) -> float:
        return min(self._margin, token.lifetime / 2)

    async def token_async(self, app: AppCredentials, scope: str) -> Token:
        """`token` in a worker thread, at most TOKEN_REQUESTS at once."""
        if self._limiter is None:
            self._limiter = trio.CapacityLimiter(TOKEN_REQUESTS)
        return await trio.to_thread.run_sync(self.token, app, scope, limiter=self._limiter)

    def forget(self, app: AppCredentials) -> None:
        """Drop the app's cached tokens (after Exchange refused one), so that the next `token`
        asks the identity platform (which drops msal's own cache first). Called on the event loop:
        it never waits for the client's lock, which a token request holds while it asks (clearing
        the dict is one step; a token being asked meanwhile is a fresh one anyway)."""
        with self._lock:
            client = self._clients.get(_key(app))
        if client is not None:
            client.tokens.clear()

    def __len__(self) -> int:
        return len(self._clients)


def _credential(app: AppCredentials) -> str | dict[str, str]:
    """msal's client credential: the secret, or the certificate's private key and thumbprint
    (msal then signs a client assertion with the key)."""
    if app.client_secret:
        return app.client_secret
    return {"private_key": app.certificate, "thumbprint": app.thumbprint}


def _unreachable(app: AppCredentials, exc: requests.RequestException) -> GatewayError:
    host = urlsplit(app.authority).netloc
    why = "its TLS certificate is not trusted" if isinstance(exc, requests.exceptions.SSLError) else type(exc).__name__
    return GatewayError(UNREACHABLE, f"the identity platform at {host} cannot be reached ({why})")


def _refusal(app: AppCredentials, scope: str, result: dict[str, Any]) -> GatewayError:
    """One line for the identity platform's refusal (its AADSTS code, never its whole text)."""
    error = str(result.get("error", "no token"))
    found = AADSTS.search(str(result.get("error_description", "")))
    code = found.group(1) if found else ""
    named = f" (AADSTS{code})" if code else f" ({error})"
    if error == "invalid_client":
        return GatewayError(AUTH_FAILED, f"the app's client secret was refused by the identity platform{named}")
    if code in TENANT_NOT_FOUND:
        return GatewayError(
            AUTH_FAILED, f"the identity platform does not know the tenant {app.tenant!r}{named}: is --tenant right?"
        )
    if error == "unauthorized_client" or code == APP_NOT_FOUND:
        return GatewayError(
            AUTH_FAILED, f"the app {app.client_id} is not registered in the tenant {app.tenant!r}{named}"
        )
    if error == "invalid_scope":
        return GatewayError(AUTH_FAILED, f"the app may not have tokens for {scope}{named}")
    if error in ("temporarily_unavailable",) or result.get("status_code") in (429, 503):
        return GatewayError(THROTTLED, f"the identity platform asks to wait before the next token{named}", 60.0)
    return GatewayError(SERVER_ERROR, f"the identity platform gave no token for {scope}{named}")
