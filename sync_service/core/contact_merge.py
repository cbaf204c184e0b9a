"""One field group of a contact merged field by field, as a pure function.

Each group (names, address, phone, e-mail) is a tuple of fields. With a base (what both sides last
agreed on), each field is a three-way merge: a field changed on one side only takes that side's
value, a field changed on both sides differently is a conflict the policy decides (the loser is
kept). Without a base (a contact picked with +ADD, a group that was `no` until now) nothing is
known to have changed, so the two sides are merged: a field only one side has is kept, an empty
field never wipes the other, and where both have differing values the policy decides.

In `export` PC CADDIE is the only source: its group is written when it changed since the base (or
when no base exists, its non-empty fields), Exchange's edits are never taken in, and an Outlook
value overwritten that differed from the base is kept as a conflict's loser.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    if mode is FieldMode.EXPORT:
        return _export(known, local, remote)
    final: list[str] = []
    conflict = False
    for i in range(width):
        mine, theirs = local[i], remote[i]
        if mine == theirs:
            final.append(mine)
        elif known is not None and mine == known[i]:
            final.append(theirs)
        elif known is not None and theirs == known[i]:
            final.append(mine)
        elif known is None and not mine:
            final.append(theirs)
        elif known is None and not theirs:
            final.append(mine)
        else:
            conflict = True
            final.append(mine if winner is Side.PCCADDIE else theirs)
    result = tuple(final)
    lost = None
    if conflict:
        lost = (winner, remote if winner is Side.PCCADDIE else local)
    return Merged(result, result, result, lost)


def _export(base: Values | None, local: Values, remote: Values) -> Merged:
    if base is None:
        written = tuple(mine or theirs for mine, theirs in zip(local, remote))
        overwritten = any(mine and theirs and mine != theirs for mine, theirs in zip(local, remote))
        return Merged(local, written, local, (Side.PCCADDIE, remote) if overwritten else None)
    if local == base or local == remote:
        return Merged(local, remote, local if local == remote else base)
    typed = any(theirs != was and theirs != mine for mine, theirs, was in zip(local, remote, base))
    return Merged(local, local, local, (Side.PCCADDIE, remote) if typed else None)


def _pad(values: Values | None, width: int) -> Values:
    values = tuple(values or ())
    return values + ("",) * (width - len(values))
