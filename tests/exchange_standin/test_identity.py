"""The identity platform of the stand-in, through msal itself (verifying TLS with ca.pem) and httpx."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import httpx
import msal
import pytest
import requests.adapters
from exchangelib import (
    IMPERSONATION,
    OAUTH2,
    Account,
    CalendarItem,
    Configuration,
    EWSDateTime,
    EWSTimeZone,
    FailFast,
)
from exchangelib.credentials import OAuth2AuthorizationCodeCredentials
from exchangelib.protocol import BaseProtocol, close_connections
from oauthlib.oauth2 import OAuth2Token

from exchange_standin import EmulatorServer
from exchange_standin.identity import AppSpec, parse_app

from .conftest import ANNA, BOB, envelope, response_codes

TENANT = "club-tenant"
CLIENT = "11111111-2222-3333-4444-555555555555"
SECRET = "s3cr:et~value"
GRAPH = "https://graph.microsoft.com/.default"
OUTLOOK = "https://outlook.office365.com/.default"
ERROR_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"}


@pytest.fixture
def online(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # requests lets these variables override a Session's verify (msal's `verify`): a client of the
    # stand-in's CA must not have them set
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    server = EmulatorServer(
        mailboxes=[ANNA, BOB], apps=[AppSpec(TENANT, CLIENT, SECRET)], tls_dir=tmp_path / "certs"
    ).start()
    yield server
    server.stop()


def client(server: EmulatorServer, secret: str = SECRET, tenant: str = TENANT, **options):
    return msal.ConfidentialClientApplication(
        CLIENT,
        client_credential=secret,
        authority=f"{server.base_url}/{tenant}",
        verify=str(server.ca_file),
        **options,
    )


def http(server: EmulatorServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, verify=ssl.create_default_context(cafile=str(server.ca_file)))


def token_request(server: EmulatorServer, **form: str) -> httpx.Response:
    fields = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET, "scope": GRAPH}
    fields.update(form)
    with http(server) as session:
        return session.post(f"/{TENANT}/oauth2/v2.0/token", data={k: v for k, v in fields.items() if v is not None})


def test_parse_app():
    assert parse_app("Tenant:ABC:x:y") == AppSpec("tenant", "abc", "x:y")
    for bad in ("tenant", "tenant:client", "tenant::secret", ":client:secret", "tenant:client:"):
        with pytest.raises(ValueError, match="TENANT:CLIENT_ID:SECRET"):
            parse_app(bad)


def test_msal_gets_a_token_for_each_api(online: EmulatorServer):
    app = client(online, instance_discovery=False)
    for scope in (GRAPH, OUTLOOK):
        result = app.acquire_token_for_client(scopes=[scope])
        assert result.get("token_type") == "Bearer", result
        assert 3000 < result["expires_in"] <= 3599
        assert result["access_token"].count(".") == 2


def test_msal_with_instance_discovery_at_the_stand_in(online: EmulatorServer):
    app = client(online, instance_discovery=f"{online.base_url}/common/discovery/instance")
    assert "access_token" in app.acquire_token_for_client(scopes=[GRAPH])


def test_msal_caches_the_token(online: EmulatorServer):
    app = client(online, instance_discovery=False)
    first = app.acquire_token_for_client(scopes=[GRAPH])
    second = app.acquire_token_for_client(scopes=[GRAPH])
    assert first["access_token"] == second["access_token"]
    assert second.get("token_source") == "cache"


def test_a_wrong_secret_is_invalid_client(online: EmulatorServer):
    result = client(online, secret="wrong", instance_discovery=False).acquire_token_for_client(scopes=[GRAPH])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    response = token_request(online, client_secret="wrong")
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS


def test_an_unknown_tenant(online: EmulatorServer):
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        client(online, tenant="elsewhere", instance_discovery=False)
    with http(online) as session:
        response = session.post(
            "/elsewhere/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET, "scope": GRAPH},
        )
        discovery = session.get("/elsewhere/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]
    assert set(response.json()) == ERROR_KEYS
    assert discovery.status_code == 400
    assert discovery.json()["error_codes"] == [90002]


def test_an_unknown_client(online: EmulatorServer):
    response = token_request(online, client_id="99999999-0000-0000-0000-000000000000")
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["error_codes"]) == ("unauthorized_client", [700016])


def test_an_unsupported_grant(online: EmulatorServer):
    response = token_request(online, grant_type="password")
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["error_codes"]) == ("unsupported_grant_type", [70003])


@pytest.mark.parametrize(
    ("scope", "error", "code"),
    [
        ("Calendars.ReadWrite", "invalid_scope", 1002012),
        (f"{GRAPH} {OUTLOOK}", "invalid_scope", 1002012),
        ("https://management.azure.com/.default", "invalid_resource", 500011),
    ],
)
def test_an_invalid_scope(online: EmulatorServer, scope: str, error: str, code: int):
    response = token_request(online, scope=scope)
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["error_codes"]) == (error, [code])


def test_the_secret_in_a_basic_header(online: EmulatorServer):
    with http(online) as session:
        response = session.post(
            f"/{TENANT}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "scope": GRAPH},
            auth=(CLIENT, SECRET),
        )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_openid_discovery(online: EmulatorServer):
    with http(online) as session:
        config = session.get(f"/{TENANT}/v2.0/.well-known/openid-configuration").json()
    assert config["token_endpoint"] == f"{online.base_url}/{TENANT}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{online.base_url}/{TENANT}/oauth2/v2.0/authorize"
    assert config["issuer"] == f"{online.base_url}/{TENANT}/v2.0"


# EWS with the app's bearer token --------------------------------------------------------------

GET_CALENDAR = (
    "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
    '<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>'
)


def impersonating(address: str) -> str:
    return (
        "<t:ExchangeImpersonation><t:ConnectingSID>"
        f"<t:PrimarySmtpAddress>{address}</t:PrimarySmtpAddress>"
        "</t:ConnectingSID></t:ExchangeImpersonation>"
    )


def ews(server: EmulatorServer, token: str, header: str = "", **headers: str) -> httpx.Response:
    with http(server) as session:
        return session.post(
            "/EWS/Exchange.asmx",
            content=envelope(GET_CALENDAR, header),
            headers={"Content-Type": "text/xml; charset=utf-8", "Authorization": f"Bearer {token}", **headers},
        )


def token(server: EmulatorServer, scope: str) -> str:
    return token_request(server, scope=scope).json()["access_token"]


def test_ews_accepts_an_outlook_token_impersonating_a_mailbox(online: EmulatorServer):
    response = ews(online, token(online, OUTLOOK), impersonating(BOB[0]))
    assert response.status_code == 200
    assert response_codes(response) == ["NoError"]
    anchored = ews(online, token(online, OUTLOOK), **{"X-AnchorMailbox": ANNA[0]})
    assert response_codes(anchored) == ["NoError"]


def test_ews_refuses_a_graph_token_a_bad_one_and_an_expired_one(online: EmulatorServer):
    graph = ews(online, token(online, GRAPH), impersonating(BOB[0]))
    assert graph.status_code == 401
    assert 'error="invalid_token"' in graph.headers["WWW-Authenticate"]
    assert "invalid_resource" in graph.headers["x-ms-diagnostics"]
    assert ews(online, "not-a-token", impersonating(BOB[0])).status_code == 401
    outlook = token(online, OUTLOOK)
    online.identity.expire_all()
    expired = ews(online, outlook, impersonating(BOB[0]))
    assert expired.status_code == 401
    assert "invalid_lifetime" in expired.headers["x-ms-diagnostics"]


def test_ews_as_app_needs_a_mailbox_the_app_may_reach(online: EmulatorServer):
    outlook = token(online, OUTLOOK)
    nobody = ews(online, outlook)
    assert nobody.status_code == 500
    assert b"ErrorImpersonationFailed" in nobody.content
    unknown = ews(online, outlook, impersonating("carl@club.example"))
    assert b"ErrorNonExistentMailbox" in unknown.content
    with http(online) as session:
        scoped = session.post(
            "/emulator/apps/scope", json={"tenant": TENANT, "client_id": CLIENT, "mailboxes": [ANNA[0]]}
        )
    assert scoped.status_code == 200
    denied = ews(online, outlook, impersonating(BOB[0]))
    assert denied.status_code == 500
    assert b"ErrorImpersonateUserDenied" in denied.content
    assert response_codes(ews(online, outlook, impersonating(ANNA[0]))) == ["NoError"]


def test_exchangelib_with_the_apps_token_impersonating_a_mailbox(online: EmulatorServer, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(online.ca_file))  # exchangelib's sessions trust the stand-in's CA
    # plain exchangelib: its own HTTP adapter, whatever a gateway test in this process configured before
    monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", requests.adapters.HTTPAdapter)
    answer = token_request(online, scope=OUTLOOK).json()
    access = OAuth2Token({**answer, "expires_at": time.time() + answer["expires_in"]})
    credentials = OAuth2AuthorizationCodeCredentials(
        client_id=CLIENT, client_secret=SECRET, tenant_id=TENANT, access_token=access
    )
    config = Configuration(
        service_endpoint=online.url, credentials=credentials, auth_type=OAUTH2, retry_policy=FailFast()
    )
    try:
        account = Account(BOB[0], config=config, autodiscover=False, access_type=IMPERSONATION)
        utc = EWSTimeZone("UTC")
        CalendarItem(
            account=account,
            folder=account.calendar,
            subject="As the app",
            start=EWSDateTime(2026, 6, 1, 9, tzinfo=utc),
            end=EWSDateTime(2026, 6, 1, 10, tzinfo=utc),
        ).save()
        assert [item.subject for item in account.calendar.all()] == ["As the app"]
    finally:
        close_connections()
    with online.store.lock:
        bob = online.store.mailbox(BOB[0])
        assert bob is not None and [item.props.get("item:Subject") for item in bob.items.values()] == ["As the app"]
