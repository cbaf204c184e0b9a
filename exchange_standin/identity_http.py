"""The identity platform's HTTP side: /TENANT/v2.0/.well-known/openid-configuration,
/TENANT/oauth2/v2.0/token and /common/discovery/instance (for a client that points msal's
instance_discovery at the stand-in instead of passing instance_discovery=False)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from .identity import IdentityError, openid_configuration

if TYPE_CHECKING:
    from .httpserver import EwsRequestHandler

DISCOVERY = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
TOKEN = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
INSTANCE_DISCOVERY = "/common/discovery/instance"


def is_identity_path(path: str) -> bool:
    return bool(DISCOVERY.match(path) or TOKEN.match(path) or path == INSTANCE_DISCOVERY)


def handle(handler: EwsRequestHandler, method: str) -> None:
    parts = urlsplit(handler.path)
    path = parts.path
    identity = handler.emulator.identity
    base = handler.emulator.base_url
    discovery = DISCOVERY.match(path)
    token = TOKEN.match(path)
    try:
        if method == "GET" and discovery:
            tenant = unquote(discovery.group(1)).lower()
            if not identity.knows_tenant(tenant):
                raise IdentityError(
                    400,
                    "invalid_tenant",
                    90002,
                    f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                    "signing into the correct cloud.",
                )
            handler._send_json(200, openid_configuration(base, tenant))
        elif method == "GET" and path == INSTANCE_DISCOVERY:
            query = parse_qs(parts.query)
            endpoint = urlsplit(query.get("authorization_endpoint", [""])[0])
            tenant = endpoint.path.strip("/").split("/")[0] if endpoint.path else ""
            # msal names the instance by its host alone (without the port)
            if endpoint.hostname not in (urlsplit(base).hostname, "localhost") or not identity.knows_tenant(tenant):
                handler._send_json(
                    400, IdentityError(400, "invalid_instance", 50049, "Unknown or invalid instance.").body()
                )
                return
            handler._send_json(
                200,
                {
                    "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
                    "api-version": "1.1",
                    "metadata": [{"preferred_network": urlsplit(base).netloc, "aliases": [urlsplit(base).netloc]}],
                },
            )
        elif method == "POST" and token:
            body = handler._read_body() or b""
            try:
                fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                fields = {}
            form = {key: values[0] for key, values in fields.items()}
            answer = identity.issue(unquote(token.group(1)), form, _basic(handler.headers.get("Authorization", "")))
            handler._send(200, _json(answer), "application/json; charset=utf-8", {"Cache-Control": "no-store"})
        else:
            handler._send(405, b"Method Not Allowed", "text/plain", {"Allow": "POST" if token else "GET"})
    except IdentityError as exc:
        handler._send(exc.status, _json(exc.body()), "application/json; charset=utf-8", {"Cache-Control": "no-store"})


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, secret = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return (unquote(user), unquote(secret)) if sep else None


def _json(data: object) -> bytes:
    return json.dumps(data).encode()
