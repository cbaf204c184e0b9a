"""The Microsoft identity platform, as much of it as an app-only client needs: app registrations per
tenant, OpenID discovery, the token endpoint's client-credentials grant, and the check of a bearer
token by the APIs. Tokens are JWT-shaped (header.payload.signature, HMAC-signed with a secret of
this stand-in), bound to (tenant, client, audience) and valid for `lifetime` seconds.

No HTTP here: the HTTP side turns IdentityError into the identity platform's JSON error body."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

GRAPH_AUDIENCE = "https://graph.microsoft.com"
OUTLOOK_AUDIENCE = "https://outlook.office365.com"
AUDIENCES = (GRAPH_AUDIENCE, OUTLOOK_AUDIENCE)
DEFAULT_LIFETIME = 3599


class IdentityError(Exception):
    """An answer of the token endpoint that is not a token: (HTTP status, error, AADSTS code, text)."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description

    def body(self, now: float | None = None) -> dict[str, object]:
        trace_id = str(uuid.uuid4())
        correlation_id = str(uuid.uuid4())
        stamp = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC)
        timestamp = stamp.strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {timestamp}",
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }


class TokenRejected(Exception):
    """A bearer token an API does not accept; `reason` says why (in the API's own words)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # missing, malformed, expired, audience


@dataclass(frozen=True)
class AppSpec:
    tenant: str
    client_id: str
    secret: str


def parse_app(text: str) -> AppSpec:
    """TENANT:CLIENT_ID:SECRET (the secret may itself hold colons)."""
    tenant, sep1, rest = text.partition(":")
    client_id, sep2, secret = rest.partition(":")
    if not (sep1 and sep2 and tenant.strip() and client_id.strip() and secret):
        raise ValueError(f"{text!r} is not TENANT:CLIENT_ID:SECRET")
    return AppSpec(tenant.strip().lower(), client_id.strip().lower(), secret)


@dataclass
class App:
    spec: AppSpec
    mailboxes: frozenset[str] | None = None  # None: every mailbox; else the lower-case addresses it may reach


@dataclass(frozen=True)
class Grant:
    """What a valid token says."""

    tenant: str
    client_id: str
    audience: str
    expires: float


@dataclass
class Identity:
    apps: dict[tuple[str, str], App] = field(default_factory=dict)
    lifetime: int = DEFAULT_LIFETIME
    clock: Callable[[], float] = time.time
    secret: bytes = field(default_factory=lambda: os.urandom(32))
    lock: threading.Lock = field(default_factory=threading.Lock)
    not_before: float = 0.0  # tokens issued before this are expired (see expire_all)

    @classmethod
    def of(cls, specs: Iterable[AppSpec], lifetime: int = DEFAULT_LIFETIME) -> Identity:
        identity = cls(lifetime=lifetime)
        for spec in specs:
            identity.add(spec)
        return identity

    def add(self, spec: AppSpec) -> None:
        with self.lock:
            if (spec.tenant, spec.client_id) in self.apps:
                raise ValueError(f"app {spec.client_id} of tenant {spec.tenant} is given twice")
            self.apps[(spec.tenant, spec.client_id)] = App(spec)

    def knows_tenant(self, tenant: str) -> bool:
        with self.lock:
            return any(key[0] == tenant.lower() for key in self.apps)

    def scope(self, tenant: str, client_id: str, mailboxes: Iterable[str] | None) -> None:
        """Let an app reach only these mailboxes (None: all of them), as RBAC for Applications does."""
        with self.lock:
            app = self.apps.get((tenant.lower(), client_id.lower()))
            if app is None:
                raise KeyError(f"no app {client_id} in tenant {tenant}")
            app.mailboxes = None if mailboxes is None else frozenset(m.strip().lower() for m in mailboxes)

    def may_reach(self, grant: Grant, address: str) -> bool:
        with self.lock:
            app = self.apps.get((grant.tenant, grant.client_id))
            return app is not None and (app.mailboxes is None or address.strip().lower() in app.mailboxes)

    def expire_all(self) -> None:
        """Make every token issued so far expired (what the passing of an hour does)."""
        with self.lock:
            self.not_before = self.clock() + 1e-6

    # the token endpoint -------------------------------------------------------------------------

    def issue(self, tenant: str, form: dict[str, str], basic: tuple[str, str] | None = None) -> dict[str, object]:
        """Answer a POST to /TENANT/oauth2/v2.0/token; raises IdentityError as the platform would."""
        tenant = tenant.lower()
        if not self.knows_tenant(tenant):
            raise IdentityError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
                "into the correct cloud. Check with your subscription administrator, this may happen if there "
                "are no active subscriptions for the tenant.",
            )
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise IdentityError(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
            )
        if grant_type != "client_credentials":
            raise IdentityError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        client_id = (basic[0] if basic else form.get("client_id", "")).strip().lower()
        secret = basic[1] if basic else form.get("client_secret", "")
        if not client_id:
            raise IdentityError(
                400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
            )
        with self.lock:
            app = self.apps.get((tenant, client_id))
        if app is None:
            raise IdentityError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can "
                "happen if the application has not been installed by the administrator of the tenant or consented "
                "to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        if not secret:
            raise IdentityError(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            )
        if not hmac.compare_digest(secret.encode(), app.spec.secret.encode()):
            raise IdentityError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        audience = audience_of_scope(form.get("scope", ""))
        now = self.clock()
        token = self._sign(
            {
                "aud": audience,
                "iss": f"https://sts.windows.net/{tenant}/",
                "tid": tenant,
                "appid": client_id,
                "iat": now,
                "nbf": int(now),
                "exp": now + self.lifetime,
                "jti": uuid.uuid4().hex,
            }
        )
        return {
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime,
            "access_token": token,
        }

    # the APIs' check ----------------------------------------------------------------------------

    def verify(self, authorization: str, audience: str) -> Grant:
        """The grant of an `Authorization: Bearer …` header for an API of `audience`, or TokenRejected."""
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRejected("Access token is empty.", "missing")
        claims = self._unsign(token.strip())
        if claims is None:
            raise TokenRejected("IDX14100: JWT is not well formed, there are no dots (.).", "malformed")
        with self.lock:
            not_before = self.not_before
            known = (claims.get("tid"), claims.get("appid")) in self.apps
        if not known:
            raise TokenRejected("Invalid signature: the token's app is not known.", "malformed")
        issued = _number(claims.get("iat"))
        expires = _number(claims.get("exp"))
        if expires <= self.clock() or issued < not_before:
            raise TokenRejected("Lifetime validation failed, the token is expired.", "expired")
        if claims.get("aud") != audience:
            raise TokenRejected("Invalid audience.", "audience")
        return Grant(str(claims["tid"]), str(claims["appid"]), audience, expires)

    def _sign(self, claims: dict[str, object]) -> str:
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    def _unsign(self, token: str) -> dict[str, object] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = _b64(hmac.new(self.secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except (ValueError, UnicodeDecodeError):
            return None
        return claims if isinstance(claims, dict) else None


def audience_of_scope(scope: str) -> str:
    """The resource of a client-credentials scope: exactly one RESOURCE/.default."""
    scopes = [part for part in scope.split() if part not in ("openid", "profile", "offline_access")]
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        raise IdentityError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope or '(none)'} is not valid. Client credential flows must have a "
            "scope value with /.default suffixed to the resource identifier (application ID URI).",
        )
    resource = scopes[0][: -len("/.default")].rstrip("/")
    if resource not in AUDIENCES:
        raise IdentityError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant. This can happen if the "
            "application has not been installed by the administrator of the tenant or consented to by any "
            "user in the tenant.",
        )
    return resource


def openid_configuration(base_url: str, tenant: str) -> dict[str, object]:
    """What /TENANT/v2.0/.well-known/openid-configuration answers."""
    root = f"{base_url}/{tenant}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base_url}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{root}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base_url}/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver"],
        "kerberos_endpoint": f"{root}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
