"""Microsoft Graph's HTTP side: /v1.0/… with an app's bearer token (audience Graph), the faults
a Graph client meets (429 with Retry-After, 503, …) and the JSON on the wire."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from loguru import logger

from .faults import GRAPH_KINDS
from .graph import GraphRequest, GraphResponse, error_body
from .identity import GRAPH_AUDIENCE, TokenRejected

if TYPE_CHECKING:
    from .httpserver import EwsRequestHandler

PREFIX = "/v1.0"
GRAPH_OPERATION = "Graph"
CHALLENGE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


def is_graph_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def handle(handler: EwsRequestHandler, method: str) -> None:
    emulator = handler.emulator
    body = handler._read_body()
    if body is None:
        _send(handler, GraphResponse(400, error_body("BadRequest", "The request body cannot be read.")))
        handler.close_connection = True
        return
    try:
        grant = emulator.identity.verify(handler.headers.get("Authorization", ""), GRAPH_AUDIENCE)
    except TokenRejected as exc:
        emulator.record(GRAPH_OPERATION, None, 401, None)
        _send(
            handler,
            GraphResponse(
                401,
                error_body("InvalidAuthenticationToken", exc.reason),
                {"WWW-Authenticate": CHALLENGE},
            ),
        )
        return
    url = handler.path[len(PREFIX) :] or "/"
    mailbox = _mailbox_of(url)
    rule = emulator.faults.pick(GRAPH_OPERATION, mailbox, GRAPH_KINDS)
    if rule is not None:
        logger.debug(f"Emulator: fault {rule.kind} for Graph {method} of {mailbox}")
        if rule.kind == "delay":
            emulator.stopping.wait(rule.seconds)
        else:
            emulator.record(GRAPH_OPERATION, mailbox, None, rule.kind)
            if rule.kind == "drop":
                handler._drop(rule.reset)
                return
            _send(handler, _fault_answer(rule.kind, rule.retry_after))
            return
    headers = {name.lower(): value for name, value in handler.headers.items()}
    answer = emulator.graph.handle(grant, GraphRequest(method, url, headers, body))
    emulator.record(GRAPH_OPERATION, mailbox, answer.status, None)
    _send(handler, answer)


def _mailbox_of(url: str) -> str | None:
    parts = url.split("?", 1)[0].split("/")
    return parts[2].lower() if len(parts) > 2 and parts[1].lower() == "users" else None


def _fault_answer(kind: str, retry_after: float | None) -> GraphResponse:
    if kind in ("throttled", "server_busy"):
        after = retry_after if retry_after is not None else 2
        body = error_body("TooManyRequests", "Please retry again later.")
        body["error"]["innerError"].update({"code": "429", "message": "Please retry after", "status": "429"})
        return GraphResponse(429, body, {"Retry-After": _seconds(after)})
    if kind == "http_503":
        headers = {"Retry-After": _seconds(retry_after)} if retry_after is not None else {}
        return GraphResponse(503, error_body("ServiceUnavailable", "The service is temporarily unavailable."), headers)
    if kind == "unauthorized":
        return GraphResponse(
            401, error_body("InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        )
    return GraphResponse(500, error_body("generalException", "An internal server error occurred."))


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _send(handler: EwsRequestHandler, answer: GraphResponse) -> None:
    headers = {"request-id": str(uuid.uuid4()), "OData-Version": "4.0", **answer.headers}
    if answer.body is None:
        handler._send(answer.status, b"", "text/plain", headers)
        return
    payload = json.dumps(answer.body).encode()
    handler._send(
        answer.status, payload, "application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8", headers
    )
