"""The plan the decision gives: actions for each side, conflicts to record, what was skipped."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, Union

from .model import Link, Side, Version


@dataclass(frozen=True)
class Create:
    """Make the item on `side` from `source` (a version of the other side)."""

    side: Side
    source: Version
    link: Link | None = None  # set when the item is made again on that side (the change won over a deletion)


@dataclass(frozen=True)
class Update:
    """Write `source` over the item's copy on `side`."""

    side: Side
    link: Link
    source: Version
    remote_content: Any = None  # what the Exchange copy holds, when this cycle saw it (else the agreed content)


@dataclass(frozen=True)
class Delete:
    """Delete the item's copy on `side`, then forget the link."""

    side: Side
    link: Link


@dataclass(frozen=True)
class Relink:
    """Nothing to write to either side; record the link as agreed on `digest` (both sides agree,
    or the remote copy's change key moved) or, with `forget_remote`, that the Exchange copy is gone."""

    link: Link
    digest: str
    change_key: str | None = None
    forget_remote: bool = False
    content: Any = None  # the content both sides now hold, when it is new
    content_unknown: bool = False  # Exchange holds something else than the agreed content (read only)


@dataclass(frozen=True)
class Unlink:
    """Both sides deleted the item: forget the link."""

    link: Link


@dataclass(frozen=True)
class Pair:
    """An unlinked item found on both sides with the same content (e.g. a first sync of a calendar
    that already holds PC CADDIE's appointments): link them instead of making duplicates."""

    local: Version
    remote: Version


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the item differently; `loser` is kept for the user to read."""

    link: Link
    winner: Side
    loser: Version


@dataclass(frozen=True)
class DropTwin:
    """An Exchange item that is our own second copy of a linked item (a create sent again after
    its answer was lost): delete it in Exchange; the link keeps the first."""

    remote: Version


@dataclass(frozen=True)
class AdoptCopy:
    """An Exchange item a user copied from a linked one (it carries the original's external id):
    make it a new appointment in PC CADDIE, with an external id of its own written onto it."""

    remote: Version


Action = Union[Create, Update, Delete, Relink, Unlink, Pair, DropTwin, AdoptCopy]


@dataclass(frozen=True)
class Skip:
    reason: str  # filtered | private | recurring | outside-window | stopped | read-only | unsupported
    side: Side
    key: str
    start: dt.datetime | None = None  # outside-window: the item's start (UTC)


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    skipped: tuple[Skip, ...] = ()
    paused: str | None = None  # the mass-deletion guard stopped the subscription; nothing to carry out

    def count(self) -> Counter[str]:
        """`create-exchange`, `update-pccaddie`, …, `skip-filtered`, `conflict` counts."""
        counts: Counter[str] = Counter()
        for action in self.actions:
            if isinstance(action, (Create, Update, Delete)):
                counts[f"{type(action).__name__.lower()}-{action.side.value}"] += 1
            elif isinstance(action, DropTwin):
                counts["delete-exchange"] += 1
            elif isinstance(action, AdoptCopy):
                counts["create-pccaddie"] += 1
        for skip in self.skipped:
            counts[f"skip-{skip.reason}"] += 1
        counts["conflict"] += len(self.conflicts)
        return +counts

    def of(self, kind: type[Any]) -> list[Any]:
        return [a for a in self.actions if isinstance(a, kind)]
