"""The decision, as a pure function: observations in, a plan out.

For an item not linked yet, a version on one side is created on the other (unless filtered,
private under "hide private", recurring, outside the sync window, or coming from Exchange into a
read-only subscription). For a linked item the three-way comparison of each side against the
digest last agreed says who changed, and the decision table (`decision_table.TABLE`, the data
that docs/sync.md shows) says what follows; `_carry_out` turns its outcome into actions. (On a
conflict the policy's winner is written over the other side; the losing version is kept.)

An Exchange item that carries the external id of an item already linked to another one is either
our own twin (its create was sent again after a lost answer, and it holds exactly what one of them sent):
deleted; or a copy a user made in Outlook: imported as a new appointment under an id of its own.
Exactly one Exchange item belongs to each link.

A version whose digest equals the last agreed one is no change: what the engine wrote itself is
never read back as one. Read only: nothing from Exchange is ever written into PC CADDIE; Exchange's
changes and deletions are ignored until the next PC CADDIE change overwrites (or makes again) the
Exchange copy. An item whose title becomes excluded, or (under "hide private") whose Exchange copy
becomes private, is removed from the side the engine made it on. A plan that would delete more
than half of a subscription's items (and more than the threshold), or every one of ten or more,
pauses the subscription instead; a recurring series counts there as one item, its links and its
deletion alike (`linked_items` counts it once too).

An occurrence of a recurring series is an appointment like any other (its version comes from the
expansion of its master, and its link is keyed by series and original start); only a series'
master itself, or a series item from a gateway that does not expand series, is `recurring`: never
synced.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, assert_never

from .decision_table import Change, Mode, Outcome, outcome
from .model import UNCHANGED, Link, Observation, Observed, Options, Policy, Side, Version
from .plan import Action, AdoptCopy, Conflict, Create, Delete, DropTwin, Pair, Plan, Relink, Skip, Unlink, Update


def decide(observations: Iterable[Observation], options: Options, linked_items: int) -> Plan:
    """`linked_items`: how many links the subscription has in all (for the mass-deletion guard)."""
    actions: list[Action] = []
    conflicts: list[Conflict] = []
    skipped: list[Skip] = []
    observations = _pair_identical(list(observations), actions)
    for observation in observations:
        if observation.copy_of is not None:
            _copy(observation, observation.copy_of, options, actions, skipped)
        elif observation.link is None:
            _new(observation, options, actions, skipped)
        else:
            _linked(observation, observation.link, options, actions, conflicts, skipped)
    paused = _mass_deletion(actions, linked_items, options.mass_delete_threshold)
    if paused is not None:
        return Plan(skipped=tuple(skipped), paused=paused)
    return Plan(tuple(actions), tuple(conflicts), tuple(skipped))


def _pair_identical(observations: list[Observation], actions: list[Action]) -> list[Observation]:
    """New items with the same content on both sides become one linked item, not two copies."""
    locals_by_digest: dict[str, list[int]] = {}
    for index, observation in enumerate(observations):
        if observation.link is None and isinstance(observation.local, Version):
            locals_by_digest.setdefault(observation.local.digest, []).append(index)
    paired: set[int] = set()
    for index, observation in enumerate(observations):
        remote = observation.remote
        if observation.link is None and isinstance(remote, Version) and not remote.recurring:
            candidates = locals_by_digest.get(remote.digest)
            if candidates:
                local_index = candidates.pop(0)
                local = observations[local_index].local
                assert isinstance(local, Version)
                actions.append(Pair(local, remote))
                paired.update({index, local_index})
    return [o for i, o in enumerate(observations) if i not in paired]


def _outside(version: Version, options: Options) -> bool:
    if options.window is None or version.start is None:
        return False
    first, last = options.window
    return not first <= version.start <= last


def _new(observation: Observation, options: Options, actions: list[Action], skipped: list[Skip]) -> None:
    local, remote = observation.local, observation.remote
    if isinstance(local, Version) and isinstance(remote, Version):
        raise ValueError("an unlinked observation has a version on one side only")
    if isinstance(local, Version):
        reason = "filtered" if options.excluded(local.title) else "outside-window" if _outside(local, options) else None
        if reason:
            skipped.append(Skip(reason, Side.PCCADDIE, local.key, local.start))
        else:
            actions.append(Create(Side.EXCHANGE, local))
    elif isinstance(remote, Version):
        reason = _import_refusal(remote, options) or ("outside-window" if _outside(remote, options) else None)
        if reason:
            skipped.append(Skip(reason, Side.EXCHANGE, remote.key, remote.start))
        else:
            actions.append(Create(Side.PCCADDIE, remote))


def _copy(
    observation: Observation, original: Link, options: Options, actions: list[Action], skipped: list[Skip]
) -> None:
    remote = observation.remote
    if not isinstance(remote, Version):
        return
    if original.resent and remote.digest in (original.digest, *original.created_as):
        actions.append(DropTwin(remote))
        return
    reason = _import_refusal(remote, options) or ("outside-window" if _outside(remote, options) else None)
    if reason:
        skipped.append(Skip(reason, Side.EXCHANGE, remote.key))
    else:
        actions.append(AdoptCopy(remote))


def _import_refusal(remote: Version, options: Options) -> str | None:
    """Why an Exchange version may not come into PC CADDIE, if it may not."""
    if options.read_only:
        return "read-only"
    if remote.recurring:
        return "recurring"
    if options.hide_private and remote.private:
        return "private"
    if options.excluded(remote.title):
        return "filtered"
    return None


def _change(side: Observed, link: Link) -> Change:
    if side is None:
        return Change.DELETED
    if isinstance(side, Version) and side.digest != link.digest:
        return Change.CHANGED
    return Change.UNCHANGED


def _linked(
    observation: Observation,
    link: Link,
    options: Options,
    actions: list[Action],
    conflicts: list[Conflict],
    skipped: list[Skip],
) -> None:
    local, remote = observation.local, observation.remote
    if link.stopped:
        if local is not UNCHANGED or remote is not UNCHANGED:
            skipped.append(Skip("stopped", Side.PCCADDIE, link.local_key or link.remote_key or "?"))
        return
    if isinstance(remote, Version) and remote.recurring:
        skipped.append(Skip("recurring", Side.EXCHANGE, remote.key))
        remote = UNCHANGED
    local_change, remote_change = _change(local, link), _change(remote, link)
    if link.remote_key is None:  # read only: the Exchange copy was deleted there and is not back yet
        if local_change is Change.DELETED:
            actions.append(Unlink(link))
        elif local_change is Change.CHANGED:
            assert isinstance(local, Version)
            actions.append(Create(Side.EXCHANGE, local, link))
        return

    # an item that became excluded (or private, coming from Exchange) leaves the side the engine made it on
    for version, change in ((local, local_change), (remote, remote_change)):
        if change is Change.CHANGED and isinstance(version, Version) and options.excluded(version.title):
            actions.append(Delete(link.origin.other, link))
            skipped.append(Skip("filtered", link.origin, version.key))
            return
    if remote_change is Change.CHANGED and isinstance(remote, Version) and options.hide_private and remote.private:
        if link.origin is Side.EXCHANGE:
            actions.append(Delete(Side.PCCADDIE, link))
            skipped.append(Skip("private", Side.EXCHANGE, remote.key))
            return
        remote_change = Change.UNCHANGED  # a PC CADDIE item made private in Exchange: that change is not imported
        skipped.append(Skip("private", Side.EXCHANGE, remote.key))

    if options.read_only and remote_change is Change.CHANGED:
        skipped.append(Skip("read-only", Side.EXCHANGE, link.remote_key))
    mode = Mode.READ_ONLY if options.read_only else Mode.TWO_WAY
    _carry_out(outcome(mode, local_change, remote_change), link, local, remote, options, actions, conflicts)


def _carry_out(
    decided: Outcome,
    link: Link,
    local: Observed,
    remote: Observed,
    options: Options,
    actions: list[Action],
    conflicts: list[Conflict],
) -> None:
    """The actions of one row of the decision table."""
    if decided is Outcome.NOTHING:
        if isinstance(remote, Version) and remote.change_key != link.change_key:
            actions.append(Relink(link, link.digest, remote.change_key))
    elif decided is Outcome.UPDATE_PCCADDIE:
        assert isinstance(remote, Version)
        actions.append(Update(Side.PCCADDIE, _with_change_key(link, remote), remote))
    elif decided is Outcome.UPDATE_EXCHANGE:
        assert isinstance(local, Version)
        actions.append(Update(Side.EXCHANGE, _with_change_key(link, remote), local, _content(remote)))
    elif decided is Outcome.DELETE_IN_PCCADDIE:
        actions.append(Delete(Side.PCCADDIE, link))
    elif decided is Outcome.DELETE_IN_EXCHANGE:
        actions.append(Delete(Side.EXCHANGE, link))
    elif decided is Outcome.CREATE_IN_PCCADDIE:
        assert isinstance(remote, Version)
        actions.append(Create(Side.PCCADDIE, remote, link))
    elif decided is Outcome.CREATE_IN_EXCHANGE:
        assert isinstance(local, Version)
        actions.append(Create(Side.EXCHANGE, local, link))
    elif decided is Outcome.FORGET_LINK:
        actions.append(Unlink(link))
    elif decided is Outcome.BOTH_CHANGED:
        assert isinstance(local, Version) and isinstance(remote, Version)
        if local.digest == remote.digest:
            actions.append(Relink(link, local.digest, remote.change_key, content=local.content))
        else:
            winner = _winner(local, remote, options.policy)
            won, lost = (local, remote) if winner is Side.PCCADDIE else (remote, local)
            if winner is Side.PCCADDIE:
                actions.append(Update(Side.EXCHANGE, _with_change_key(link, remote), won, remote.content))
            else:
                actions.append(Update(Side.PCCADDIE, link, won))
            conflicts.append(Conflict(link, winner, lost))
    elif decided is Outcome.IGNORE_EXCHANGE_CHANGE:
        assert isinstance(remote, Version)
        # keep its change key current; what Exchange now holds is no longer the agreed content
        actions.append(Relink(link, link.digest, remote.change_key, content_unknown=True))
    elif decided is Outcome.IGNORE_EXCHANGE_DELETION:
        actions.append(Relink(link, link.digest, forget_remote=True))
    else:
        assert_never(decided)


def _content(side: Observed) -> Any:
    return side.content if isinstance(side, Version) else None


def _with_change_key(link: Link, remote: Observed) -> Link:
    """The link with the Exchange copy's newest change key, when this cycle saw one."""
    if isinstance(remote, Version) and remote.change_key and remote.change_key != link.change_key:
        return dataclasses.replace(link, change_key=remote.change_key)
    return link


def _winner(local: Version, remote: Version, policy: Policy) -> Side:
    if policy is Policy.EXCHANGE_WINS:
        return Side.EXCHANGE
    if policy is Policy.NEWEST_WINS and local.modified and remote.modified and remote.modified > local.modified:
        return Side.EXCHANGE
    if policy is Policy.NEWEST_WINS and local.modified is None and remote.modified is not None:
        return Side.EXCHANGE
    return Side.PCCADDIE


def _mass_deletion(actions: list[Action], linked_items: int, threshold: int) -> str | None:
    """`linked_items` counts a series once; so do its deletions here."""
    if not linked_items:
        return None
    for side in Side:
        # a twin the sync made itself holds nothing of a user's: dropping it is no deletion
        deleted = {_unit(a.link) for a in actions if isinstance(a, Delete) and a.side is side}
        deletions = len(deleted)
        if (deletions > threshold and deletions * 2 > linked_items) or (
            linked_items >= 10 and deletions >= linked_items
        ):
            where = "PC CADDIE" if side is Side.PCCADDIE else "Exchange"
            return (
                f"this cycle would delete {deletions} of {linked_items} synchronised items in {where}; "
                "nothing was changed. Check both sides, then resume the calendar to let it go on"
            )
    return None


def _unit(link: Link) -> tuple[str, object]:
    """What a deletion counts as: a series once, any other item on its own."""
    return ("series", link.series_id) if link.series_id is not None else ("item", link.id)
