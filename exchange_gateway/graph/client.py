"""Microsoft Graph over httpx, natively async under trio: one mailbox's requests, alone or in `$batch`.

Every request carries the app's bearer token (asked of the TokenProvider once per call, so a renewed
one is used) and `Prefer: outlook.body-content-type="text", outlook.timezone="UTC"`: bodies come as
text and times in UTC. A `$batch` holds at most MAX_BATCH requests and is answered per request, in
the order sent. Paths are relative to the mailbox (`/users/{address}`); a link Graph gives back
(`@odata.nextLink`) is followed only when it is under the Graph address the app names.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, Sequence
from urllib.parse import quote

import httpx

from ..errors import UNREACHABLE, GatewayError
from .errors import GraphFailure, failure_of

MAX_BATCH = 20  # requests per $batch (Graph's limit)
PREFER = 'outlook.body-content-type="text", outlook.timezone="UTC"'


def prefer(page_size: int) -> str:
    """The Prefer header of a request whose pages hold at most `page_size` values."""
    return f"odata.maxpagesize={page_size}, {PREFER}"


@dataclass(frozen=True)
class GraphRequest:
    """One request of a mailbox: `path` below /users/{address}, its query, body and headers."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphAnswer:
    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def failure(self) -> GraphFailure:
        return failure_of(self.status, self.headers, self.body)

    def value(self) -> Any:
        """The body of a successful answer; GraphFailure otherwise."""
        if not self.ok:
            raise self.failure()
        return self.body


def http_client(timeout: float, verify: bool | ssl.SSLContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, verify=verify, follow_redirects=False)


class GraphClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        graph_url: str,
        mailbox: str,
        token: Callable[[], Awaitable[str]],
        forget_token: Callable[[], None] = lambda: None,
    ) -> None:
        self._http = http
        self._root = graph_url.rstrip("/")
        self._user = f"/users/{quote(mailbox, safe='@')}"
        self._token, self._forget_token = token, forget_token
        self._bearer: str | None = None  # the token of this call (a client serves one call)
        self._renewed = False  # the bearer was asked for after a 401 ...
        self._proven = False  # ... and Graph has taken it since

    def url(self, path: str) -> str:
        return f"{self._root}{self._user}{path}"

    def relative(self, link: str) -> str | None:
        """A link Graph gave, as a path of this mailbox with its query; None if it points elsewhere."""
        prefix = self._root + self._user
        if not link.lower().startswith(prefix.lower()):
            return None
        return link[len(prefix) :]

    async def _headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The app's token is asked for once per call: the provider renews it minutes before it
        expires, far longer than a call may last (the operations' deadline)."""
        if self._bearer is None:
            self._bearer = await self._token()
        return {"Authorization": f"Bearer {self._bearer}", "Prefer": PREFER, **extra}

    async def _request(self, method: str, url: str, extra: Mapping[str, str], **options: Any) -> httpx.Response:
        """One HTTP request with the app's token. A 401 on a token the identity platform gave
        (expired early, revoked) is no refusal of the app: the token is dropped, a new one asked
        for, and the request (which Graph refused before doing anything) sent once more; a 401 on
        that fresh token, before Graph has taken it once, is the answer. A token renewed so and
        taken is like any other: a later 401 in the same call renews it again (each request is
        sent at most twice)."""
        self._open()
        response = await self._http.request(method, url, headers=await self._headers(extra), **options)
        if response.status_code == 401 and not (self._renewed and not self._proven):
            self._renewed, self._proven = True, False
            self._forget_token()
            self._bearer = None
            headers = await self._headers(extra)
            self._open()
            response = await self._http.request(method, url, headers=headers, **options)
        if response.status_code != 401:
            self._proven = True
        return response

    def _open(self) -> None:
        """A call still running when the backend's lifetime ended (the gateway stopping) sends
        nothing more: `unreachable`, the outcome of what it sent before unknown to the caller."""
        if self._http.is_closed:
            raise GatewayError(UNREACHABLE, "the gateway is shutting down: no more requests to Microsoft Graph")

    async def send(self, request: GraphRequest) -> GraphAnswer:
        response = await self._request(
            request.method,
            self.url(request.path),
            request.headers,
            params=dict(request.params) or None,
            json=request.body,
        )
        return GraphAnswer(response.status_code, dict(response.headers), _json(response))

    async def get(self, path: str, params: Mapping[str, str] | None = None, **headers: str) -> Any:
        return (await self.send(GraphRequest("GET", path, params or {}, headers=headers))).value()

    async def batch(self, requests: Sequence[GraphRequest]) -> list[GraphAnswer]:
        """The requests in $batch requests of MAX_BATCH, each answer in its request's place. A batch
        refused as a whole raises its failure; one whose answers do not match its requests is a
        GraphFailure too (which answer is whose is not known)."""
        answers: list[GraphAnswer] = []
        for start in range(0, len(requests), MAX_BATCH):
            answers += await self._one_batch(requests[start : start + MAX_BATCH])
        return answers

    async def _one_batch(self, requests: Sequence[GraphRequest]) -> list[GraphAnswer]:
        body = {"requests": [_batch_entry(str(index), self._user, r) for index, r in enumerate(requests)]}
        response = await self._request("POST", f"{self._root}/$batch", {}, json=body)
        answer = GraphAnswer(response.status_code, dict(response.headers), _json(response))
        data = answer.value()
        found = {str(r.get("id")): r for r in data.get("responses", [])} if isinstance(data, dict) else {}
        if set(found) != {str(i) for i in range(len(requests))}:
            raise GraphFailure(
                502,
                "BatchIncomplete",
                f"Microsoft Graph answered {len(found)} of the {len(requests)} requests of a batch; what became of "
                "them is not known",
            )
        return [_batch_answer(found[str(i)]) for i in range(len(requests))]


def _batch_entry(request_id: str, user: str, request: GraphRequest) -> dict[str, Any]:
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in request.params.items())
    entry: dict[str, Any] = {
        "id": request_id,
        "method": request.method,
        "url": f"{user}{request.path}" + (f"?{query}" if query else ""),
        "headers": {"Prefer": PREFER, **request.headers},
    }
    if request.body is not None:
        entry["body"] = request.body
        entry["headers"]["Content-Type"] = "application/json"
    return entry


def _batch_answer(data: Mapping[str, Any]) -> GraphAnswer:
    status = data.get("status")
    headers = data.get("headers") or {}
    if not isinstance(status, int) or not isinstance(headers, Mapping):
        raise ValueError("a $batch answer without a status")
    return GraphAnswer(status, {str(k): str(v) for k, v in headers.items()}, data.get("body"))


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if 200 <= response.status_code < 300:
            raise ValueError(
                f"Microsoft Graph answered HTTP {response.status_code} with a body that is not JSON"
            ) from None
        return None
