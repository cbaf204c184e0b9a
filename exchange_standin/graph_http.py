"""Microsoft Graph's HTTP side: /v1.0/… with an app's bearer token (audience Graph), the faults
a Graph client meets and the JSON on the wire.

The faults (exchange_standin/faults.py GRAPH_KINDS), for a whole request (a `$batch` is one):
throttled and server_busy (429 TooManyRequests with Retry-After), http_503 (with Retry-After if
given), http_500, delay, unauthorized (401), drop (the connection closed or reset; with `process`
after the work was done, its answer lost), timeout_after_work (done, then answered 504
GatewayTimeout; in a `$batch` the answers of the requests after the first `keep`), and
invalid_sync_state (a delta round's next page or delta link answered 410 SyncStateNotFound). With
style "message" a throttled or server_busy rule hits a `$batch` request by request, as Graph
throttles inside a batch: the first `keep` requests are carried out, the others answered 429 with
Retry-After and not done."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from loguru import logger

from .faults import GRAPH_KINDS, FaultRule
from .graph import GraphRequest, GraphResponse, error_body
from .identity import GRAPH_AUDIENCE, Grant, TokenRejected

if TYPE_CHECKING:
    from .httpserver import EwsRequestHandler
    from .server import EmulatorServer

PREFIX = "/v1.0"
GRAPH_OPERATION = "Graph"
BATCH_PATH = "/$batch"
DELTA_TOKENS = ("$deltatoken=", "$skiptoken=")
NOT_FOR_EVERY_REQUEST = ("invalid_sync_state",)  # only a delta round's later pages meet it
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
    headers = {name.lower(): value for name, value in handler.headers.items()}
    request = GraphRequest(method, url, headers, body)
    kinds = (
        GRAPH_KINDS
        if _continues_a_delta_round(url)
        else tuple(kind for kind in GRAPH_KINDS if kind not in NOT_FOR_EVERY_REQUEST)
    )
    rule = emulator.faults.pick(GRAPH_OPERATION, mailbox, kinds)
    if rule is not None:
        logger.debug(f"Emulator: fault {rule.kind} for Graph {method} of {mailbox}")
        if rule.kind == "delay":
            emulator.stopping.wait(rule.seconds)
        else:
            emulator.record(GRAPH_OPERATION, mailbox, None, rule.kind)
            answer = _faulty_answer(emulator, grant, request, rule)
            if answer is None:
                handler._drop(rule.reset)
                return
            _send(handler, answer)
            return
    answer = emulator.graph.handle(grant, request)
    emulator.record(GRAPH_OPERATION, mailbox, answer.status, None)
    _send(handler, answer)


def _faulty_answer(
    emulator: EmulatorServer, grant: Grant, request: GraphRequest, rule: FaultRule
) -> GraphResponse | None:
    """What `rule` makes of `request` (the work done where the kind says so); None: the connection
    is dropped without an answer."""
    is_batch = _is_batch(request)
    if rule.kind == "drop":
        if rule.process:
            emulator.graph.handle(grant, request)
        return None
    if rule.kind == "timeout_after_work":
        return timed_out(emulator.graph.handle(grant, request), rule.keep, is_batch)
    if rule.kind == "invalid_sync_state":
        return GraphResponse(
            410, error_body("SyncStateNotFound", "The sync state generation is invalid or expired; sync again.")
        )
    if rule.kind in ("throttled", "server_busy") and rule.style == "message" and is_batch:
        return throttled_in_batch(emulator, grant, request, rule.keep, rule.retry_after)
    return _fault_answer(rule.kind, rule.retry_after)


def _is_batch(request: GraphRequest) -> bool:
    return request.url.split("?", 1)[0].rstrip("/").lower() == BATCH_PATH.lower()


def _continues_a_delta_round(url: str) -> bool:
    path, _, query = url.partition("?")
    query = unquote(query).lower()
    return path.rstrip("/").lower().endswith("/delta") and any(token in query for token in DELTA_TOKENS)


def timed_out(answer: GraphResponse, keep: int, is_batch: bool) -> GraphResponse:
    """`answer` of work that was done, as Graph gives it when it ran out of time: 504; for a
    `$batch`, the answers of its requests after the first `keep` replaced by 504."""
    if not is_batch or answer.status != 200 or answer.body is None:
        return GraphResponse(504, _timeout_body())
    responses = list(answer.body.get("responses", []))
    kept = responses[:keep] + [_batch_error(str(r.get("id")), 504, _timeout_body()) for r in responses[keep:]]
    return GraphResponse(200, {**answer.body, "responses": kept}, answer.headers)


def throttled_in_batch(
    emulator: EmulatorServer, grant: Grant, request: GraphRequest, keep: int, retry_after: float | None
) -> GraphResponse:
    """A `$batch` of which the first `keep` requests are carried out and the others answered 429
    with Retry-After (not done), as Graph throttles requests inside a batch."""
    try:
        entries = json.loads(request.body or b"{}").get("requests")
    except (ValueError, AttributeError):
        entries = None
    if not isinstance(entries, list) or not entries:
        return emulator.graph.handle(grant, request)  # (a malformed batch: Graph's own answer)
    done: list[Any] = []
    if keep > 0:
        first = GraphRequest(
            request.method, request.url, request.headers, json.dumps({"requests": entries[:keep]}).encode()
        )
        answer = emulator.graph.handle(grant, first)
        if answer.status != 200 or answer.body is None:
            return answer
        done = list(answer.body.get("responses", []))
    throttled = _fault_answer("throttled", retry_after)
    rest = [
        _batch_error(str(entry.get("id") if isinstance(entry, dict) else ""), 429, throttled.body, throttled.headers)
        for entry in entries[keep:]
    ]
    return GraphResponse(200, {"responses": done + rest})


def _timeout_body() -> dict[str, Any]:
    return error_body("GatewayTimeout", "The request timed out; it may or may not have been carried out.")


def _batch_error(
    request_id: str, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "id": request_id,
        "status": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": body,
    }


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
