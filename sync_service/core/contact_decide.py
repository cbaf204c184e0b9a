"""The decision for one contact, as a pure function, built on the appointment decision.

The decision is data (`contact_decision_table`, the tables docs/sync.md shows): `decide_contact`
finds each case's row (`new_key`, `linked_key`, and per field group what is known of the agreed
values and which sides were read) and carries out its outcome; `contact_merge.merge_group` does
the same for each field of a group.

Each field group of a linked contact is merged field by field against what both sides last agreed
on (see contact_merge): `sync` both ways with the conflict policy, `export` as read only
(Exchange's edits of that group are ignored and overwritten by the next PC CADDIE change), `no`
never touched. Names always travel both ways. A group with no agreed base (a contact picked with
+ADD, a group that was `no` until now, a link from before bases were recorded and whose digest
neither side matches) is merged without one: nothing is blanked. Around that:

- a person on the user's list with no link is made in Exchange (only its names and exported
  groups), unless an existing contact is that person (see existing_contact): it is adopted as
  one picked with +ADD is; an Exchange contact picked with +ADD is linked, merging both sides;
- a contact deleted in Exchange leaves the user's list; the PC CADDIE person is never deleted;
- a person deleted in PC CADDIE deletes the contact the sync made for it (one picked with +ADD is
  left to its owner);
- a person taken off the list stops syncing; its contact stays unless removal asked otherwise
  (asked, it goes even when the person was deleted too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping, Sequence

from protocol.entries import ContactEntry

from .contact_content import GROUPS, NAMES, Groups, contact_names, digest, normal, same_names
from .contact_decision_table import (
    BASIS,
    FIELDS,
    LINKED,
    MERGED_MODES,
    NEW,
    Basis,
    Contact,
    Field,
    FieldOutcome,
    ItemOutcome,
    Known,
    LinkedKey,
    Listing,
    NewKey,
    NewOutcome,
    Owner,
    Person,
    Source,
    read,
)
from .contact_merge import merge_group
from .model import UNCHANGED, Policy, Side, Unchanged
from .permissions import FieldMode

UNKNOWN = ""  # the digest of a group never agreed on
Values = tuple[str, ...]


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
    agreed: Mapping[str, Values] = field(default_factory=dict)  # per group, the values last agreed (if recorded)


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
    made_by_sync: bool = False  # a contact to adopt that an earlier link of the person made


@dataclass(frozen=True)
class ContactDecision:
    action: str  # none | create | adopt | update | delete-remote | unlist | unlink | skip
    to_exchange: Mapping[str, Values] = field(default_factory=dict)
    to_pccaddie: Mapping[str, Values] = field(default_factory=dict)
    agreed: Mapping[str, Values] = field(default_factory=dict)  # the groups' new agreed values
    conflicts: tuple[tuple[str, Side, Values], ...] = ()  # (group, winner, losing values)
    change_key: str | None = None

    @property
    def digests(self) -> dict[str, str]:
        return {group: digest(values) for group, values in self.agreed.items()}


def _mode(group: str, modes: Mapping[str, FieldMode]) -> FieldMode:
    """The group's mode: names always `sync`; a mode the field table has no rows for (`no`) means
    never touched."""
    return FieldMode.SYNC if group == NAMES else modes.get(group, FieldMode.NO)


def _active(group: str, modes: Mapping[str, FieldMode]) -> bool:
    return _mode(group, modes) in MERGED_MODES


def winner(observation: ContactObservation, policy: Policy) -> Side:
    """Who wins a field both sides changed differently."""
    local, remote = observation.local_modified, observation.remote_modified
    if policy is Policy.EXCHANGE_WINS:
        return Side.EXCHANGE
    if policy is Policy.NEWEST_WINS and remote is not None and (local is None or remote > local):
        return Side.EXCHANGE
    return Side.PCCADDIE


def linked_key(observation: ContactObservation) -> LinkedKey:
    """The row of `LINKED` a linked contact's observation falls in."""
    link = observation.link
    assert link is not None
    if observation.on_list:
        listing = Listing.LISTED
    else:
        listing = Listing.OFF_WITH_CONTACT if link.delete_in_exchange else Listing.OFF
    if link.exchange_id is None:
        owner = Owner.OWED
    else:
        owner = Owner.SYNC if link.origin is Side.PCCADDIE else Owner.USER
    return (
        listing,
        Person.DELETED if observation.local is None else Person.THERE,
        owner,
        Contact.DELETED if observation.remote is None else Contact.THERE,
    )


def new_key(observation: ContactObservation) -> NewKey:
    """The row of `NEW` an entry with no link falls in."""
    source = Source.EXCHANGE if observation.source == "exchange" else Source.PERSON
    sides = read(isinstance(observation.local, dict), isinstance(observation.remote, dict))
    return source, observation.on_list, sides


def decide_contact(
    observation: ContactObservation, modes: Mapping[str, FieldMode], policy: Policy = Policy.PCCADDIE_WINS
) -> ContactDecision:
    link, local, remote = observation.link, observation.local, observation.remote
    if link is None:
        return _new(observation, modes, policy)
    if link.stopped:
        return ContactDecision("skip")
    decided = LINKED[linked_key(observation)]
    if decided is not ItemOutcome.MERGE:
        assert decided.action is not None
        return ContactDecision(decided.action)
    assert local is not None and remote is not None
    to_exchange: dict[str, Values] = {}
    to_pccaddie: dict[str, Values] = {}
    agreed: dict[str, Values] = {}
    conflicts: list[tuple[str, Side, Values]] = []
    wins = winner(observation, policy)
    for group in GROUPS:
        if not _active(group, modes):
            continue
        mode = _mode(group, modes)
        base = _base(link, group, local, remote)
        mine = local[group] if isinstance(local, dict) else base
        theirs = remote[group] if isinstance(remote, dict) else base
        basis = BASIS[(_known(link, group, base), read(isinstance(local, dict), isinstance(remote, dict)))]
        if basis is Basis.LATER:
            continue  # a side not read, with nothing agreed to stand for it: looked at when read
        if basis is Basis.DIGEST:
            # only the digest was kept, and the side not read is as agreed: the read side changed it
            local_state = Field.CHANGED if isinstance(local, dict) else Field.AS_AGREED
            remote_state = Field.CHANGED if isinstance(remote, dict) else Field.AS_AGREED
            changed = normal(group, mine if mine is not None else theirs or ())
            as_one = FIELDS[(mode, local_state, remote_state)]
            if as_one is FieldOutcome.UPDATE_EXCHANGE:
                to_exchange[group] = changed
            elif as_one is FieldOutcome.UPDATE_PCCADDIE:
                to_pccaddie[group] = changed
            else:  # Exchange's edit of an export group, PC CADDIE's not read: ignored
                assert as_one is FieldOutcome.IGNORED
                continue
            agreed[group] = changed
            continue
        assert mine is not None and theirs is not None
        merged = merge_group(mode, base, mine, theirs, wins)
        ends_local, ends_remote, ends_base = (
            normal(group, merged.local),
            normal(group, merged.remote),
            normal(group, merged.base),
        )
        if ends_local != normal(group, mine):
            to_pccaddie[group] = ends_local
        if ends_remote != normal(group, theirs):
            to_exchange[group] = ends_remote
        if base is None or ends_base != normal(group, base) or link.digests.get(group) != digest(ends_base):
            agreed[group] = ends_base
        if merged.conflict is not None:
            conflicts.append((group, merged.conflict[0], normal(group, merged.conflict[1])))
    if not (to_exchange or to_pccaddie or agreed):
        return ContactDecision("none", change_key=observation.remote_change_key)
    return ContactDecision("update", to_exchange, to_pccaddie, agreed, tuple(conflicts), observation.remote_change_key)


def _base(
    link: ContactLinkState, group: str, local: Groups | Unchanged | None, remote: Groups | Unchanged | None
) -> Values | None:
    """What both sides last agreed on for the group: recorded, else (a link from before values
    were recorded) the side whose values match the agreed digest."""
    if group in link.agreed:
        return tuple(link.agreed[group])
    known = link.digests.get(group, UNKNOWN)
    if known == UNKNOWN:
        return None
    for side in (local, remote):
        if isinstance(side, dict) and digest(side[group]) == known:
            return side[group]
    return None


def _known(link: ContactLinkState, group: str, base: Values | None) -> Known:
    """What is known of the group's agreed values, `base` being what `_base` found."""
    if base is not None:
        return Known.VALUES
    return Known.NOTHING if link.digests.get(group, UNKNOWN) == UNKNOWN else Known.DIGEST


def _new(observation: ContactObservation, modes: Mapping[str, FieldMode], policy: Policy) -> ContactDecision:
    local, remote = observation.local, observation.remote
    decided = NEW[new_key(observation)]
    if decided is NewOutcome.ADOPT:
        assert isinstance(remote, dict) and isinstance(local, dict)
        to_exchange: dict[str, Values] = {}
        to_pccaddie: dict[str, Values] = {}
        agreed: dict[str, Values] = {}
        conflicts: list[tuple[str, Side, Values]] = []
        wins = winner(observation, policy)
        for group in GROUPS:
            if not _active(group, modes):
                continue
            merged = merge_group(_mode(group, modes), None, local[group], remote[group], wins)
            if normal(group, merged.local) != normal(group, local[group]):
                to_pccaddie[group] = normal(group, merged.local)
            if normal(group, merged.remote) != normal(group, remote[group]):
                to_exchange[group] = normal(group, merged.remote)
            agreed[group] = normal(group, merged.base)
            if merged.conflict is not None:
                conflicts.append((group, merged.conflict[0], normal(group, merged.conflict[1])))
        return ContactDecision(
            "adopt", to_exchange, to_pccaddie, agreed, tuple(conflicts), observation.remote_change_key
        )
    if decided is NewOutcome.CREATE:
        assert isinstance(local, dict)
        exported = {g: local[g] for g in GROUPS if _active(g, modes)}
        return ContactDecision("create", to_exchange=exported, agreed=exported)
    return ContactDecision(decided.action)


def to_make(observation: ContactObservation) -> bool:
    """Whether the decision makes this person's contact in Exchange (`NEW`): on the list, with no
    link and not picked from Exchange (before it is made, an existing contact that is the person
    is looked for, and adopted if found)."""
    return observation.link is None and NEW[new_key(observation)] is NewOutcome.CREATE


def mass_unlisting(decisions: list[ContactDecision], linked: int, threshold: int = 20) -> str | None:
    """The mass-deletion guard, for contacts deleted in Exchange or to be deleted there."""
    for action, where in (("unlist", "in Exchange"), ("delete-remote", "from Exchange")):
        count = sum(1 for d in decisions if d.action == action)
        if (count > threshold and count * 2 > linked) or (linked >= 10 and count >= linked):
            return (
                f"this cycle would take {count} of {linked} contacts off the list ({where}); nothing was "
                "changed. Check both sides, then resume the contacts to let it go on"
            )
    return None


EXTERNAL_PREFIX = "pccaddie-contact"


def external_id_for(user_id: int, person_id: int | None, unique: str) -> str:
    """The external id a new link's contact carries: the user and the person it is made for, so
    that a contact an earlier link made is recognised once the link is gone."""
    return f"{EXTERNAL_PREFIX}:{user_id}:{person_id}:{unique}"


def made_for(external_id: Any, user_id: int) -> int | None:
    """The person a contact carrying this external id was made for by this user's sync (None: not
    made by it, or by a link from before external ids named the person)."""
    parts = str(external_id or "").split(":")
    if len(parts) != 4 or parts[0] != EXTERNAL_PREFIX or parts[1] != str(user_id) or not parts[2].isdigit():
        return None
    return int(parts[2])


@dataclass(frozen=True)
class Existing:
    contact: ContactEntry | None = None  # the contact that is the person: adopted, not made again
    made_by_sync: bool = False  # it carries an earlier link's external id for the person
    alike: tuple[str, ...] = ()  # contacts that look like the person but are not told apart: none taken


def existing_contact(
    user_id: int,
    person_id: int,
    local: Groups,
    found: Sequence[ContactEntry],
    taken: Collection[str],
    only_match: Callable[[ContactEntry], int | None],
) -> Existing:
    """Of the Exchange contacts found for a person about to be made in Exchange, the one that is
    that person, never a guess:

    1. a contact an earlier link made for this person (its external id names user and person);
    2. else the one contact with one of the person's e-mail addresses and the person's name
       (compared as +ADD compares them), which +ADD would match to this person alone
       (`only_match`: the only person with that e-mail address and name, the only one of the name).

    `taken`: the ids and external ids of contacts other links hold, and contacts picked with
    +ADD: never adopted again. A contact made for another person is never taken. Several
    candidates of the same rank are not told apart: none is taken (they are named in `alike`),
    and the person's contact is made as usual."""
    unique: dict[str, ContactEntry] = {}
    for item in found:
        if item.id and item.id not in taken and str(item.external_id or "") not in taken:
            unique.setdefault(str(item.id), item)
    free = list(unique.values())
    ours = [c for c in free if made_for(c.external_id, user_id) == person_id]
    if len(ours) == 1:
        return Existing(ours[0], made_by_sync=True)
    if ours:
        return Existing(alike=tuple(str(c.id) for c in ours))
    emails = {e.casefold() for e in local.get("email", ())}
    first, last = local[NAMES]
    alike = [
        c
        for c in free
        if made_for(c.external_id, user_id) is None
        and emails & {str(e).strip().casefold() for e in c.emails}
        and same_names(*contact_names(c), first, last)
    ]
    if len(alike) == 1 and only_match(alike[0]) == person_id:
        return Existing(alike[0])
    return Existing(alike=tuple(str(c.id) for c in alike))
