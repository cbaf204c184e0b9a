"""exchange_gateway/tokens.py: the club's app's tokens through real msal (client-credentials flow),
against an identity platform answered in memory (msal's `http_client`), so nothing leaves this
machine: cached, renewed before expiry, each refusal one clear line, no secret anywhere."""

import base64
import datetime as dt
import json
import logging
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from exchange_gateway.errors import GatewayError
from exchange_gateway.tokens import TokenProvider
from protocol.accounts import EWS_SCOPE, GRAPH_SCOPE, AppCredentials

SECRET = "Xy7~the-app-secret.value"
TENANT = "contoso.example"
CLIENT = "11111111-2222-3333-4444-555555555555"
AUTHORITY = f"https://login.example/{TENANT}"
APP = AppCredentials(TENANT, CLIENT, SECRET, AUTHORITY)


def make_certificate():
    """A self-signed client certificate: (private key PEM, certificate, SHA-1 thumbprint hex)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "club app")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode(), certificate, certificate.fingerprint(hashes.SHA1()).hex().upper()


KEY, CERTIFICATE, THUMBPRINT = make_certificate()
CERTIFIED = AppCredentials(TENANT, CLIENT, "", AUTHORITY, certificate=KEY, thumbprint=THUMBPRINT)


class Response:
    def __init__(self, status, body):
        self.status_code = status
        self.text = json.dumps(body)
        self.headers = {"Content-Type": "application/json"}

    def raise_for_status(self):
        if self.status_code >= 400:
            raise requests.HTTPError(f"HTTP {self.status_code}")


class IdentityPlatform:
    """The identity platform's discovery and token endpoints, as msal asks them."""

    def __init__(self, lifetime=3600, reachable=True):
        self.lifetime = lifetime
        self.reachable = reachable
        self.issued = 0
        self.requests = []
        self.assertions = []

    def get(self, url, params=None, headers=None, **kwargs):
        self.requests.append(url)
        if not self.reachable:
            raise requests.ConnectionError("connection refused")
        path = urlsplit(url).path
        tenant = path.split("/")[1]
        if tenant != TENANT:
            return Response(400, {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{tenant}'"})
        base = f"https://login.example/{tenant}"
        return Response(
            200,
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            },
        )

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        self.requests.append(url)
        if not self.reachable:
            raise requests.ConnectionError("connection refused")
        form = data if isinstance(data, dict) else {k: v[0] for k, v in parse_qs(data or "").items()}
        if form.get("client_id") != CLIENT:
            return Response(400, {"error": "unauthorized_client", "error_description": "AADSTS700016: not found"})
        if "client_assertion" in form:
            self.assertions.append(form["client_assertion"])
            try:
                jwt.decode(form["client_assertion"], CERTIFICATE.public_key(), ["RS256", "PS256"], audience=url)
            except jwt.PyJWTError:
                return Response(401, {"error": "invalid_client", "error_description": "AADSTS700027: bad assertion"})
        elif form.get("client_secret") != SECRET:
            return Response(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
            )
        if form.get("scope") not in (GRAPH_SCOPE, EWS_SCOPE):
            return Response(400, {"error": "invalid_scope", "error_description": "AADSTS70011: bad scope"})
        self.issued += 1
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "access_token": f"token-{self.issued}-{form['scope']}",
            },
        )


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def platform():
    return IdentityPlatform()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def provider(platform, clock):
    return TokenProvider(clock=clock, http_client=platform)


def test_a_token_is_obtained_and_cached_per_scope(provider, platform, clock):
    graph = provider.token(APP, GRAPH_SCOPE)
    assert graph.value == f"token-1-{GRAPH_SCOPE}"
    assert graph.expires_at == clock.now + 3600
    assert provider.token(APP, GRAPH_SCOPE) is graph  # cached: no second request
    ews = provider.token(APP, EWS_SCOPE)
    assert ews.value == f"token-2-{EWS_SCOPE}"
    assert platform.issued == 2
    assert len(provider) == 1  # one msal application for the app
    assert SECRET not in repr(graph) and graph.value not in repr(graph)


def test_a_token_is_renewed_before_it_expires(provider, platform, clock):
    first = provider.token(APP, GRAPH_SCOPE)
    clock.now += 3600 - 301  # more than five minutes left: still good
    assert provider.token(APP, GRAPH_SCOPE) is first
    clock.now += 2  # less than five minutes left: a new one
    second = provider.token(APP, GRAPH_SCOPE)
    assert second.value != first.value and platform.issued == 2
    assert second.expires_at == clock.now + 3600


def test_a_short_lived_token_is_renewed_at_half_its_life(platform, clock):
    platform.lifetime = 120
    provider = TokenProvider(clock=clock, http_client=platform)
    first = provider.token(APP, GRAPH_SCOPE)
    clock.now += 59
    assert provider.token(APP, GRAPH_SCOPE) is first
    clock.now += 2
    assert provider.token(APP, GRAPH_SCOPE).value != first.value


def test_another_secret_is_another_application(provider, platform):
    provider.token(APP, GRAPH_SCOPE)
    wrong = AppCredentials(TENANT, CLIENT, "not-the-secret", AUTHORITY)
    with pytest.raises(GatewayError) as refused:
        provider.token(wrong, GRAPH_SCOPE)
    assert (refused.value.code, refused.value.message) == (
        "auth_failed",
        "the app's client secret was refused by the identity platform (AADSTS7000215)",
    )
    assert len(provider) == 2


@pytest.mark.parametrize(
    "app, scope, code, message",
    [
        (
            AppCredentials("fabrikam.example", CLIENT, SECRET, "https://login.example/fabrikam.example"),
            GRAPH_SCOPE,
            "auth_failed",
            "does not know the tenant 'fabrikam.example'",
        ),
        (
            AppCredentials(TENANT, "other-client", SECRET, AUTHORITY),
            GRAPH_SCOPE,
            "auth_failed",
            f"the app other-client is not registered in the tenant '{TENANT}' (AADSTS700016)",
        ),
        (APP, "https://example.com/.default", "auth_failed", "the app may not have tokens for https://example.com"),
    ],
)
def test_each_refusal_is_one_clear_line(provider, app, scope, code, message):
    with pytest.raises(GatewayError) as refused:
        provider.token(app, scope)
    assert refused.value.code == code
    assert message in refused.value.message
    assert "\n" not in refused.value.message and SECRET not in refused.value.message


def test_an_identity_platform_out_of_reach_is_unreachable(platform, clock):
    platform.reachable = False
    provider = TokenProvider(clock=clock, http_client=platform)
    with pytest.raises(GatewayError) as refused:
        provider.token(APP, GRAPH_SCOPE)
    assert (refused.value.code, refused.value.message) == (
        "unreachable",
        "the identity platform at login.example cannot be reached (ConnectionError)",
    )


def test_forget_drops_the_cached_tokens(provider, platform):
    first = provider.token(APP, GRAPH_SCOPE)
    provider.forget(APP)
    assert provider.token(APP, GRAPH_SCOPE).value != first.value


def test_token_async_runs_in_a_worker_thread(provider, platform):
    async def main():
        return await provider.token_async(APP, EWS_SCOPE)

    assert trio.run(main).value == f"token-1-{EWS_SCOPE}"


def test_no_secret_or_token_in_any_log_line(provider, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("msal", "urllib3", "requests"):
        logging.getLogger(name).setLevel(logging.DEBUG)  # even if someone turns msal's logging up
    token = provider.token(APP, GRAPH_SCOPE)
    with pytest.raises(GatewayError):
        provider.token(AppCredentials(TENANT, CLIENT, "wrong-secret", AUTHORITY), GRAPH_SCOPE)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert SECRET not in logged and "wrong-secret" not in logged and token.value not in logged


def test_a_client_certificate_signs_the_request_instead_of_a_secret(provider, platform):
    token = provider.token(CERTIFIED, GRAPH_SCOPE)
    assert token.value == f"token-1-{GRAPH_SCOPE}"
    [assertion] = platform.assertions
    header = jwt.get_unverified_header(assertion)
    assert header["alg"] in ("RS256", "PS256")
    assert header["x5t"].rstrip("=") == base64.urlsafe_b64encode(bytes.fromhex(THUMBPRINT)).decode().rstrip("=")
    assert KEY not in repr(CERTIFIED) and provider.token(CERTIFIED, GRAPH_SCOPE) is token
