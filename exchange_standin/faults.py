"""Fault injection: rules a test switches on to make the emulator misbehave like a real server.

The kinds: server_busy (ErrorServerBusy with BackOffMilliseconds, as a SOAP fault or a response
message), http_500, http_503 (with Retry-After), delay, drop (the connection, optionally after
the work), unauthorized, and Exchange's own failures of a mailbox: error_message (every response
message fails with `code`, nothing done: ErrorMailboxStoreUnavailable, ErrorMailboxMoveInProgress,
…), quota_exceeded (ErrorQuotaExceeded on the writes), invalid_sync_state
(ErrorInvalidSyncStateData on SyncFolderItems), timeout_after_work (the request carried out, then
its messages after the first `keep` answered ErrorTimeoutExpired) and fault_after_work (carried
out, then a SOAP fault `code`).

A rule has a kind, applies to the next `count` requests or to a `fraction` of requests (drawn from
a seeded random generator, so runs repeat), optionally only for some operations or mailboxes.
The first active rule that matches a request decides what happens to it.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field

FAULT_KINDS = (
    "server_busy",
    "http_500",
    "http_503",
    "delay",
    "drop",
    "unauthorized",
    "error_message",
    "quota_exceeded",
    "invalid_sync_state",
    "timeout_after_work",
    "fault_after_work",
    "throttled",
)
# What a Graph request can meet (operation "Graph"; see graph_http.py): throttled (429
# TooManyRequests with Retry-After), server_busy (the same), http_503, http_500, delay, drop
# (optionally after the work), unauthorized, timeout_after_work (504 after the work) and
# invalid_sync_state (410 for a delta round's later pages).
EWS_KINDS = tuple(kind for kind in FAULT_KINDS if kind != "throttled")
GRAPH_KINDS = (
    "throttled",
    "server_busy",
    "http_503",
    "http_500",
    "delay",
    "drop",
    "unauthorized",
    "timeout_after_work",
    "invalid_sync_state",
)
# Where a kind applies unless the rule names its operations: a full mailbox refuses what would
# store more (reads and deletes still work); an invalid sync state is one a sync is given.
DEFAULT_OPERATIONS = {
    "quota_exceeded": ("CreateItem", "UpdateItem", "CopyItem", "MoveItem", "CreateFolder"),
    "invalid_sync_state": ("SyncFolderItems", "Graph"),
}
# The ResponseCode each kind answers with (error_message and fault_after_work: the rule's `code`).
KIND_CODES = {
    "quota_exceeded": "ErrorQuotaExceeded",
    "invalid_sync_state": "ErrorInvalidSyncStateData",
    "timeout_after_work": "ErrorTimeoutExpired",
}


class FaultError(ValueError):
    """A fault description that cannot be used."""


@dataclass
class FaultRule:
    kind: str
    count: int | None = None  # applies to the next `count` matching requests
    fraction: float | None = None  # or to this share of the matching requests
    operations: tuple[str, ...] | None = None  # only these EWS operations (None: all)
    mailboxes: tuple[str, ...] | None = None  # only requests of these users (None: all)
    back_off_ms: int = 30000  # server_busy: BackOffMilliseconds
    style: str = "fault"  # server_busy: "fault" (SOAP fault, HTTP 500) or "message" (an error response message)
    code: str = "ErrorInternalServerError"  # http_500, fault_after_work, error_message: the ResponseCode
    retry_after: float | None = None  # http_503, throttled: a Retry-After header (seconds; Graph's may be fractional)
    seconds: float = 1.0  # delay: how long
    process: bool = False  # drop: carry out the operation before the connection is dropped
    reset: bool = False  # drop: send a TCP reset instead of closing normally
    keep: int = 0  # timeout_after_work: how many leading response messages keep their real answer
    id: int = 0
    hits: int = 0

    def describe(self) -> dict:
        return asdict(self)


@dataclass
class FaultPlan:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _next_id: int = 1

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def add(self, rule: FaultRule) -> FaultRule:
        validate(rule)
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self.rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self.rules)
            self.rules = [rule for rule in self.rules if rule.id != rule_id]
            return len(self.rules) != before

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._random = random.Random(seed)

    def pick(
        self, operation: str | None, mailbox: str | None, kinds: tuple[str, ...] | None = None
    ) -> FaultRule | None:
        """The rule that applies to this request (and count it), or None; only rules of `kinds` if given."""
        with self._lock:
            for rule in list(self.rules):
                if kinds is not None and rule.kind not in kinds:
                    continue
                if rule.operations is not None and operation not in rule.operations:
                    continue
                if rule.mailboxes is not None and (mailbox or "").lower() not in rule.mailboxes:
                    continue
                if rule.fraction is not None:
                    if self._random.random() >= rule.fraction:
                        continue
                rule.hits += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self.rules.remove(rule)
                return rule
        return None

    def describe(self) -> list[dict]:
        with self._lock:
            return [rule.describe() for rule in self.rules]


def validate(rule: FaultRule) -> None:
    if rule.kind not in FAULT_KINDS:
        raise FaultError(f"unknown fault kind {rule.kind!r} (known: {', '.join(FAULT_KINDS)})")
    if rule.count is not None and rule.fraction is not None:
        raise FaultError("give either count or fraction, not both")
    if rule.count is None and rule.fraction is None:
        rule.count = 1
    if rule.count is not None and (not isinstance(rule.count, int) or rule.count < 1):
        raise FaultError("count must be a positive integer")
    if rule.fraction is not None and not 0.0 < float(rule.fraction) <= 1.0:
        raise FaultError("fraction must be greater than 0 and at most 1")
    if rule.style not in ("fault", "message"):
        raise FaultError("style must be 'fault' or 'message'")
    if rule.seconds < 0 or rule.back_off_ms < 0:
        raise FaultError("seconds and back_off_ms must not be negative")
    if not isinstance(rule.keep, int) or isinstance(rule.keep, bool) or rule.keep < 0:
        raise FaultError("keep must be a whole number, 0 or more")
    if not isinstance(rule.code, str) or not rule.code.startswith("Error"):
        raise FaultError("code must be an EWS ResponseCode such as ErrorMailboxStoreUnavailable")
    if rule.operations is None and rule.kind in DEFAULT_OPERATIONS:
        rule.operations = DEFAULT_OPERATIONS[rule.kind]
    if rule.operations is not None:
        rule.operations = tuple(rule.operations)
    if rule.mailboxes is not None:
        rule.mailboxes = tuple(address.lower() for address in rule.mailboxes)


def rule_from_json(data: object) -> FaultRule:
    """A rule from the JSON body of POST /emulator/faults."""
    if not isinstance(data, dict):
        raise FaultError("the body must be a JSON object")
    allowed = {
        "kind",
        "count",
        "fraction",
        "operations",
        "mailboxes",
        "back_off_ms",
        "style",
        "code",
        "retry_after",
        "seconds",
        "process",
        "reset",
        "keep",
    }
    unknown = set(data) - allowed
    if unknown:
        raise FaultError(f"unknown keys: {', '.join(sorted(unknown))}")
    if "kind" not in data:
        raise FaultError("a fault needs a kind")
    try:
        rule = FaultRule(**data)
    except TypeError as exc:
        raise FaultError(str(exc)) from None
    for name in ("operations", "mailboxes"):
        value = getattr(rule, name)
        if value is not None and (not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value)):
            raise FaultError(f"{name} must be a list of strings")
    return rule
