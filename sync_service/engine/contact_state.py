"""The database side of a user's contact sync: what the decisions are made from, and recording
each confirmed result. Runs in the database thread (see database.DbRunner)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from protocol.entries import Change, ContactEntry, CreateRequest, Found, ItemResult
from protocol.text_limits import shorten

from ..core.contact_content import GROUPS, NAMES, Groups, digest, entry_fields, entry_groups, person_values
from ..core.contact_content import contact_entry as contact_entry_of
from ..core.contact_decide import (
    UNKNOWN,
    ContactDecision,
    ContactLinkState,
    ContactObservation,
    Existing,
    existing_contact,
    external_id_for,
)
from ..core.contact_plan import MakeInExchange
from ..core.model import UNCHANGED, Policy, Side
from ..core.permissions import FieldGroup, FieldMode, field_mode, may_sync_contacts
from ..core.remote_feed import Known
from ..store import journal
from ..store.accounts import account_for_gateway
from ..store.models import (
    Appointment,
    Booking,
    CalendarSubscription,
    ContactLink,
    ContactSubscription,
    ContactSyncState,
    ExchangeAccount,
    Person,
    SyncConflict,
    SyncReportLine,
    SyncStatistic,
    User,
)
from ..store.read_model import max_attempts, subject_for
from ..vault import PasswordVault, VaultError
from .calendar_state import NotSyncing, now, statistics_any
from .contacts import PersonNames, only_match, overlong, person_groups

Values = tuple[str, ...]
WINDOW_DAYS = (30, 400)  # the sync window's days back and ahead (the engine settings' default)
LATE_CREATES = dt.timedelta(days=1)  # how long a create sent again is watched for a twin landing late
CONTACTS_PAUSE = "the user may not sync contacts (password management, tab SYNC)"


@dataclass(frozen=True)
class ContactContext:
    user_id: int
    login: str
    modes: Mapping[str, FieldMode]
    account: Mapping[str, str] = field(repr=False)
    sync_state: str | None = None
    journal_seq: int = 0
    initial_done: bool = False
    max_attempts: int = 10
    pending: tuple[tuple[int, str], ...] = ()
    to_adopt: tuple[str, ...] = ()  # Exchange ids picked with +ADD and not linked yet
    verify: tuple[str, ...] = ()  # Exchange ids of links to look up: unsure what Exchange holds
    policy: Policy = Policy.PCCADDIE_WINS
    refresh: bool = False  # the modes changed since the last saved cycle: every linked contact is looked at
    resent: tuple[int, ...] = ()  # links whose create was sent more than once: a late twin may turn up
    window_days: tuple[int, int] = WINDOW_DAYS  # a booking in it keeps an auto-synced person listed
    latest_seq: int | None = None  # the journal's newest entry when the cycle began
    # the list and the links differ (a person listed with no link, a link whose person left the
    # list, an auto-synced person no booking keeps): work owed though nothing was journaled
    listing_owed: bool = True

    @property
    def label(self) -> str:
        return f"{self.login}/contacts"


def users_with_contacts() -> list[int]:
    listed = {row.user_id for row in ContactSubscription.select(ContactSubscription.user).distinct()}
    linked = {row.user_id for row in ContactLink.select(ContactLink.user).distinct()}
    return sorted(listed | linked)


def load_contact_context(
    user_id: int, vault: PasswordVault, window_days: tuple[int, int] = WINDOW_DAYS
) -> ContactContext | NotSyncing:
    user = User.get_by_id(user_id)
    label = f"{user.login}/contacts"
    state, _ = ContactSyncState.get_or_create(user=user)
    subject = subject_for(user)
    if not may_sync_contacts(subject):
        if state.paused_reason != CONTACTS_PAUSE:
            state.paused_reason = CONTACTS_PAUSE
            state.save()
        return NotSyncing(0, label, f"paused: {CONTACTS_PAUSE}", paused=True)
    if state.paused_reason == CONTACTS_PAUSE:  # allowed again
        state.paused_reason = None
        state.save()
    if state.paused_reason:
        return NotSyncing(0, label, f"paused: {state.paused_reason}", paused=True)
    if ExchangeAccount.get_or_none(ExchangeAccount.user == user) is None:
        return NotSyncing(0, label, "the user has no Exchange account")
    try:
        account = account_for_gateway(user.login, vault)
    except VaultError as exc:
        return NotSyncing(0, label, str(exc))
    modes = {NAMES: FieldMode.SYNC, **{g.value: field_mode(subject, g) for g in FieldGroup}}
    every = list(ContactLink.select().where(ContactLink.user == user))
    expired = [link.id for link in every if is_tombstone(link) and not _may_land_late(link, now())]
    if expired:
        ContactLink.delete().where(ContactLink.id.in_(expired)).execute()
    links = [link for link in every if not is_tombstone(link)]
    buried = [link for link in every if is_tombstone(link) and link.id not in expired]
    linked_exchange = {link.exchange_id for link in links if link.exchange_id}
    to_adopt = tuple(
        entry.exchange_id
        for entry in ContactSubscription.select().where(
            (ContactSubscription.user == user) & (ContactSubscription.source == "exchange")
        )
        if entry.exchange_id
        and entry.exchange_id not in linked_exchange
        and not any(link.person_id == entry.person_id for link in links)
    )
    refresh = state.initial_done and _loads(state.modes) != modes_json(modes)
    context = ContactContext(
        user_id=user.id,
        login=user.login,
        modes=modes,
        account=account,
        sync_state=state.sync_state,
        journal_seq=state.journal_seq,
        initial_done=state.initial_done,
        max_attempts=max_attempts(),
        pending=tuple((link.id, link.external_id) for link in links if link.pending_create and not link.stopped),
        to_adopt=to_adopt,
        verify=tuple(link.exchange_id for link in links if (link.verify or refresh) and link.exchange_id),
        policy=Policy(state.policy),
        refresh=refresh,
        resent=tuple(link.id for link in [*links, *buried] if _may_land_late(link, now())),
        window_days=window_days,
        latest_seq=journal.latest_seq(),
    )
    return dataclasses.replace(context, listing_owed=_listing_owed(context, links))


def _listing_owed(context: ContactContext, links: Sequence[ContactLink]) -> bool:
    listed = {
        row.person_id: row for row in ContactSubscription.select().where(ContactSubscription.user == context.user_id)
    }
    linked = {link.person_id for link in links}
    return set(listed) != linked or bool(unbooked_auto(context, listed))


def nothing_happened(context: ContactContext, remote_changes: Sequence[Change]) -> bool:
    """No change from Exchange, none in the journal since the list's position, nothing owed."""
    return (
        context.initial_done
        and not remote_changes
        and not context.pending
        and not context.to_adopt
        and not context.verify
        and not context.refresh
        and not context.listing_owed
        and context.latest_seq is not None
        and context.latest_seq <= context.journal_seq
    )


def modes_json(modes: Mapping[str, FieldMode]) -> dict[str, str]:
    return {group: FieldMode(mode).value for group, mode in sorted(modes.items())}


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def agreed_of(link: ContactLink) -> dict[str, tuple[str, ...]]:
    """The values last agreed per group, as recorded (groups never agreed are absent)."""
    recorded = _loads(link.agreed)
    if not isinstance(recorded, dict):
        return {}
    return {
        g: tuple(str(v) for v in values) for g, values in recorded.items() if g in GROUPS and isinstance(values, list)
    }


def _record_agreed(link: ContactLink, agreed: Mapping[str, tuple[str, ...]]) -> None:
    """Set the link's agreed values (and digests) for these groups; the caller saves."""
    if not agreed:
        return
    merged = {**agreed_of(link), **{g: tuple(v) for g, v in agreed.items()}}
    link.agreed = json.dumps({g: list(v) for g, v in merged.items()}, ensure_ascii=False)
    for group, values in agreed.items():
        setattr(link, f"{group}_digest", digest(tuple(values)))


def _sent_groups(text: str | None) -> dict[str, tuple[str, ...]]:
    recorded = _loads(text)
    if not isinstance(recorded, dict):
        return {}
    return {g: tuple(str(v) for v in values) for g, values in recorded.items() if isinstance(values, list)}


def _creates_of(link: ContactLink) -> list[dict[str, tuple[str, ...]]]:
    """The groups each create of the link sent, oldest first."""
    recorded = _loads(link.creates)
    if not isinstance(recorded, dict) or not isinstance(recorded.get("sent"), list):
        return []
    return [
        {g: tuple(str(v) for v in values) for g, values in sent.items() if isinstance(values, list)}
        for sent in recorded["sent"]
        if isinstance(sent, dict)
    ]


TOMBSTONE = "tombstone: a create of it may still land"


def is_tombstone(link: ContactLink) -> bool:
    return bool(link.stopped) and link.last_error == TOMBSTONE


def _bury(row: ContactLink) -> None:
    """A link that goes while a create of it may still land stays a while as a tombstone, so that
    the contact such a create makes is deleted, not left behind (the contact it linked, if any, is
    the user's now and never taken for that); else it is deleted."""
    if row.pending_create or _may_land_late(row, now()):
        creates_sent = max(row.creates_sent, 2)
        ContactLink.update(
            person_id=None,
            exchange_id=row.exchange_id,
            pending_create=False,
            stopped=True,
            last_error=TOMBSTONE,
            creates_sent=creates_sent,
            updated=now(),
        ).where(ContactLink.id == row.id).execute()
    else:
        ContactLink.delete().where(ContactLink.id == row.id).execute()


def _may_land_late(link: ContactLink, at: dt.datetime) -> bool:
    """Whether a create of the link sent more than once may still land (a create the gateway gave
    up on ends within its operation deadline; a day is far beyond it)."""
    if link.creates_sent <= 1 or (link.pending_create and not is_tombstone(link)):
        return False
    recorded = _loads(link.creates)
    last = recorded.get("last") if isinstance(recorded, dict) else None
    try:
        return at - dt.datetime.fromisoformat(str(last)) < LATE_CREATES
    except ValueError:
        return False


def known_items(context: ContactContext, exchange_ids: Sequence[str]) -> dict[str, Known]:
    """The change keys this user's contact links hold for these Exchange contacts."""
    ids, known = sorted(set(exchange_ids)), {}
    for start in range(0, len(ids), 500):
        rows: Any = (
            ContactLink.select(ContactLink.exchange_id, ContactLink.change_key)
            .where((ContactLink.user == context.user_id) & ContactLink.exchange_id.in_(ids[start : start + 500]))
            .tuples()
        )
        known.update({exchange_id: Known(change_key) for exchange_id, change_key in rows})
    return known


def clear_verified(context: ContactContext, exchange_ids: Sequence[str]) -> None:
    ids = list(exchange_ids)
    for start in range(0, len(ids), 500):
        ContactLink.update(verify=False).where(
            (ContactLink.user == context.user_id) & ContactLink.exchange_id.in_(ids[start : start + 500])
        ).execute()


def resolve_pending(context: ContactContext, found: Found) -> None:
    """Creates whose answer was lost and that Exchange has: linked, as agreed on what the last
    create sent. The contact may have been edited since it was made, so its change key is not
    taken as seen: it is read and compared (looked up if the feed does not mention it). `found`:
    per external id, one contact or every contact carrying it; of several (the user copied ours in
    Outlook before it was found), ours is the one most like what a create sent."""
    for link_id, external_id in context.pending:
        row = ContactLink.get_or_none(ContactLink.id == link_id)
        entry = _ours([e for e in found.items.get(external_id, ()) if isinstance(e, ContactEntry)], row)
        if entry is not None and row is not None:
            _create_landed(row, entry.id or "", entry)


def contact_entry(change: Change) -> ContactEntry | None:
    """The contact entry a change carries (a feed of contacts carries no other kind)."""
    return change.entry if isinstance(change.entry, ContactEntry) else None


def _alike(sent: Mapping[str, Sequence[str]], item: ContactEntry) -> int:
    groups = entry_groups(item)
    return sum(a == b for g, v in sent.items() for a, b in zip(v, groups.get(g, ())))


def _ours(matches: Sequence[ContactEntry], row: ContactLink | None) -> ContactEntry | None:
    if not matches:
        return None
    creates = _creates_of(row) if row is not None else []
    if not creates:
        return matches[0]
    return max(matches, key=lambda item: max(_alike(sent, item) for sent in creates))


def linked_exchange_ids(context: ContactContext) -> list[str]:
    """The Exchange ids of this user's contact links."""
    rows: Any = ContactLink.select(ContactLink.exchange_id).where(
        (ContactLink.user == context.user_id) & ContactLink.exchange_id.is_null(False)
    )
    return [str(exchange_id) for (exchange_id,) in rows.tuples()]


def _create_landed(row: ContactLink, exchange_id: str, item: ContactEntry | None = None) -> None:
    """Link a create that landed, agreed on the create it is (of those sent, the one most like it)."""
    creates = _creates_of(row)
    row.exchange_id, row.change_key, row.pending_create, row.verify = exchange_id, None, False, True
    if creates:
        _record_agreed(row, max(reversed(creates), key=lambda sent: _alike(sent, item) if item is not None else 0))
    row.updated = now()
    row.save()


def utc(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _modified(person: Person | None) -> dt.datetime | None:
    return person.modified.replace(tzinfo=dt.timezone.utc) if person is not None and person.modified else None


def record_sending(link_groups: Sequence[tuple[int, Mapping[str, tuple[str, ...]]]]) -> None:
    """Before updates are sent: the field groups each writes, so that a lost answer is recognised
    by the version it made (the next feed reports it) instead of meeting it as a conflict."""
    for link_id, groups in link_groups:
        ContactLink.update(sent=json.dumps({g: list(v) for g, v in groups.items()}, ensure_ascii=False)).where(
            ContactLink.id == link_id
        ).execute()


def _landed(link: ContactLink, remote: Groups) -> None:
    """An update whose answer was lost, and Exchange's contact read since: if it shows the update
    (a field it changed holds the value it sent; one update writes its groups at once), what it
    sent is agreed. Otherwise (or when only a field the user changed again could tell) the
    agreed values stay, and what differs is merged as usual."""
    sent, agreed = _sent_groups(link.sent), agreed_of(link)
    landed = bool(sent) and all(remote.get(g) == v for g, v in sent.items())
    for group, values in sent.items():
        base, now_there = agreed.get(group), remote.get(group, ())
        if base is None:
            continue
        width = max(len(values), len(base), len(now_there))
        padded = [tuple(v) + ("",) * (width - len(v)) for v in (values, base, now_there)]
        if any(s != b and r == s for s, b, r in zip(*padded)):
            landed = True
    if landed:
        _record_agreed(link, sent)
    link.sent = None
    link.save()


def _state(link: ContactLink) -> ContactLinkState:
    return ContactLinkState(
        id=link.id,
        person_id=link.person_id,
        exchange_id=link.exchange_id,
        change_key=link.change_key,
        origin=Side(link.origin),
        digests={g: getattr(link, f"{g}_digest") for g in GROUPS},
        stopped=link.stopped,
        delete_in_exchange=link.delete_in_exchange,
        agreed=agreed_of(link),
    )


@dataclass(frozen=True)
class ContactsObserved:
    observations: tuple[ContactObservation, ...]
    linked: int
    journal_seq: int
    twins: tuple[str, ...] = ()  # Exchange contacts a create sent again made a second time: to delete
    unbooked: tuple[int, ...] = ()  # auto-synced persons no booking keeps listed: taken off (unlist_unbooked)


def unbooked_auto(context: ContactContext, listed: Mapping[int, ContactSubscription]) -> set[int]:
    """The persons on the list by auto sync (added for a booking) whom no booking keeps there: none
    in an area the user syncs with auto sync contacts, in the sync window (a day's margin either
    side, as the club's wall time is stored). Persons staff added (person, exchange) stay."""
    autos = sorted(person_id for person_id, entry in listed.items() if entry.source == "auto")
    if not autos:
        return set()
    areas = [
        row.area_id
        for row in CalendarSubscription.select(CalendarSubscription.area).where(
            (CalendarSubscription.user == context.user_id) & CalendarSubscription.auto_sync_contacts
        )
    ]
    today = now().replace(tzinfo=None)
    first = today - dt.timedelta(days=context.window_days[0] + 1)
    last = today + dt.timedelta(days=context.window_days[1] + 1)
    kept: set[int] = set()
    for start in range(0, len(autos), 500) if areas else ():
        rows: Any = (
            Booking.select(Booking.person)
            .join(Appointment)
            .where(
                Booking.person.in_(autos[start : start + 500])
                & Appointment.area.in_(areas)
                & (Appointment.end >= first)
                & (Appointment.start <= last)
            )
            .tuples()
        )
        kept |= {person_id for (person_id,) in rows}
    return set(autos) - kept


def unlist_unbooked(context: ContactContext, person_ids: Sequence[int]) -> None:
    """Auto-synced persons no booking keeps (the guard let it go on): off the list, and the
    contacts the sync made for them marked to delete (one the user had, adopted, stays theirs)."""
    ids = list(person_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        ContactSubscription.delete().where(
            (ContactSubscription.user == context.user_id)
            & (ContactSubscription.source == "auto")
            & ContactSubscription.person.in_(chunk)
        ).execute()
        ContactLink.update(delete_in_exchange=True).where(
            (ContactLink.user == context.user_id)
            & ContactLink.person_id.in_(chunk)
            & (ContactLink.origin == Side.PCCADDIE.value)
        ).execute()


def _twin(link: ContactLink, item: ContactEntry) -> bool:
    """Whether an Exchange contact carrying this link's external id, and not the linked one, is
    what one of its creates sent (a create that landed late, after it was sent again); a copy a
    user made in Outlook differs from them, and is left alone."""
    return link.creates_sent > 1 and _matches_a_create(link, item)


def _matches_a_create(link: ContactLink, item: ContactEntry) -> bool:
    groups = entry_groups(item)
    return any(all(groups.get(g) == tuple(v) for g, v in sent.items()) for sent in _creates_of(link) if sent)


def _choose_landed(
    context: ContactContext,
    links: Sequence[ContactLink],
    remote_changes: Sequence[Change],
    by_remote: dict[str, ContactLink],
) -> None:
    """A create whose answer was lost, sent more than once, may have landed more than once, and
    the lookup by external id answers one of them. Of those the feed reports, the one a user
    edited since (if one alone was) is the contact; else the one linked; the others are twins."""
    pending = {link_id for link_id, _ in context.pending}
    for link in links:
        if link.id not in pending:
            continue
        carriers = [
            (c.id, item)
            for c in remote_changes
            if (item := contact_entry(c)) is not None
            and c.kind != "delete"
            and item.external_id == link.external_id
            and by_remote.get(c.id) in (None, link)
        ]
        if len(carriers) < 2 and (not carriers or link.exchange_id == carriers[0][0]):
            continue
        edited = [item_id for item_id, item in carriers if not _matches_a_create(link, item)]
        ids = [item_id for item_id, _ in carriers]
        chosen = edited[0] if len(edited) == 1 else str(link.exchange_id) if link.exchange_id in ids else ids[0]
        if chosen != link.exchange_id:
            by_remote.pop(link.exchange_id or "", None)
            link.creates_sent = max(link.creates_sent, 2)  # the one linked before is a twin
            _create_landed(link, chosen, dict(carriers)[chosen])
            by_remote[chosen] = link


def observe_contacts(
    context: ContactContext, remote_changes: Sequence[Change], adopted: Mapping[str, ContactEntry]
) -> ContactsObserved:
    every = list(ContactLink.select().where(ContactLink.user == context.user_id))
    links = [link for link in every if not is_tombstone(link)]
    listed = {
        row.person_id: row for row in ContactSubscription.select().where(ContactSubscription.user == context.user_id)
    }
    unbooked = unbooked_auto(context, listed)
    listed = {person_id: entry for person_id, entry in listed.items() if person_id not in unbooked}
    by_remote = {link.exchange_id: link for link in links if link.exchange_id}
    by_person = {link.person_id: link for link in links if link.person_id is not None}
    by_external = {link.external_id: link for link in every}
    remote: dict[int, tuple[Groups | None, str | None]] = {}
    remote_modified: dict[int, dt.datetime | None] = {}
    twins: list[str] = []
    _choose_landed(context, links, remote_changes, by_remote)
    for change in remote_changes:
        link = by_remote.get(change.id)
        item = contact_entry(change)
        if link is None and item:
            holder = by_external.get(item.external_id or "")
            if holder is not None and holder.exchange_id is None and holder.pending_create:
                _create_landed(holder, change.id, item)  # the create whose answer was lost: it landed
                by_remote[change.id] = link = holder
            elif holder is not None and change.id != holder.exchange_id and _twin(holder, item):
                twins.append(change.id)
                continue
            elif holder is not None and is_tombstone(holder):
                continue  # the contact a buried link had: the user's
        if link is None:
            continue  # a contact not on the user's list: never touched
        remote[link.id] = (
            entry_groups(item) if change.kind != "delete" and item else None,
            item.change_key if item else None,
        )
        remote_modified[link.id] = utc(item.last_modified if item else None)
        landed = remote[link.id][0]
        if link.sent and landed is not None:
            _landed(link, landed)

    latest = journal.latest_seq()
    if context.initial_done and not context.refresh:
        changed_people: set[int] = set()
        seq = context.journal_seq
        while page := journal.changes_since(seq, limit=5000):
            changed_people |= {c.person_id for c in page if c.table == "person" and c.person_id is not None}
            seq = page[-1].seq
        latest = max(latest, seq)
        # a contact read is merged with the person as it is (and the base, if only digests were kept)
        changed_people |= {link.person_id for link in links if link.id in remote and link.person_id is not None}
    else:
        changed_people = set(listed) | {link.person_id for link in links if link.person_id is not None}
    wanted = sorted(changed_people | set(listed))
    people = {
        p.id: p
        for chunk in range(0, len(wanted), 500)
        for p in Person.select().where(Person.id.in_(wanted[chunk : chunk + 500]))
    }

    observations: list[ContactObservation] = []
    for link in links:
        person = people.get(link.person_id) if link.person_id is not None else None
        if link.person_id in changed_people:
            local: Any = person_groups(person) if person is not None else None  # None: deleted
        else:
            local = UNCHANGED
        remote_groups, change_key = remote.get(link.id, (UNCHANGED, None))
        if link.pending_create and link.exchange_id is None:
            # its create is owed (Exchange was asked for it by external id before we came here)
            if (
                person is None
                and Person.get_or_none(Person.id == link.person_id) is None
                or (link.person_id not in listed)
            ):
                _bury(link)  # nothing to make any more
            elif not link.stopped:
                person = person or Person.get_by_id(link.person_id)
                observations.append(
                    ContactObservation(
                        None, person_groups(person), UNCHANGED, on_list=True, source="person", person_id=link.person_id
                    )
                )
            continue
        link_state = _state(link)
        if link.person_id in unbooked and link.origin == Side.PCCADDIE.value:
            link_state = dataclasses.replace(link_state, delete_in_exchange=True)  # the contact the sync made goes
        observations.append(
            ContactObservation(
                link_state,
                local,
                remote_groups,
                on_list=link.person_id in listed,
                remote_change_key=change_key,
                local_modified=_modified(person),
                remote_modified=remote_modified.get(link.id),
            )
        )
    for person_id, entry in listed.items():
        if person_id in by_person or person_id not in people:
            continue
        if entry.source == "exchange" and entry.exchange_id:
            item = adopted.get(entry.exchange_id)
            if item is None:
                continue  # not found in Exchange (any more): nothing to link yet
            observations.append(
                ContactObservation(
                    None,
                    person_groups(people[person_id]),
                    entry_groups(item),
                    source="exchange",
                    remote_change_key=item.change_key,
                    person_id=person_id,
                    exchange_id=entry.exchange_id,
                    local_modified=_modified(people[person_id]),
                    remote_modified=utc(item.last_modified),
                )
            )
        else:
            observations.append(
                ContactObservation(
                    None,
                    person_groups(people[person_id]),
                    UNCHANGED,
                    source=entry.source,
                    person_id=person_id,
                    local_modified=_modified(people[person_id]),  # for newest-wins, should its contact exist
                )
            )
    return ContactsObserved(tuple(observations), len(links), latest, tuple(twins), tuple(sorted(unbooked)))


# -- recording -----------------------------------------------------------------------------------


def _digest_columns(digests: Mapping[str, str]) -> dict[str, str]:
    return {f"{group}_digest": value for group, value in digests.items()}


def apply_local(context: ContactContext, observation: ContactObservation, decision: ContactDecision) -> list[str]:
    """Everything a decision writes into PC CADDIE (and the link), in the database thread.
    Returns the groups in which the person had changed since it was read (another mailbox's
    cycle, a user) and that change won: Exchange gets it with the next cycle."""
    link = observation.link
    if decision.action in ("unlink", "unlist"):
        assert link is not None
        row = ContactLink.get_or_none(ContactLink.id == link.id)
        if row is not None:
            _bury(row)
        if decision.action == "unlist" and link.person_id is not None:  # deleted in Exchange: off the list
            ContactSubscription.delete().where(
                (ContactSubscription.user == context.user_id) & (ContactSubscription.person == link.person_id)
            ).execute()
        return []
    person_id = observation.person_id if link is None else link.person_id
    conflicts = list(decision.conflicts)
    kept: list[str] = []
    if decision.to_pccaddie and person_id is not None:
        person = Person.get_or_none(Person.id == person_id)
        if person is not None:
            read = observation.local if isinstance(observation.local, dict) else None
            values, lost = _fields_to_write(context, person, read, decision)
            for group, loser in lost:
                conflicts.append((group, Side.PCCADDIE, loser))
                kept.append(group)
            if values:
                Person.update(modified=now(), **values).where(Person.id == person_id).execute()
    pending_exchange = set(decision.to_exchange)
    if decision.action == "adopt":
        made = ContactLink(
            user=context.user_id,
            person_id=person_id,
            exchange_id=observation.exchange_id,
            change_key=decision.change_key,
            origin=(Side.PCCADDIE if observation.made_by_sync else Side.EXCHANGE).value,
            updated=now(),
            external_id=external_id_for(context.user_id, person_id, uuid.uuid4().hex),
        )
        _record_agreed(made, {g: v for g, v in decision.agreed.items() if g not in pending_exchange})
        made.save()
    elif decision.action in ("update", "none") and link is not None:
        row = ContactLink.get_or_none(ContactLink.id == link.id)
        if row is not None:
            agreed = {g: v for g, v in decision.agreed.items() if g not in pending_exchange}
            _record_agreed(row, agreed)
            if decision.change_key:  # the Exchange version this decision accounted for
                row.change_key = decision.change_key
            if agreed or decision.change_key:
                row.updated = now()
                row.save()
    for group, winner, lost_values in conflicts:
        record_conflict(
            context, person_id, link.exchange_id if link else observation.exchange_id, group, winner, lost_values
        )
    return kept


def _fields_to_write(
    context: ContactContext, person: Person, read: Groups | None, decision: ContactDecision
) -> tuple[dict[str, Any], list[tuple[str, Values]]]:
    """The person's columns to write, field by field against the person as it is now: a field the
    decision leaves as it was read is not written; one changed since it was read (by another
    mailbox's cycle or a user) meets this mailbox's value as a conflict, PC CADDIE's current value
    winning unless the policy is exchange-wins. Returns (columns, [(group, losing values)])."""
    now_groups = person_groups(person)
    columns: dict[str, Any] = {}
    lost: list[tuple[str, tuple[str, ...]]] = []
    for group, values in decision.to_pccaddie.items():
        current = now_groups[group]
        was = read[group] if read is not None else current
        if group == "email" or current == was:
            if current != was and context.policy is not Policy.EXCHANGE_WINS:
                lost.append((group, values))
                continue
            columns.update(person_values(group, values))
            continue
        width = max(len(values), len(current), len(was))
        new, cur, old = (tuple(v) + ("",) * (width - len(v)) for v in (values, current, was))
        final, clash = [], False
        for mine, theirs, before in zip(new, cur, old):
            if theirs == before or theirs == mine or context.policy is Policy.EXCHANGE_WINS:
                final.append(mine)
            else:
                final.append(theirs)
                clash = clash or mine != before
        if clash:
            lost.append((group, values))
        columns.update(person_values(group, tuple(final)))
    for column, value in list(columns.items()):  # a text Exchange holds shortened stays whole here
        whole = str(getattr(person, column, "") or "").strip()
        if whole != value and shorten(whole) == value:
            del columns[column]
    return columns, lost


def overlong_fields(person_ids: Sequence[int]) -> dict[int, list[str]]:
    """Of these persons, those with a text over Exchange's limit: the columns shortened there."""
    found: dict[int, list[str]] = {}
    for person in Person.select().where(Person.id.in_(list(person_ids))):
        if columns := overlong(person):
            found[person.id] = columns
    return found


def record_conflict(
    context: ContactContext,
    person_id: int | None,
    exchange_id: str | None,
    group: str,
    winner: Side,
    lost_values: tuple[str, ...],
) -> None:
    lost: dict[str, Any] = {
        "side": winner.other.value,
        "title": f"{group} of person {person_id}",
        "start": "",
        "end": "",
        group: list(lost_values),
    }
    SyncConflict.create(
        user=context.user_id,
        kind="contacts",
        subscription=None,
        appointment_id=person_id,
        exchange_id=exchange_id,
        winner=winner.value,
        loser_content=json.dumps(lost, ensure_ascii=False),
        created=now(),
    )


def without_link(context: ContactContext, person_ids: Sequence[int | None]) -> list[int]:
    """Of these persons, those this user has no contact link for at all (not even a create owed)."""
    wanted = [p for p in person_ids if p is not None]
    linked = {
        row.person_id
        for start in range(0, len(wanted), 500)
        for row in ContactLink.select(ContactLink.person_id).where(
            (ContactLink.user == context.user_id) & ContactLink.person_id.in_(wanted[start : start + 500])
        )
    }
    return [p for p in wanted if p not in linked]


def choose_existing(
    context: ContactContext, wanted: Sequence[tuple[int, Groups, Sequence[ContactEntry]]]
) -> dict[int, Existing]:
    """Per person about to be made in Exchange, the existing contact that is that person, if one
    is (core.contact_decide.existing_contact), from the contacts the search found. Contacts other
    links hold, or picked with +ADD, are not taken; nor one a create still on its way may make."""
    taken: set[str] = set()
    for link in ContactLink.select().where(ContactLink.user == context.user_id):
        if is_tombstone(link):
            if link.exchange_id is None:
                taken.add(link.external_id)  # a create of it landing late makes a twin, deleted
            continue
        taken |= {v for v in (link.exchange_id, link.external_id) if v}
    taken |= {
        str(row.exchange_id)
        for row in ContactSubscription.select().where(
            (ContactSubscription.user == context.user_id) & ContactSubscription.exchange_id.is_null(False)
        )
    }
    persons_by_name = functools.cache(PersonNames)  # read once, if a contact needs them at all

    def only_person(contact: ContactEntry) -> int | None:
        return only_match(contact, persons_by_name())

    return {
        person_id: existing_contact(context.user_id, person_id, local, found, taken, only_person)
        for person_id, local, found in wanted
    }


def prepare_creates(context: ContactContext, items: Sequence[MakeInExchange]) -> list[tuple[int, CreateRequest]]:
    """Record each create (its external id, what it sends) before it is sent: one whose answer is
    lost is found by that id, and agreed on what it sent; one sent again and landing late too is
    told from a user's copy by what it sent."""
    prepared = []
    for item in items:
        observation, decision = item.observation, item.decision
        row = ContactLink.get_or_none(
            (ContactLink.user == context.user_id) & (ContactLink.person_id == observation.person_id)
        )
        if row is None:
            row = ContactLink.create(
                user=context.user_id,
                person_id=observation.person_id,
                origin=Side.PCCADDIE.value,
                external_id=external_id_for(context.user_id, observation.person_id, uuid.uuid4().hex),
                pending_create=True,
                updated=now(),
            )
        for column, value in _digest_columns({g: UNKNOWN for g in GROUPS}).items():
            setattr(row, column, value)
        row.agreed = None
        row.creates_sent = row.creates_sent + 1 if row.pending_create else 1
        sent = [
            *([{g: list(v) for g, v in c.items()} for c in _creates_of(row)] if row.creates_sent > 1 else []),
            {g: list(v) for g, v in decision.to_exchange.items()},
        ]
        row.creates = json.dumps({"last": now().isoformat(), "sent": sent[-5:]}, ensure_ascii=False)
        row.pending_create, row.updated = True, now()
        row.save()
        entry = contact_entry_of(decision.to_exchange, row.external_id)
        prepared.append((row.id, CreateRequest(entry, ("external_id", *entry_fields(decision.to_exchange)))))
    return prepared


def record_results(
    context: ContactContext,
    outcomes: Sequence[tuple[int, str, ItemResult, Mapping[str, tuple[str, ...]]]],
) -> list[tuple[str, bool]]:
    """(link id, action, result, groups agreed on success) per item; (error, stopped) per failure."""
    failures = []
    for link_id, action, result, agreed in outcomes:
        row = ContactLink.get_or_none(ContactLink.id == link_id)
        if row is None:
            continue
        code, message = (result.error.code, result.error.message) if result.error is not None else (None, "")
        row.sent = None  # answered (done or not): nothing of it is unknown any more
        if result.ok or (action == "delete" and code == "not_found"):
            if action == "delete":
                row.exchange_id = None  # gone from Exchange
                _bury(row)
                continue
            row.exchange_id = result.id or row.exchange_id
            row.change_key = result.change_key or row.change_key
            row.pending_create, row.attempts, row.last_error = False, 0, None
            if action == "create":
                row.verify = True  # a user may delete it before the next read, and Exchange then tells nothing
            _record_agreed(row, agreed)
        elif code == "busy":  # an earlier create of it is still running in the gateway
            failures.append((f"{action} in Exchange: busy", False))
        elif action == "update" and code == "not_found":
            # deleted in Exchange since it was read: no attempt counted; the link is looked up next
            # cycle, which finds the deletion and takes the person off the list (docs/sync.md)
            row.verify = True
            failures.append((f"update in Exchange: not_found: {message}", False))
        else:
            if action == "update" and code == "conflict":
                row.verify = True  # Exchange holds a version this cycle did not see: read it next cycle
            row.attempts += 1
            row.last_error = f"{action} in Exchange: {code or 'unknown'}: {message}"
            row.stopped = row.attempts >= context.max_attempts
            failures.append((row.last_error, row.stopped))
        row.updated = now()
        row.save()
    return failures


def finish(
    context: ContactContext,
    cycle_started: dt.datetime,
    sync_state: str | None,
    journal_seq: int | None,
    statistics: Mapping[str, Mapping[str, int]],
    report: Sequence[tuple[str, str, str, str, str]],
    error: str | None,
    verified: Sequence[str] = (),
) -> None:
    """Record the cycle. Only a cycle whose Exchange position is saved has told what it read: the
    links it verified are sure from then on, and its modes are the ones synced. A cycle that
    changed nothing writes nothing."""
    same_position = sync_state in (None, context.sync_state) and journal_seq in (None, context.journal_seq)
    unchanged = same_position and context.initial_done and not context.refresh and not verified
    if unchanged and error is None and not statistics_any(statistics) and not report:
        return
    state = ContactSyncState.get_or_none(ContactSyncState.user == context.user_id)
    if state is None:
        return  # its user removed while the cycle ran: nothing left to record
    if sync_state is not None:
        state.sync_state = sync_state
        clear_verified(context, verified)
    if sync_state is not None and journal_seq is not None:
        state.modes = json.dumps(modes_json(context.modes))
    if journal_seq is not None:
        state.journal_seq, state.initial_done = journal_seq, True
    state.last_cycle, state.last_error = cycle_started, error
    state.save()
    for direction, counts in statistics.items():
        if any(counts.values()):
            SyncStatistic.create(
                user=context.user_id, kind="contacts", cycle_started=cycle_started, direction=direction, **counts
            )
    for action, side, item, title, detail in report:
        SyncReportLine.create(
            user=context.user_id,
            kind="contacts",
            cycle_started=cycle_started,
            action=action,
            side=side,
            item=item,
            title=title,
            detail=detail,
        )


def pause(context: ContactContext, reason: str) -> None:
    """The mass-unlisting guard stopped the list: nothing syncs until `contact resume`."""
    ContactSyncState.update(paused_reason=reason).where(ContactSyncState.user == context.user_id).execute()
