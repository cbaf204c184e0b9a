"""Graph's delta rounds, server side: a round's changes are fixed when it starts; its pages are
handed out by $skiptoken and its end state is kept under a $deltatoken. Tokens are random keys of
an in-memory table of bounded size: a token that is not (or no longer) in it is a
syncStateNotFound (410), as Exchange Online answers a delta token it has forgotten."""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import threading
from dataclasses import dataclass, field

MAX_STATES = 20000


@dataclass(frozen=True)
class Scope:
    """What a delta follows: a kind (events, contacts, contactFolders) in a mailbox and folder,
    within a window for calendarView delta."""

    kind: str
    mailbox: str
    folder: int | None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


@dataclass
class Round:
    scope: Scope
    pending: list[tuple[str, int, int | None]]  # (entry id, item serial, occurrence index) to report
    removed: list[str]  # entry ids to report as @removed
    known: dict[str, int]  # the state the round ends in: entry id -> change number


@dataclass
class DeltaStates:
    rounds: collections.OrderedDict[str, Round] = field(default_factory=collections.OrderedDict)
    deltas: collections.OrderedDict[str, tuple[Scope, dict[str, int]]] = field(default_factory=collections.OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keep_round(self, round_: Round) -> str:
        token = secrets.token_urlsafe(18)
        with self.lock:
            self.rounds[token] = round_
            while len(self.rounds) > MAX_STATES:
                self.rounds.popitem(last=False)
        return token

    def take_round(self, token: str) -> Round | None:
        with self.lock:
            return self.rounds.pop(token, None)

    def keep_delta(self, scope: Scope, known: dict[str, int]) -> str:
        token = secrets.token_urlsafe(18)
        with self.lock:
            self.deltas[token] = (scope, known)
            while len(self.deltas) > MAX_STATES:
                self.deltas.popitem(last=False)
        return token

    def delta(self, token: str) -> tuple[Scope, dict[str, int]] | None:
        with self.lock:
            return self.deltas.get(token)

    def forget_all(self) -> int:
        """Forget every token (what Exchange Online does when its cache of sync states turns over)."""
        with self.lock:
            count = len(self.rounds) + len(self.deltas)
            self.rounds.clear()
            self.deltas.clear()
            return count
