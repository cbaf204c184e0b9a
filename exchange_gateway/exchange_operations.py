"""The Exchange operations on the wire, each a coroutine for the gateway's operation table, the
same for every backend (backend.py): what a request may ask is checked here (arguments.py), and
the work is done by the backend the account names.

At most `per_mailbox` calls run at once for one mailbox and `overall` in all (a blocking backend's
threads each hold an overall slot until they end: threads.py), and none longer than `deadline`
seconds: after that the caller gets `timeout` at once. When the server asks for a pause
(`throttled` with `retry_after`), the gateway answers `throttled` itself for that mailbox until
the pause is over, without a request to Exchange. A create's external ids are in flight until its
work has ended (in_flight.py), even past its deadline. A `get` reply stays within the reply
budget, under the frame limit.

`running()` is the backends' lifetime (an async context manager; the gateway's run serves inside
it): a backend that holds resources across calls (Graph's httpx client) opens them as it begins and
closes them as it ends.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, AsyncContextManager, AsyncIterator, Awaitable, Callable, Iterable, Mapping, TypeVar

import msgpack
import trio

from protocol.entries import CALENDAR, Fetched, ItemError, Occurrences

from . import arguments
from .arguments import MAX_CHANGES
from .backend import DEFAULT_BACKEND, Account, Backend, ItemResult, ItemUpdate, MailboxBackend
from .errors import BUSY, INVALID, THROTTLED, TIMEOUT, UNSUPPORTED, GatewayError, with_reason
from .in_flight import InFlight
from .operations import Operation
from .threads import Threads
from .tokens import TokenProvider

T = TypeVar("T")


@dataclass(frozen=True)
class ExchangeLimits:
    overall: int = 16
    per_mailbox: int = 4
    deadline: float = 90.0
    reply_bytes: int = 12 * 1024 * 1024  # a reply's budget, under the frame limit (16 MiB by default)


@dataclass(frozen=True)
class Target:
    """The backend and account a request names; `by_app`: its credentials are the club's app's."""

    backend: Backend
    account: Account
    by_app: bool = False

    @property
    def key(self) -> str:  # limits, back-off and in-flight ids are per mailbox address
        return self.account.mailbox.lower()


def wire_size(value: object) -> int:
    """Bytes `value` takes in a reply frame."""
    return len(msgpack.packb(value, use_bin_type=True))


class ExchangeOperations:
    def __init__(
        self,
        backends: Mapping[str, Backend],
        limits: ExchangeLimits = ExchangeLimits(),
        tokens: TokenProvider | None = None,
    ) -> None:
        self.backends = dict(backends)
        self.limits = limits
        self.tokens = tokens if tokens is not None else TokenProvider()  # the club's app's tokens (exchange.app_check)
        self._overall = trio.CapacityLimiter(limits.overall)
        self._per_mailbox: dict[str, trio.CapacityLimiter] = {}
        self._backoff_until: dict[str, float] = {}  # mailbox → trio time until which Exchange asked us to wait
        self._in_flight = InFlight()

    @asynccontextmanager
    async def running(self) -> AsyncIterator["ExchangeOperations"]:
        """Every backend's lifetime (`running()`, for those that have one), ended in reverse order
        as the scope ends."""
        async with AsyncExitStack() as stack:
            for backend in self.backends.values():
                lifetime: Callable[[], AsyncContextManager[Any]] | None = getattr(backend, "running", None)
                if lifetime is not None:
                    await stack.enter_async_context(lifetime())
            yield self

    def table(self) -> dict[str, Operation]:
        operations: dict[str, Callable[[Mapping[str, Any]], Awaitable[Any]]] = {
            "exchange.check": self.check,
            "exchange.folders": self.folders,
            "exchange.ensure_folder": self.ensure_folder,
            "exchange.changes": self.changes,
            "exchange.changes_many": self.changes_many,
            "exchange.get": self.get,
            "exchange.create": self.create,
            "exchange.update": self.update,
            "exchange.delete": self.delete,
            "exchange.find_external": self.find_external,
            "exchange.occurrences": self.occurrences,
            "exchange.search_contacts": self.search_contacts,
            "exchange.app_check": self.app_check,
        }
        return operations

    def _target(self, args: Mapping[str, Any]) -> Target:
        """The account's backend, by its `backend` tag (none: EWS, as older sync services send a
        flat map), and the account as that backend reads it."""
        wire = args.get("account")
        tag = wire.get("backend", DEFAULT_BACKEND) if isinstance(wire, Mapping) else DEFAULT_BACKEND
        if not isinstance(tag, str):
            raise GatewayError(INVALID, "account.backend must be text")
        backend = self.backends.get(tag)
        if backend is None:
            known = ", ".join(sorted(self.backends))
            raise GatewayError(UNSUPPORTED, f"the backend {tag!r} is not supported here (known: {known})")
        account = backend.account(wire)
        credentials = wire.get("credentials") if isinstance(wire, Mapping) else None
        by_app = isinstance(credentials, Mapping) and credentials.get("kind") == "app"
        return Target(backend, account, by_app)

    async def _run(
        self, target: Target, work: Callable[[MailboxBackend], Awaitable[T]], creating: Iterable[str] = ()
    ) -> T:
        """`creating`: the external ids the work creates, in flight until the work has ended."""
        backend, account, mailbox = target.backend, target.account, target.key

        def failure(exc: Exception) -> GatewayError:  # an auth_failed always names its reason
            return with_reason(backend.failure(account, exc), target.by_app)

        waiting = self._backoff_until.get(mailbox, 0.0) - trio.current_time()
        if waiting > 0:  # the server asked for a pause: not one request before it ends
            raise GatewayError(
                THROTTLED, f"Exchange asked to wait before the next request for {account.label}", waiting
            )
        limiter = self._per_mailbox.setdefault(mailbox, trio.CapacityLimiter(self.limits.per_mailbox))
        async with limiter:
            with trio.move_on_after(self.limits.deadline) as deadline:
                threads = Threads(self._overall, failure, self._in_flight.begin(mailbox, creating))
                try:
                    return await work(backend.mailbox(account, threads))
                except Exception as exc:
                    error = failure(exc)
                    if error.code == THROTTLED and error.retry_after:
                        until = trio.current_time() + error.retry_after
                        self._backoff_until[mailbox] = max(until, self._backoff_until.get(mailbox, 0.0))
                    raise error from None
                finally:
                    threads.finish()
        assert deadline.cancelled_caught
        raise GatewayError(TIMEOUT, f"no answer from Exchange within {self.limits.deadline:g} s for {account.label}")

    async def check(self, args: Mapping[str, Any]) -> Any:
        return await self._run(self._target(args), lambda mailbox: mailbox.check())

    async def folders(self, args: Mapping[str, Any]) -> Any:
        kind = arguments.kind(args)
        return await self._run(self._target(args), lambda mailbox: mailbox.list_folders(kind))

    async def ensure_folder(self, args: Mapping[str, Any]) -> Any:
        kind, name = arguments.kind(args), arguments.text(args, "name").strip()
        if not name:
            raise GatewayError(INVALID, "name must not be empty")
        return await self._run(self._target(args), lambda mailbox: mailbox.ensure_folder(kind, name))

    async def changes(self, args: Mapping[str, Any]) -> Any:
        kind, folder = arguments.kind(args), arguments.text(args, "folder", "")
        state = args.get("sync_state")
        if state is not None and not isinstance(state, str):
            raise GatewayError(INVALID, "sync_state must be a string or null")
        size = args.get("max_changes", MAX_CHANGES)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CHANGES:
            raise GatewayError(INVALID, f"max_changes must be 1 to {MAX_CHANGES}")
        with_items = args.get("with_items", True)
        if not isinstance(with_items, bool):
            raise GatewayError(INVALID, "with_items must be true or false")
        return await self._run(
            self._target(args), lambda mailbox: mailbox.changes(kind, folder, state or None, size, with_items)
        )

    async def changes_many(self, args: Mapping[str, Any]) -> Any:
        """Several folders' changes in one request (a cycle's polling of every calendar): each
        answered as `{"ok": true, "result": …}` or `{"ok": false, "error": {…}}`, in order."""
        requests = arguments.batch(args, "requests")
        results: list[Any] = [None] * len(requests)

        async def one(index: int, request: Any) -> None:
            try:
                if not isinstance(request, Mapping):
                    raise GatewayError(INVALID, "each request is a map like those of exchange.changes")
                results[index] = {"ok": True, "result": await self.changes(request)}
            except GatewayError as error:
                results[index] = {"ok": False, "error": error.to_wire()}

        async with trio.open_nursery() as nursery:
            for index, request in enumerate(requests):
                nursery.start_soon(one, index, request)
        return results

    async def get(self, args: Mapping[str, Any]) -> Any:
        """Items by id, each answer in its place. The reply stays within the reply budget: an item
        past it answers `busy` (ask for it again, in a later request), never the whole reply."""
        ids = arguments.texts(args, "ids", "id")
        fetched = await self._run(self._target(args), lambda mailbox: mailbox.fetch(ids))
        return within_budget(ids, fetched, self.limits.reply_bytes)

    async def create(self, args: Mapping[str, Any]) -> Any:
        kind, folder = arguments.kind(args), arguments.text(args, "folder", "")
        entries = [arguments.entry(kind, wire) for wire in arguments.batch(args, "items")]
        target = self._target(args)
        busy = [e.external_id is not None and self._in_flight.has(target.key, e.external_id) for e in entries]
        sending = [e for e, b in zip(entries, busy) if not b]
        creating = [e.external_id for e in sending if e.external_id]
        sent = iter(await self._run(target, lambda mailbox: mailbox.create(kind, folder, sending), creating))
        waiting = GatewayError(BUSY, "an earlier create of this item is still running; it is looked up later")
        return [ItemResult.failed(None, waiting).to_wire() if b else next(sent).to_wire() for b in busy]

    async def update(self, args: Mapping[str, Any]) -> Any:
        kind = arguments.kind(args)
        requests = [arguments.update(kind, wire) for wire in arguments.batch(args, "items")]
        updates: list[ItemUpdate] = [(r.ref, r.entry, set(r.fields)) for r in requests]
        results = await self._run(self._target(args), lambda mailbox: mailbox.update(kind, updates))
        # each answer names its item, as get's and delete's do
        return [replace(r, id=r.id or ref.id).to_wire() for r, (ref, _, _) in zip(results, updates)]

    async def delete(self, args: Mapping[str, Any]) -> Any:
        refs = [arguments.item_ref(wire) for wire in arguments.batch(args, "items")]
        results = await self._run(self._target(args), lambda mailbox: mailbox.delete(refs))
        return [r.to_wire() for r in results]

    async def find_external(self, args: Mapping[str, Any]) -> Any:
        kind, folder = arguments.kind(args), arguments.text(args, "folder", "")
        wanted = arguments.texts(args, "external_ids", "id")
        every = args.get("all_matches", False) is True
        target = self._target(args)
        if any(self._in_flight.has(target.key, external_id) for external_id in wanted):
            raise GatewayError(BUSY, "a create of one of these items is still running in the gateway; ask again later")
        found = await self._run(target, lambda mailbox: mailbox.find_by_external_id(kind, folder, wanted))
        return found if every else {external_id: entries[0] for external_id, entries in found.items()}

    async def occurrences(self, args: Mapping[str, Any]) -> Any:
        """Each master's occurrences and exceptions in the window: {master id: {"items": [...]}}, or
        {master id: {"error": {...}}} for a master that is gone (not_found) (protocol Occurrences)."""
        if arguments.kind(args) != CALENDAR:
            raise GatewayError(INVALID, "occurrences are a calendar's")
        folder, series = arguments.text(args, "folder", ""), arguments.series(args)
        start, end = arguments.window(args)
        found = await self._run(self._target(args), lambda mailbox: mailbox.occurrences(folder, series, start, end))
        by_series = {
            master: ItemError.of(answer) if isinstance(answer, GatewayError) else tuple(answer)
            for master, answer in found.items()
        }
        return Occurrences(by_series).to_wire()

    async def search_contacts(self, args: Mapping[str, Any]) -> Any:
        text = arguments.text(args, "text")
        return await self._run(self._target(args), lambda mailbox: mailbox.search_contacts(text))

    async def app_check(self, args: Mapping[str, Any]) -> Any:
        """A token for the club's app (`app`) for each of `scopes` (default: Graph's), answered
        with its expiry only, never the token: {"tenant", "client_id", "tokens": [{"scope",
        "expires_at" (ISO 8601, UTC), "expires_in" (seconds)}]}."""
        app, wanted = arguments.app(args), arguments.scopes(args)
        answers = []
        for scope in wanted:
            token = await self.tokens.token_async(app, scope)
            expires_at = dt.datetime.fromtimestamp(token.expires_at, dt.UTC)
            remaining = max(0, int(token.expires_at - dt.datetime.now(dt.UTC).timestamp()))
            answers.append(
                {"scope": scope, "expires_at": expires_at.isoformat(timespec="seconds"), "expires_in": remaining}
            )
        return {"tenant": app.tenant, "client_id": app.client_id, "tokens": answers}


def within_budget(ids: list[str], fetched: list[Any], budget: int) -> list[Any]:
    """`get`'s answers, in order; those past the budget answer `busy`."""
    answers: list[Any] = []
    used = 64
    for i, r in zip(ids, fetched):
        answer = (Fetched(i, error=ItemError.of(r)) if isinstance(r, GatewayError) else Fetched(r.id, r)).to_wire()
        size = wire_size(answer)
        if used + size > budget:
            deferred = GatewayError(BUSY, "the reply would exceed the frame limit; ask for this item again")
            answer = Fetched(i, error=ItemError.of(deferred)).to_wire()
            size = wire_size(answer)
        used += size
        answers.append(answer)
    return answers
