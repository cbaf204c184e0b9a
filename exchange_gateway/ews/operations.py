"""The Exchange operations on the wire, each a coroutine for the gateway's operation table.

exchangelib blocks, so every call runs in a worker thread: at most `per_mailbox` at once for one
mailbox and `overall` in all, and none longer than `deadline` seconds (after that the caller gets
`timeout` at once; the thread, which exchangelib's own HTTP timeout bounds, finishes unseen and
keeps its overall slot until it does).

A create abandoned that way may still reach Exchange. Until its thread has ended, the external ids
it carries are "in flight": a lookup of one of them answers `busy` (the caller asks again later
instead of concluding that the item was never made), and a create of one of them is not sent
again (that item answers `busy`).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Mapping, TypeVar

import trio

from ..operations import Operation
from .connection import AccountCache, AccountSpec, ExchangeSettings
from .convert import register_external_id
from .entries import CALENDAR_FIELDS, CONTACT_FIELDS, CalendarEntry, ContactEntry, ItemRef, ItemResult
from .errors import AUTH_FAILED, BUSY, INVALID, THROTTLED, TIMEOUT, GatewayError, map_exception
from .folders import DEFAULT_MAX_AGE, FolderDirectory
from .mailbox import CALENDAR, CONTACTS, KINDS, MAX_CHANGES, Mailbox, wire_size

T = TypeVar("T")
MAX_BATCH = 500


@dataclass(frozen=True)
class ExchangeLimits:
    overall: int = 16
    per_mailbox: int = 4
    deadline: float = 90.0
    reply_bytes: int = 12 * 1024 * 1024  # a reply's budget, under the frame limit (16 MiB by default)
    folder_max_age: float = DEFAULT_MAX_AGE  # seconds a mailbox's list of sub-folders is trusted


def _kind(args: Mapping[str, Any]) -> str:
    kind = args.get("kind", CALENDAR)
    if kind not in KINDS:
        raise GatewayError(INVALID, f"kind must be one of {', '.join(KINDS)}")
    return kind


def _text(args: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = args.get(name, default)
    if not isinstance(value, str):
        raise GatewayError(INVALID, f"{name} must be a string")
    return value


def _list(args: Mapping[str, Any], name: str) -> list[Any]:
    value = args.get(name)
    if not isinstance(value, list):
        raise GatewayError(INVALID, f"{name} must be a list")
    if len(value) > MAX_BATCH:
        raise GatewayError(INVALID, f"at most {MAX_BATCH} {name} per request, not {len(value)}")
    return value


def _entry(kind: str, wire: Any) -> CalendarEntry | ContactEntry:
    return CalendarEntry.from_wire(wire) if kind == CALENDAR else ContactEntry.from_wire(wire)


class ExchangeOperations:
    def __init__(
        self, settings: ExchangeSettings = ExchangeSettings(), limits: ExchangeLimits = ExchangeLimits()
    ) -> None:
        register_external_id()
        self.accounts = AccountCache(settings)
        self.limits = limits
        self._overall = trio.CapacityLimiter(limits.overall)
        self._per_mailbox: dict[str, trio.CapacityLimiter] = {}
        self._backoff_until: dict[str, float] = {}  # mailbox → trio time until which Exchange asked us to wait
        self._in_flight = InFlight()
        self._folders = FolderDirectory(limits.folder_max_age)

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
            "exchange.search_contacts": self.search_contacts,
        }
        return operations

    async def _run(self, args: Mapping[str, Any], work: Callable[[Mailbox], T], creating: Iterable[str] = ()) -> T:
        """`creating`: the external ids the work creates, in flight until its thread ends."""
        spec = AccountSpec.from_wire(args.get("account"))
        mailbox = spec.mailbox.lower()
        waiting = self._backoff_until.get(mailbox, 0.0) - trio.current_time()
        if waiting > 0:  # the server asked for a pause: not one request before it ends
            raise GatewayError(THROTTLED, f"Exchange asked to wait before the next request for {spec.label}", waiting)
        limiter = self._per_mailbox.setdefault(mailbox, trio.CapacityLimiter(self.limits.per_mailbox))
        async with limiter:
            with trio.move_on_after(self.limits.deadline) as deadline:
                try:
                    flight = self._in_flight.begin(mailbox, creating)
                    return await trio.to_thread.run_sync(
                        self._call, spec, work, flight, limiter=self._overall, abandon_on_cancel=True
                    )
                except GatewayError as error:
                    if error.code == THROTTLED and error.retry_after:
                        until = trio.current_time() + error.retry_after
                        self._backoff_until[mailbox] = max(until, self._backoff_until.get(mailbox, 0.0))
                    raise
        assert deadline.cancelled_caught
        raise GatewayError(TIMEOUT, f"no answer from Exchange within {self.limits.deadline:g} s for {spec.label}")

    def _call(self, spec: AccountSpec, work: Callable[[Mailbox], T], flight: Callable[[], None]) -> T:
        try:
            return work(Mailbox(self.accounts.get(spec), self._folders))
        except Exception as exc:  # every failure leaves as a stable code
            error = map_exception(exc)
            if error.code == AUTH_FAILED:
                self.accounts.forget(spec)
            raise error from None
        finally:
            flight()  # even when the caller stopped waiting long ago

    async def check(self, args: Mapping[str, Any]) -> Any:
        return await self._run(args, lambda mailbox: mailbox.check())

    async def folders(self, args: Mapping[str, Any]) -> Any:
        kind = _kind(args)
        return await self._run(args, lambda mailbox: mailbox.list_folders(kind))

    async def ensure_folder(self, args: Mapping[str, Any]) -> Any:
        kind, name = _kind(args), _text(args, "name").strip()
        if not name:
            raise GatewayError(INVALID, "name must not be empty")

        def work(mailbox: Mailbox) -> dict[str, Any]:
            folder, created = mailbox.ensure_folder(kind, name)
            return {"id": folder.id, "name": folder.name, "created": created}

        return await self._run(args, work)

    async def changes(self, args: Mapping[str, Any]) -> Any:
        kind, folder = _kind(args), _text(args, "folder", "")
        state = args.get("sync_state")
        if state is not None and not isinstance(state, str):
            raise GatewayError(INVALID, "sync_state must be a string or null")
        size = args.get("max_changes", MAX_CHANGES)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CHANGES:
            raise GatewayError(INVALID, f"max_changes must be 1 to {MAX_CHANGES}")
        with_items = args.get("with_items", True)
        if not isinstance(with_items, bool):
            raise GatewayError(INVALID, "with_items must be true or false")
        return await self._run(args, lambda mailbox: mailbox.changes(kind, folder, state or None, size, with_items))

    async def changes_many(self, args: Mapping[str, Any]) -> Any:
        """Several folders' changes in one request (a cycle's polling of every calendar): each
        answered as `{"ok": true, "result": …}` or `{"ok": false, "error": {…}}`, in order."""
        requests = _list(args, "requests")
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
        ids = [_text({"id": i}, "id") for i in _list(args, "ids")]
        budget = self.limits.reply_bytes

        def work(mailbox: Mailbox) -> list[Any]:
            answers: list[Any] = []
            used = 64
            for i, r in zip(ids, mailbox.fetch(ids)):
                answer = (
                    {"ok": False, "id": i, "error": r.to_wire()}
                    if isinstance(r, GatewayError)
                    else {"ok": True, "item": r.to_wire()}
                )
                size = wire_size(answer)
                if used + size > budget:
                    deferred = GatewayError(BUSY, "the reply would exceed the frame limit; ask for this item again")
                    answer = {"ok": False, "id": i, "error": deferred.to_wire()}
                    size = wire_size(answer)
                used += size
                answers.append(answer)
            return answers

        return await self._run(args, work)

    async def create(self, args: Mapping[str, Any]) -> Any:
        kind, folder = _kind(args), _text(args, "folder", "")
        entries = [_entry(kind, wire) for wire in _list(args, "items")]
        mailbox_name = AccountSpec.from_wire(args.get("account")).mailbox.lower()
        busy = [e.external_id is not None and self._in_flight.has(mailbox_name, e.external_id) for e in entries]
        sending = [e for e, b in zip(entries, busy) if not b]
        creating = [e.external_id for e in sending if e.external_id]

        def work(mailbox: Mailbox) -> list[Any]:
            sent = iter(mailbox.create(kind, folder, sending))
            waiting = GatewayError(BUSY, "an earlier create of this item is still running; it is looked up later")
            return [ItemResult(False, error=waiting).to_wire() if b else next(sent).to_wire() for b in busy]

        return await self._run(args, work, creating)

    async def update(self, args: Mapping[str, Any]) -> Any:
        kind = _kind(args)
        allowed = set(CALENDAR_FIELDS if kind == CALENDAR else CONTACT_FIELDS)  # the writable ones
        updates = []
        for wire in _list(args, "items"):
            if not isinstance(wire, Mapping):
                raise GatewayError(INVALID, "each update is a map with id, change_key, fields and item")
            fields = wire.get("fields")
            if not isinstance(fields, list) or not fields or not set(fields) <= allowed:
                raise GatewayError(
                    INVALID, f"fields must name the entry's fields to write: {', '.join(sorted(allowed))}"
                )
            updates.append((ItemRef.from_wire(wire), _entry(kind, wire.get("item")), set(fields)))

        def work(mailbox: Mailbox) -> list[Any]:  # each answer names its item, as get's and delete's do
            return [
                {**r.to_wire(), "id": r.id or ref.id} for r, (ref, _, _) in zip(mailbox.update(kind, updates), updates)
            ]

        return await self._run(args, work)

    async def delete(self, args: Mapping[str, Any]) -> Any:
        refs = [ItemRef.from_wire(wire) for wire in _list(args, "items")]
        return await self._run(args, lambda mailbox: [r.to_wire() for r in mailbox.delete(refs)])

    async def find_external(self, args: Mapping[str, Any]) -> Any:
        kind, folder = _kind(args), _text(args, "folder", "")
        wanted = [_text({"id": i}, "id") for i in _list(args, "external_ids")]
        every = args.get("all_matches", False) is True
        mailbox_name = AccountSpec.from_wire(args.get("account")).mailbox.lower()
        if any(self._in_flight.has(mailbox_name, external_id) for external_id in wanted):
            raise GatewayError(BUSY, "a create of one of these items is still running in the gateway; ask again later")

        def work(mailbox: Mailbox) -> Any:
            found = mailbox.find_by_external_id(kind, folder, wanted)
            return found if every else {external_id: entries[0] for external_id, entries in found.items()}

        return await self._run(args, work)

    async def search_contacts(self, args: Mapping[str, Any]) -> Any:
        text = _text(args, "text")
        return await self._run(args, lambda mailbox: mailbox.search_contacts(text))


class InFlight:
    """The external ids of creates whose worker thread has not ended yet, per mailbox."""

    def __init__(self) -> None:
        self._ids: dict[str, collections.Counter[str]] = {}
        self._lock = threading.Lock()

    def begin(self, mailbox: str, external_ids: Iterable[str]) -> Callable[[], None]:
        """Mark them in flight; returns the call that ends that (once, from any thread)."""
        ids = list(external_ids)
        with self._lock:
            self._ids.setdefault(mailbox, collections.Counter()).update(ids)
        ended = False

        def end() -> None:
            nonlocal ended
            with self._lock:
                if ended:
                    return
                ended = True
                counter = self._ids[mailbox]
                counter.subtract(ids)
                for external_id in ids:
                    if counter[external_id] <= 0:
                        del counter[external_id]

        return end

    def has(self, mailbox: str, external_id: str) -> bool:
        with self._lock:
            return self._ids.get(mailbox, collections.Counter())[external_id] > 0


__all__ = ["CONTACTS", "ExchangeLimits", "ExchangeOperations"]
