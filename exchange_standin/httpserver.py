"""The HTTP side: /EWS/Exchange.asmx with Basic auth and the faults, and the control endpoint
/emulator/... for tests in another process. Everything about EWS itself is in the dispatcher."""

from __future__ import annotations

import base64
import binascii
import json
import socket
import ssl
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from loguru import logger

from . import dispatcher, fault_answers, graph_http, identity_http, soap
from .errors import EwsError, SoapFault
from .faults import EWS_KINDS, KIND_CODES, FaultError, FaultRule, rule_from_json
from .identity import OUTLOOK_AUDIENCE, TokenRejected

if TYPE_CHECKING:
    from .server import EmulatorServer

EWS_PATH = "/ews/exchange.asmx"
MAX_BODY = 64 * 1024 * 1024
UNAUTHORIZED_PAGE = (
    b"<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to invalid credentials."
    b"</title></head><body><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>"
    b"<h3>You do not have permission to view this directory or page using the credentials that you supplied."
    b"</h3></body></html>"
)
UNAVAILABLE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h2>Service Unavailable</h2>"
    b"<hr><p>HTTP Error 503. The service is unavailable.</p></body></html>"
)


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: EmulatorServer, family: int) -> None:
        self.address_family = family
        self.emulator = emulator
        super().__init__(address, EwsRequestHandler)

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up or fails the TLS handshake is no error of the server's."""
        error = sys.exc_info()[1]
        if isinstance(error, (ssl.SSLError, ConnectionError)):
            logger.debug(f"Emulator HTTP: {client_address}: {error}")
        else:
            super().handle_error(request, client_address)


class EwsRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    server: EmulatorHTTPServer
    # TCP_NODELAY on every connection: an answer's headers and body are written apart, and with
    # Nagle's algorithm the body waits for the client's delayed ACK of the headers, about 40 ms on
    # loopback for every request (EWS and Graph alike), which no Exchange server adds and which
    # would make every round trip cost the same whatever the request.
    disable_nagle_algorithm = True

    # plumbing -----------------------------------------------------------------------------------

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        logger.debug("Emulator HTTP: " + (format % args))

    @property
    def emulator(self) -> EmulatorServer:
        return self.server.emulator

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Powered-By", "ASP.NET")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_xml(self, status: int, body: bytes) -> None:
        self._send(status, body, "text/xml; charset=utf-8")

    def _send_json(self, status: int, data: object) -> None:
        self._send(status, json.dumps(data, indent=2, default=str).encode(), "application/json")

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
        length = self.headers.get("Content-Length")
        try:
            size = int(length) if length is not None else 0
        except ValueError:
            return None
        if size < 0 or size > MAX_BODY:
            return None
        return self.rfile.read(size)

    def _unauthorized(self) -> None:
        realm = self.headers.get("Host", "localhost").split(":")[0]
        self._send(
            HTTPStatus.UNAUTHORIZED,
            UNAUTHORIZED_PAGE,
            "text/html",
            {"WWW-Authenticate": f'Basic realm="{realm}"'},
        )

    def _authenticate(self):
        header = self.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            text = decoded.decode("latin-1")
        username, sep, password = text.partition(":")
        if not sep:
            return None
        return self.emulator.authenticate(username, password)

    # methods ------------------------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802 - the base class's naming
        path = urlsplit(self.path).path
        if path.lower() == EWS_PATH:
            self._ews()
        elif path.startswith("/emulator/"):
            self._control("POST", path)
        elif identity_http.is_identity_path(path):
            identity_http.handle(self, "POST")
        elif graph_http.is_graph_path(path):
            graph_http.handle(self, "POST")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"Not Found", "text/plain")

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path.startswith("/emulator/"):
            self._control("GET", path)
        elif identity_http.is_identity_path(path):
            identity_http.handle(self, "GET")
        elif graph_http.is_graph_path(path):
            graph_http.handle(self, "GET")
        elif path.lower() == EWS_PATH:
            if self._authenticate() is None:
                self._unauthorized()
            else:
                self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"Method Not Allowed", "text/plain", {"Allow": "POST"})
        else:
            self._send(HTTPStatus.NOT_FOUND, b"Not Found", "text/plain")

    def do_DELETE(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path.startswith("/emulator/"):
            self._control("DELETE", path)
        elif graph_http.is_graph_path(path):
            graph_http.handle(self, "DELETE")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"Not Found", "text/plain")

    def do_PATCH(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if graph_http.is_graph_path(path):
            graph_http.handle(self, "PATCH")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"Not Found", "text/plain")

    # EWS ----------------------------------------------------------------------------------------

    def _ews(self) -> None:
        body = self._read_body()
        if body is None:
            self._send(HTTPStatus.BAD_REQUEST, b"Bad Request", "text/plain")
            self.close_connection = True
            return
        if self.headers.get("Authorization", "").lower().startswith("bearer"):
            self._ews_as_app(body)
            return
        mailbox = self._authenticate()
        if mailbox is None:
            self.emulator.record(None, None, 401, None)
            self._unauthorized()
            return
        try:
            request = soap.parse_request(body)
        except SoapFault as exc:
            self.emulator.record(None, mailbox.address, 500, None)
            self._send_xml(500, soap.fault(exc))
            return
        self._ews_request(request, mailbox)

    def _ews_as_app(self, body: bytes) -> None:
        """EWS with an app's bearer token: the mailbox is the impersonated one (ExchangeImpersonation's
        address, else X-AnchorMailbox), as Exchange Online does for full_access_as_app."""
        try:
            grant = self.emulator.identity.verify(self.headers.get("Authorization", ""), OUTLOOK_AUDIENCE)
        except TokenRejected as exc:
            self.emulator.record(None, None, 401, None)
            self._bearer_unauthorized(exc)
            return
        try:
            request = soap.parse_request(body)
        except SoapFault as exc:
            self.emulator.record(None, None, 500, None)
            self._send_xml(500, soap.fault(exc))
            return
        address = soap.impersonated_address(request) or self.headers.get("X-AnchorMailbox", "")
        with self.emulator.store.lock:
            mailbox = self.emulator.store.mailbox(address) if address else None
        if mailbox is None:
            self.emulator.record(request.operation, None, 500, None)
            fault = (
                SoapFault("ErrorNonExistentMailbox")
                if address
                else SoapFault("ErrorImpersonationFailed", "An app must impersonate a mailbox (ExchangeImpersonation).")
            )
            self._send_xml(500, soap.fault(fault))
            return
        if not self.emulator.identity.may_reach(grant, mailbox.address):
            self.emulator.record(request.operation, mailbox.address, 500, None)
            self._send_xml(500, soap.fault(SoapFault("ErrorImpersonateUserDenied")))
            return
        request.impersonation = None  # carried out: the request runs as that mailbox
        self._ews_request(request, mailbox)

    def _bearer_unauthorized(self, rejected: TokenRejected) -> None:
        challenge = (
            'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
            'token_types="app_asserted_user_v1 service_asserted_app_v1", error="invalid_token"'
        )
        category = {"expired": "invalid_lifetime", "audience": "invalid_resource"}.get(rejected.kind, "invalid_token")
        diagnostics = f'2000001;reason="{rejected.reason}";error_category="{category}"'
        self._send(
            HTTPStatus.UNAUTHORIZED, b"", "text/html", {"WWW-Authenticate": challenge, "x-ms-diagnostics": diagnostics}
        )

    def _ews_request(self, request: soap.Request, mailbox) -> None:
        rule = self.emulator.faults.pick(request.operation, mailbox.address, EWS_KINDS)
        if rule is not None and self._inject(rule, request, mailbox):
            return
        status, response = dispatcher.handle(self.emulator.store, mailbox, request)
        self.emulator.record(request.operation, mailbox.address, status, None)
        self._send_xml(status, response)

    def _inject(self, rule: FaultRule, request: soap.Request, mailbox) -> bool:
        """Carry out a fault. True if the request is answered (or dropped) by it."""
        operation = request.operation
        logger.debug(f"Emulator: fault {rule.kind} for {operation} of {mailbox.address}")
        if rule.kind == "delay":
            self.emulator.stopping.wait(rule.seconds)
            return False
        self.emulator.record(operation, mailbox.address, None, rule.kind)
        if rule.kind == "server_busy":
            message_xml = [("BackOffMilliseconds", str(rule.back_off_ms))]
            if rule.style == "message":
                builder = soap.ResponseBuilder(operation)
                builder.error(EwsError("ErrorServerBusy", message_xml=message_xml))
                self._send_xml(200, soap.envelope(builder.root))
            else:
                self._send_xml(
                    500, soap.fault(SoapFault("ErrorServerBusy", message_xml=message_xml), with_header=False)
                )
        elif rule.kind == "http_500":
            self._send_xml(500, soap.fault(SoapFault(rule.code)))
        elif rule.kind == "http_503":
            headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, UNAVAILABLE_PAGE, "text/html", headers)
        elif rule.kind == "unauthorized":
            self._unauthorized()
        elif rule.kind == "drop":
            if rule.process:
                dispatcher.handle(self.emulator.store, mailbox, request)
            self._drop(rule.reset)
        elif rule.kind in ("error_message", "quota_exceeded", "invalid_sync_state"):
            error = EwsError(KIND_CODES.get(rule.kind, rule.code))
            self._send_xml(200, fault_answers.every_message_fails(request, error))
        elif rule.kind == "timeout_after_work":
            status, response = dispatcher.handle(self.emulator.store, mailbox, request)
            if status == 200:
                response = fault_answers.messages_replaced(response, EwsError(KIND_CODES[rule.kind]), rule.keep)
            self._send_xml(status, response)
        elif rule.kind == "fault_after_work":
            dispatcher.handle(self.emulator.store, mailbox, request)
            self._send_xml(500, soap.fault(SoapFault(rule.code)))
        return True

    def _drop(self, reset: bool) -> None:
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # control endpoint ---------------------------------------------------------------------------

    def _control_body(self) -> object:
        body = self._read_body()
        if not body:
            return {}
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise FaultError("the body is not JSON") from None

    def _control(self, method: str, path: str) -> None:
        emulator = self.emulator
        try:
            if method == "GET" and path == "/emulator/state":
                self._send_json(200, emulator.state())
            elif method == "GET" and path == "/emulator/faults":
                self._send_json(200, emulator.faults.describe())
            elif method == "POST" and path == "/emulator/faults":
                data = self._control_body()
                rules = data if isinstance(data, list) else [data]
                added = [self._add_fault(rule) for rule in rules]
                self._send_json(201, added if isinstance(data, list) else added[0])
            elif method == "DELETE" and path == "/emulator/faults":
                emulator.faults.clear()
                self._send_json(200, [])
            elif method == "DELETE" and path.startswith("/emulator/faults/"):
                found = emulator.faults.remove(int(path.rsplit("/", 1)[1]))
                self._send_json(200 if found else 404, {"removed": found})
            elif method == "POST" and path == "/emulator/mailboxes":
                data = self._control_body()
                if not isinstance(data, dict) or not {"address", "password"} <= set(data):
                    raise FaultError("give address and password")
                emulator.add_mailbox(str(data["address"]), str(data["password"]))
                self._send_json(201, {"address": data["address"]})
            elif method == "POST" and path == "/emulator/password":
                data = self._control_body()
                if not isinstance(data, dict) or not {"mailbox", "password"} <= set(data):
                    raise FaultError("give mailbox and password")
                emulator.change_password(str(data["mailbox"]), str(data["password"]))
                self._send_json(200, {"mailbox": data["mailbox"]})
            elif method == "POST" and path == "/emulator/apps/scope":
                data = self._control_body()
                if not isinstance(data, dict) or not {"tenant", "client_id"} <= set(data):
                    raise FaultError("give tenant, client_id and mailboxes (a list, or null for all)")
                reach = data.get("mailboxes")
                if reach is not None and not isinstance(reach, list):
                    raise FaultError("mailboxes is a list of addresses, or null for all")
                emulator.identity.scope(str(data["tenant"]), str(data["client_id"]), reach)
                self._send_json(200, {"tenant": data["tenant"], "client_id": data["client_id"], "mailboxes": reach})
            elif method == "POST" and path == "/emulator/tokens/expire":
                emulator.identity.expire_all()
                self._send_json(200, {"expired": True})
            elif method == "POST" and path == "/emulator/graph/forget-delta-tokens":
                self._send_json(200, {"forgotten": emulator.graph.deltas.forget_all()})
            elif method == "POST" and path == "/emulator/seed":
                data = self._control_body()
                emulator.faults.reseed(int(data.get("seed", 0)) if isinstance(data, dict) else 0)
                self._send_json(200, {"seed": emulator.faults.seed})
            else:
                self._send_json(404, {"error": f"no such control endpoint: {method} {path}"})
        except (FaultError, KeyError, ValueError) as exc:
            self._send_json(400, {"error": str(exc).strip("'\"")})

    def _add_fault(self, data: object) -> dict:
        if isinstance(data, dict) and data.get("kind") == "folder_change":
            return self.emulator.change_folder_from_json(data)
        if isinstance(data, dict) and data.get("kind") == "password_change":
            if not {"mailbox", "password"} <= set(data):
                raise FaultError("a password_change needs mailbox and password")
            self.emulator.change_password(str(data["mailbox"]), str(data["password"]))
            return {"kind": "password_change", "mailbox": data["mailbox"], "applied": time.time()}
        return self.emulator.faults.add(rule_from_json(data)).describe()


def serve_in_thread(server: EmulatorHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="ews-emulator", daemon=True)
    thread.start()
    return thread
