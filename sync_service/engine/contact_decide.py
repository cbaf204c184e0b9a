"""The decision for one contact, as a pure function, built on the appointment decision.

Each field group of a linked contact is decided by `decide` on its own, with its own agreed
digest: `sync` both ways with the conflict policy, `export` as read only (Exchange's edits of that
group are ignored and overwritten by the next PC CADDIE change), `no` never touched. Names always
travel both ways. Around that, what is particular to contacts:

- a person on the user's list with no link is made in Exchange (only its names and exported
  groups); an Exchange contact picked with +ADD is linked, filling what either side lacks;
- a contact deleted in Exchange leaves the user's list; the PC CADDIE person is never deleted;
- a person deleted in PC CADDIE deletes the contact the sync made for it (one picked with +ADD is
  left to its owner);
- a person taken off the list stops syncing; its contact stays unless removal asked otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Mapping

from ..permissions import FieldMode
from .contacts import GROUPS, NAMES, Groups, digest, is_empty
from .decide import decide
from .model import UNCHANGED, Link, Observation, Options, Policy, Side, Unchanged, Version
from .plan import Relink, Update

UNKNOWN = ""  # the digest of a group never agreed on


@dataclass(frozen=True)
class ContactLinkState:
    id: int
    person_id: int | None
    exchange_id: str | None
    change_key: str | None
    origin: Side
    digests: Mapping[str, str]
    stopped: bool = False
    delete_in_exchange: bool = False


@dataclass(frozen=True)
class ContactObservation:
    link: ContactLinkState | None
    local: Groups | None | Unchanged = UNCHANGED  # None: the person was deleted
    remote: Groups | None | Unchanged = UNCHANGED  # None: the contact was deleted in Exchange
    on_list: bool = True
    source: str = "person"  # for a new entry: person | auto | exchange
    remote_change_key: str | None = None
    person_id: int | None = None
    exchange_id: str | None = None
    local_modified: dt.datetime | None = None  # UTC, for newest-wins
    remote_modified: dt.datetime | None = None


@dataclass(frozen=True)
class ContactDecision:
    action: str  # none | create | adopt | update | delete-remote | unlist | unlink | skip
    to_exchange: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    to_pccaddie: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    digests: Mapping[str, str] = field(default_factory=dict)  # the groups' new agreed digests
    conflicts: tuple[tuple[str, Side, tuple[str, ...]], ...] = ()  # (group, winner, losing values)
    change_key: str | None = None


def _active(group: str, modes: Mapping[str, FieldMode]) -> bool:
    return group == NAMES or modes.get(group, FieldMode.NO) is not FieldMode.NO


def decide_contact(observation: ContactObservation, modes: Mapping[str, FieldMode],
                   policy: Policy = Policy.PCCADDIE_WINS) -> ContactDecision:  # fmt: skip
    link, local, remote = observation.link, observation.local, observation.remote
    if link is None:
        return _new(observation, modes)
    if link.stopped:
        return ContactDecision("skip")
    if local is None:  # the person was deleted in PC CADDIE
        return ContactDecision("delete-remote" if link.origin is Side.PCCADDIE and link.exchange_id else "unlink")
    if not observation.on_list:
        return ContactDecision("delete-remote" if link.delete_in_exchange and link.exchange_id else "unlink")
    if remote is None:
        return ContactDecision("unlist")
    if link.exchange_id is None:  # its create is still owed
        assert isinstance(local, dict) or local is UNCHANGED
        return ContactDecision("skip")
    to_exchange: dict[str, tuple[str, ...]] = {}
    to_pccaddie: dict[str, tuple[str, ...]] = {}
    digests: dict[str, str] = {}
    conflicts: list[tuple[str, Side, tuple[str, ...]]] = []
    for group in GROUPS:
        if not _active(group, modes):
            continue
        mode = FieldMode.SYNC if group == NAMES else modes[group]
        agreed = Link(link.id, str(link.person_id), link.exchange_id, link.digests.get(group, UNKNOWN), link.origin,
                      link.change_key)  # fmt: skip
        local_version = _version(group, local, str(link.person_id), modified=observation.local_modified)
        remote_version = _version(group, remote, link.exchange_id, observation.remote_change_key,
                                  observation.remote_modified)  # fmt: skip
        plan = decide([Observation(agreed, local_version, remote_version)],
                      Options(read_only=mode is FieldMode.EXPORT, policy=policy), linked_items=0)  # fmt: skip
        for action in plan.actions:
            if isinstance(action, Update) and action.side is Side.EXCHANGE:
                to_exchange[group], digests[group] = action.source.content, action.source.digest
            elif isinstance(action, Update):
                to_pccaddie[group], digests[group] = action.source.content, action.source.digest
            elif isinstance(action, Relink) and action.digest != agreed.digest:
                digests[group] = action.digest
        conflicts += [(group, c.winner, c.loser.content) for c in plan.conflicts]
    if not (to_exchange or to_pccaddie or digests):
        return ContactDecision("none", change_key=observation.remote_change_key)
    return ContactDecision("update", to_exchange, to_pccaddie, digests, tuple(conflicts), observation.remote_change_key)


def _version(group: str, groups: Groups | Unchanged | None, key: str | None, change_key: str | None = None,
             modified: dt.datetime | None = None):  # fmt: skip
    if not isinstance(groups, dict):
        return UNCHANGED
    values = groups[group]
    return Version(key=key or "?", content=values, digest=digest(values), change_key=change_key, modified=modified)


def _new(observation: ContactObservation, modes: Mapping[str, FieldMode]) -> ContactDecision:
    local, remote = observation.local, observation.remote
    if observation.source == "exchange":
        if not isinstance(remote, dict) or not isinstance(local, dict):
            return ContactDecision("none")
        to_exchange, to_pccaddie, digests = {}, {}, {}
        for group in GROUPS:
            if not _active(group, modes):
                continue
            mode = FieldMode.SYNC if group == NAMES else modes[group]
            mine, theirs = local[group], remote[group]
            final = mine
            if mine != theirs:
                if is_empty(mine) and mode is FieldMode.SYNC:
                    final = theirs
                    to_pccaddie[group] = theirs
                else:
                    to_exchange[group] = mine
            digests[group] = digest(final)
        return ContactDecision("adopt", to_exchange, to_pccaddie, digests, change_key=observation.remote_change_key)
    if isinstance(local, dict) and observation.on_list:
        exported = {g: local[g] for g in GROUPS if _active(g, modes)}
        return ContactDecision("create", to_exchange=exported, digests={g: digest(v) for g, v in exported.items()})
    return ContactDecision("none")


def mass_unlisting(decisions: list[ContactDecision], linked: int, threshold: int = 20) -> str | None:
    """The mass-deletion guard, for contacts deleted in Exchange or to be deleted there."""
    for action, where in (("unlist", "in Exchange"), ("delete-remote", "from Exchange")):
        count = sum(1 for d in decisions if d.action == action)
        if (count > threshold and count * 2 > linked) or (linked >= 10 and count >= linked):
            return (f"this cycle would take {count} of {linked} contacts off the list ({where}); nothing was "
                    "changed. Check both sides, then resume the contacts to let it go on")  # fmt: skip
    return None
