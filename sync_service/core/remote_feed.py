"""Exchange's change feed as the engine reads it.

The feed reports every write, the sync's own included, each with the item's id and change key but
without the item. A change whose change key the engine already holds is its own write (or one it
has seen): nothing to fetch. An item another subscription on the same calendar knows is that
subscription's. Everything else is fetched in full.

Exchange collapses a create and a delete between two reads into nothing, so an item the sync made
and a user deleted before the next read would never be reported. Links the engine is unsure of
(just created, an update that met a conflict, an entry reset by a technician) are therefore
verified: looked up by id when the feed does not mention them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol, Sequence

from protocol.entries import Change, Fetched

FETCH_CHUNK = 500


@dataclass(frozen=True)
class Known:
    """What the engine holds of an Exchange item: its change key, and whether it is this
    subscription's (else another's on the same calendar)."""

    change_key: str | None
    mine: bool = True


@dataclass(frozen=True)
class Feed:
    changes: tuple[Change, ...]  # create|update (with the entry) | delete, in feed order
    unsupported: tuple[tuple[str, str], ...] = ()  # (id, item type) of items the sync does not handle
    seen: frozenset[str] = field(default_factory=frozenset)  # every id the feed or a lookup told about
    listed: tuple[Change, ...] = ()  # the changes as the feed told them, own writes included


def to_fetch(
    changes: Sequence[Change], known: Mapping[str, Known], verify: Sequence[str], unknown: bool = True
) -> list[str]:
    """The ids to fetch: changed items not known at that change key (with `unknown`, also those
    not known at all: new items to import), and links to verify that the feed does not mention."""
    wanted: dict[str, None] = {}
    mentioned: set[str] = set()
    for change in changes:
        mentioned.add(change.id)
        if change.kind in ("create", "update"):
            holds = known.get(change.id)
            if (holds is None and unknown) or (holds and holds.mine and holds.change_key != change.change_key):
                wanted[change.id] = None
    for item_id in verify:
        if item_id not in mentioned:
            wanted[item_id] = None
    return list(wanted)


class FetchError(Exception):
    """An item could not be fetched for a reason other than its absence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def complete(
    changes: Sequence[Change],
    known: Mapping[str, Known],
    verify: Sequence[str],
    fetched: Mapping[str, Fetched],
) -> Feed:
    """The changes with full items: own writes left out, fetched items in, absent ones as
    deletions, links verified and not mentioned as updates (or deletions)."""
    out: list[Change] = []
    unsupported: list[tuple[str, str]] = []
    seen: set[str] = set()

    def fetched_change(kind: str, item_id: str) -> None:
        answer = fetched[item_id]
        if answer.entry is not None:
            out.append(Change(kind, item_id, answer.entry))
            return
        code = answer.code or "unknown"
        if code == "not_found":
            out.append(Change("delete", item_id))
        elif code == "unsupported":
            unsupported.append((item_id, "unknown"))
        else:
            raise FetchError(code, answer.error.message if answer.error else "")

    for change in changes:
        kind, item_id = change.kind, change.id
        seen.add(item_id)
        if kind == "delete":
            out.append(Change("delete", item_id))
        elif kind == "unsupported":
            unsupported.append((item_id, change.item_type or "unknown"))
        elif change.entry is not None:
            out.append(change)  # a feed that came with its items (an older gateway)
        elif item_id in fetched:
            fetched_change(kind, item_id)
    for item_id in verify:
        if item_id not in seen and item_id in fetched:
            seen.add(item_id)
            fetched_change("update", item_id)
    return Feed(tuple(out), tuple(dict.fromkeys(unsupported)), frozenset(seen), tuple(changes))


class _Getter(Protocol):
    async def get(self, ids: Sequence[str]) -> list[Fetched]: ...


def _busy(answer: Fetched) -> bool:
    return not answer.ok and answer.code == "busy"


async def fetch(client: _Getter, ids: Sequence[str]) -> dict[str, Fetched]:
    """Full items by id, in chunks the gateway takes; each answer by its id. The gateway keeps
    each reply within the frame limit: the items past it answer `busy` and are asked for again
    in the next request (only a request of which not one item could be answered ends there)."""
    answers: dict[str, Fetched] = {}
    queue = list(dict.fromkeys(ids))
    while queue:
        chunk, queue = queue[:FETCH_CHUNK], queue[FETCH_CHUNK:]
        later = []
        for item_id, answer in zip(chunk, await client.get(chunk)):
            if _busy(answer):
                later.append(item_id)
            answers[item_id] = answer
        if len(later) == len(chunk):
            break  # not one answered: the busy answers stand (the cycle ends as mailbox trouble)
        queue = later + queue
    return answers
