"""The calendar decision for a linked item, as data: what each side did since the last agreed
state, and whether the subscription is read only, give the outcome. `decide._linked` looks the
outcome up here and carries it out; `tests/sync_service/core/test_decide.py` enumerates every
row; `docs/sync.md` shows `render()` of both tables, and a test fails when the page differs.

A side is `unchanged` when it reported nothing or a version with the digest last agreed (what the
engine wrote itself is never read back as a change), `changed` when its digest differs, `deleted`
when it reported the item gone. What comes before the table (a stopped link, an Exchange copy
gone under read only, a recurring change, a title now excluded, a copy made private) is in
`decide._linked`, which says so where it narrows a side to `unchanged`.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Mapping


class Change(enum.Enum):
    """What one side did to a linked item since the last agreed state."""

    UNCHANGED = "unchanged"
    CHANGED = "changed"
    DELETED = "deleted"


class Outcome(enum.Enum):
    """What the plan does about it; the value is the phrase docs/sync.md shows."""

    NOTHING = "—"  # only the Exchange copy's newest change key is kept
    UPDATE_PCCADDIE = "update PC CADDIE"
    UPDATE_EXCHANGE = "update Exchange"
    DELETE_IN_PCCADDIE = "delete in PC CADDIE"
    DELETE_IN_EXCHANGE = "delete in Exchange"
    CREATE_IN_PCCADDIE = "make it again in PC CADDIE"
    CREATE_IN_EXCHANGE = "make it again in Exchange"
    FORGET_LINK = "forget the link"
    BOTH_CHANGED = "same content: nothing; else the policy decides"
    IGNORE_EXCHANGE_CHANGE = "ignored (its change key kept)"
    IGNORE_EXCHANGE_DELETION = "ignored (made again on the next PC CADDIE change)"


class Mode(enum.Enum):
    """The subscription's direction."""

    TWO_WAY = "two-way"
    READ_ONLY = "read only"


Key = tuple[Mode, Change, Change]  # (mode, PC CADDIE's change, Exchange's change)

_U, _C, _D = Change.UNCHANGED, Change.CHANGED, Change.DELETED

_TWO_WAY = {
    (_U, _U): Outcome.NOTHING,
    (_U, _C): Outcome.UPDATE_PCCADDIE,
    (_U, _D): Outcome.DELETE_IN_PCCADDIE,
    (_C, _U): Outcome.UPDATE_EXCHANGE,
    (_C, _C): Outcome.BOTH_CHANGED,
    (_C, _D): Outcome.CREATE_IN_EXCHANGE,  # a change wins over a deletion
    (_D, _U): Outcome.DELETE_IN_EXCHANGE,
    (_D, _C): Outcome.CREATE_IN_PCCADDIE,
    (_D, _D): Outcome.FORGET_LINK,
}
_READ_ONLY = {  # nothing from Exchange is written into PC CADDIE
    (_U, _U): Outcome.NOTHING,
    (_U, _C): Outcome.IGNORE_EXCHANGE_CHANGE,
    (_U, _D): Outcome.IGNORE_EXCHANGE_DELETION,
    (_C, _U): Outcome.UPDATE_EXCHANGE,
    (_C, _C): Outcome.UPDATE_EXCHANGE,  # no conflict: Exchange's change does not count
    (_C, _D): Outcome.CREATE_IN_EXCHANGE,
    (_D, _U): Outcome.DELETE_IN_EXCHANGE,
    (_D, _C): Outcome.DELETE_IN_EXCHANGE,
    (_D, _D): Outcome.FORGET_LINK,
}

TABLE: Mapping[Key, Outcome] = MappingProxyType(
    {
        **{(Mode.TWO_WAY, local, remote): outcome for (local, remote), outcome in _TWO_WAY.items()},
        **{(Mode.READ_ONLY, local, remote): outcome for (local, remote), outcome in _READ_ONLY.items()},
    }
)


def outcome(mode: Mode, local: Change, remote: Change) -> Outcome:
    return TABLE[(mode, local, remote)]


def render(mode: Mode) -> str:
    """The table of one mode as docs/sync.md shows it (a markdown table, rows PC CADDIE's change,
    columns Exchange's)."""
    lines = [
        "| PC CADDIE \\ Exchange | " + " | ".join(change.value for change in Change) + " |",
        "|---" * (len(Change) + 1) + "|",
    ]
    for local in Change:
        cells = [TABLE[(mode, local, remote)].value for remote in Change]
        lines.append(f"| {local.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
