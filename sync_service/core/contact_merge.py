"""One field group of a contact merged field by field, as a pure function.

Each group (names, address, phone, e-mail) is a tuple of fields. Each field's state on either
side (against the agreed value, or with none agreed empty or filled) and the group's mode give the
outcome in `contact_decision_table.FIELDS`, the table docs/sync.md shows; `merge_group` looks it
up and carries it out. With a base (what both sides last agreed on) a field changed on one side
only takes that side's value, a field changed on both sides differently is a conflict the policy
decides (the loser is kept). Without a base (a contact picked with +ADD, a group that was `no`
until now) a filled field counts as a change: a field only one side has is kept, an empty field
never wipes the other, and where both have differing values the policy decides.

In `export` PC CADDIE is the only source and what it holds is agreed: its changed fields are
written, Exchange's edits are never taken in (an edited field is overwritten when PC CADDIE changes
the group, and the Outlook value overwritten is kept as a conflict's loser).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from .contact_decision_table import FIELDS, Field, FieldOutcome, field_state
from .model import Side
from .permissions import FieldMode

Values = tuple[str, ...]


@dataclass(frozen=True)
class Merged:
    local: Values  # the group PC CADDIE ends with
    remote: Values  # the group Exchange ends with
    base: Values  # what is agreed from then on
    conflict: tuple[Side, Values] | None = None  # (winner, the losing side's whole group)


def merge_group(
    mode: FieldMode, base: Values | None, local: Values, remote: Values, winner: Side = Side.PCCADDIE
) -> Merged:
    """`winner`: who wins a field changed on both sides (the policy, already applied)."""
    width = max(len(local), len(remote), len(base or ()))
    local, remote = _pad(local, width), _pad(remote, width)
    known = _pad(base, width) if base is not None else None
    agreed = [None if known is None else known[i] for i in range(width)]
    states = [(field_state(agreed[i], local[i]), field_state(agreed[i], remote[i])) for i in range(width)]
    pccaddie_changed = any(mine is Field.CHANGED for mine, _ in states)  # the group, for IGNORED
    ends_local: list[str] = []
    ends_remote: list[str] = []
    ends_agreed: list[str] = []
    conflict: Side | None = None
    for (mine, theirs), (mine_state, theirs_state) in zip(zip(local, remote), states):
        decided = FIELDS[(mode, mine_state, theirs_state)]
        if decided is FieldOutcome.NOTHING or decided is FieldOutcome.KEPT:
            ends = (mine, theirs, mine)
        elif decided is FieldOutcome.UPDATE_PCCADDIE:
            ends = (theirs, theirs, theirs)
        elif decided is FieldOutcome.UPDATE_EXCHANGE:
            ends = (mine, mine, mine)
        elif decided is FieldOutcome.POLICY:
            won = mine if winner is Side.PCCADDIE or mine == theirs else theirs
            ends = (won, won, won)
            if mine != theirs:
                conflict = winner
        elif decided is FieldOutcome.OVERWRITE or (decided is FieldOutcome.IGNORED and pccaddie_changed):
            ends = (mine, mine, mine)
            if mine != theirs:
                conflict = Side.PCCADDIE
        elif decided is FieldOutcome.IGNORED:
            ends = (mine, theirs, mine)
        else:
            assert_never(decided)
        ends_local.append(ends[0])
        ends_remote.append(ends[1])
        ends_agreed.append(ends[2])
    lost = None
    if conflict is not None:
        lost = (conflict, remote if conflict is Side.PCCADDIE else local)
    return Merged(tuple(ends_local), tuple(ends_remote), tuple(ends_agreed), lost)


def _pad(values: Values | None, width: int) -> Values:
    values = tuple(values or ())
    return values + ("",) * (width - len(values))
