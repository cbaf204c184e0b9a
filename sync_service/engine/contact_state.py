"""The database side of a user's contact sync: what the decisions are made from, and recording
each confirmed result. Runs in the database thread (see database.DbRunner)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..admin.accounts import account_for_gateway
from ..admin.parameters import max_attempts
from ..admin.users import subject_for
from ..permissions import FieldGroup, FieldMode, field_mode, may_sync_contacts
from ..store import journal
from ..store.models import (
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
from ..vault import PasswordVault, VaultError
from .calendar_state import NotSyncing, now
from .contact_decide import UNKNOWN, ContactDecision, ContactLinkState, ContactObservation
from .contacts import GROUPS, NAMES, Groups, digest, entry_groups, entry_values, person_groups, person_values
from .model import UNCHANGED, Policy, Side
from .remote_feed import Known

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

    @property
    def label(self) -> str:
        return f"{self.login}/contacts"


def users_with_contacts() -> list[int]:
    listed = {row.user_id for row in ContactSubscription.select(ContactSubscription.user).distinct()}
    linked = {row.user_id for row in ContactLink.select(ContactLink.user).distinct()}
    return sorted(listed | linked)


def load_contact_context(user_id: int, vault: PasswordVault) -> ContactContext | NotSyncing:
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
    links = list(ContactLink.select().where(ContactLink.user == user))
    linked_exchange = {link.exchange_id for link in links if link.exchange_id}
    to_adopt = tuple(
        entry.exchange_id
        for entry in ContactSubscription.select().where(
            (ContactSubscription.user == user) & (ContactSubscription.source == "exchange")
        )
        if entry.exchange_id and entry.exchange_id not in linked_exchange
        and not any(link.person_id == entry.person_id for link in links)
    )  # fmt: skip
    return ContactContext(
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
        verify=tuple(link.exchange_id for link in links if link.verify and link.exchange_id),
        policy=Policy(state.policy),
    )


def known_items(context: ContactContext, exchange_ids: Sequence[str]) -> dict[str, Known]:
    """The change keys this user's contact links hold for these Exchange contacts."""
    ids, known = sorted(set(exchange_ids)), {}
    for start in range(0, len(ids), 500):
        rows: Any = ContactLink.select(ContactLink.exchange_id, ContactLink.change_key).where(
            (ContactLink.user == context.user_id) & ContactLink.exchange_id.in_(ids[start : start + 500])
        ).tuples()  # fmt: skip
        known.update({exchange_id: Known(change_key) for exchange_id, change_key in rows})
    return known


def clear_verified(context: ContactContext, exchange_ids: Sequence[str]) -> None:
    ids = list(exchange_ids)
    for start in range(0, len(ids), 500):
        ContactLink.update(verify=False).where(
            (ContactLink.user == context.user_id) & ContactLink.exchange_id.in_(ids[start : start + 500])
        ).execute()


def resolve_pending(context: ContactContext, found: Mapping[str, Mapping[str, Any]]) -> None:
    for link_id, external_id in context.pending:
        entry = found.get(external_id)
        if entry is not None:
            ContactLink.update(exchange_id=entry["id"], change_key=entry.get("change_key"), pending_create=False,
                               updated=now()).where(ContactLink.id == link_id).execute()  # fmt: skip


def _utc(text: str | None) -> dt.datetime | None:
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
    """The groups of an update whose answer was lost that Exchange now holds: agreed."""
    try:
        sent = {g: tuple(v) for g, v in json.loads(link.sent or "{}").items()}
    except (TypeError, ValueError):
        sent = {}
    for group, values in sent.items():
        if remote.get(group) == values:
            setattr(link, f"{group}_digest", digest(values))
    link.sent = None
    link.save()


def _state(link: ContactLink) -> ContactLinkState:
    return ContactLinkState(
        id=link.id, person_id=link.person_id, exchange_id=link.exchange_id, change_key=link.change_key,
        origin=Side(link.origin), digests={g: getattr(link, f"{g}_digest") for g in GROUPS}, stopped=link.stopped,
        delete_in_exchange=link.delete_in_exchange,
    )  # fmt: skip


@dataclass(frozen=True)
class ContactsObserved:
    observations: tuple[ContactObservation, ...]
    linked: int
    journal_seq: int


def observe_contacts(context: ContactContext, remote_changes: Sequence[Mapping[str, Any]],
                     adopted: Mapping[str, Mapping[str, Any]]) -> ContactsObserved:  # fmt: skip
    links = list(ContactLink.select().where(ContactLink.user == context.user_id))
    listed = {
        row.person_id: row for row in ContactSubscription.select().where(ContactSubscription.user == context.user_id)
    }
    by_remote = {link.exchange_id: link for link in links if link.exchange_id}
    by_person = {link.person_id: link for link in links if link.person_id is not None}
    remote: dict[int, tuple[Groups | None, str | None]] = {}
    remote_modified: dict[int, dt.datetime | None] = {}
    for change in remote_changes:
        link = by_remote.get(change["id"])
        if link is None:
            continue  # a contact not on the user's list: never touched
        item = change.get("item")
        remote[link.id] = (entry_groups(item) if change["type"] != "delete" and item else None,
                           (item or {}).get("change_key"))  # fmt: skip
        remote_modified[link.id] = _utc((item or {}).get("last_modified"))
        landed = remote[link.id][0]
        if link.sent and landed is not None:
            _landed(link, landed)

    latest = journal.latest_seq()
    if context.initial_done:
        changed_people: set[int] = set()
        seq = context.journal_seq
        while page := journal.changes_since(seq, limit=5000):
            changed_people |= {c.person_id for c in page if c.table == "person" and c.person_id is not None}
            seq = page[-1].seq
        latest = max(latest, seq)
    else:
        changed_people = set(listed) | {link.person_id for link in links if link.person_id is not None}
    wanted = sorted(changed_people | set(listed))
    people = {p.id: p for chunk in range(0, len(wanted), 500)
              for p in Person.select().where(Person.id.in_(wanted[chunk:chunk + 500]))}  # fmt: skip

    observations: list[ContactObservation] = []
    for link in links:
        person = people.get(link.person_id) if link.person_id is not None else None
        if link.person_id in changed_people or not context.initial_done:
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
                ContactLink.delete().where(ContactLink.id == link.id).execute()  # nothing to make any more
            elif not link.stopped:
                person = person or Person.get_by_id(link.person_id)
                observations.append(ContactObservation(None, person_groups(person), UNCHANGED, on_list=True,
                                                       source="person", person_id=link.person_id))  # fmt: skip
            continue
        observations.append(ContactObservation(
            _state(link), local, remote_groups, on_list=link.person_id in listed, remote_change_key=change_key,
            local_modified=_modified(person), remote_modified=remote_modified.get(link.id),
        ))  # fmt: skip
    for person_id, entry in listed.items():
        if person_id in by_person or person_id not in people:
            continue
        if entry.source == "exchange" and entry.exchange_id:
            item = adopted.get(entry.exchange_id)
            if item is None:
                continue  # not found in Exchange (any more): nothing to link yet
            observations.append(ContactObservation(None, person_groups(people[person_id]), entry_groups(item),
                                                   source="exchange", remote_change_key=item.get("change_key"),
                                                   person_id=person_id, exchange_id=entry.exchange_id))  # fmt: skip
        else:
            observations.append(ContactObservation(None, person_groups(people[person_id]), UNCHANGED,
                                                   source=entry.source, person_id=person_id))  # fmt: skip
    return ContactsObserved(tuple(observations), len(links), latest)


# -- recording -----------------------------------------------------------------------------------


def _digest_columns(digests: Mapping[str, str]) -> dict[str, str]:
    return {f"{group}_digest": value for group, value in digests.items()}


def apply_local(context: ContactContext, observation: ContactObservation, decision: ContactDecision) -> None:
    """Everything a decision writes into PC CADDIE (and the link), in the database thread."""
    link = observation.link
    if decision.action in ("unlink", "unlist"):
        assert link is not None
        ContactLink.delete().where(ContactLink.id == link.id).execute()
        if decision.action == "unlist" and link.person_id is not None:  # deleted in Exchange: off the list
            ContactSubscription.delete().where((ContactSubscription.user == context.user_id)
                                               & (ContactSubscription.person == link.person_id)).execute()  # fmt: skip
        return
    person_id = observation.person_id if link is None else link.person_id
    if decision.to_pccaddie and person_id is not None:
        values: dict[str, Any] = {}
        for group, group_values in decision.to_pccaddie.items():
            values.update(person_values(group, group_values))
        Person.update(modified=now(), **values).where(Person.id == person_id).execute()
    if decision.action == "adopt":
        ContactLink.create(user=context.user_id, person_id=person_id, exchange_id=observation.exchange_id,
                           change_key=decision.change_key, origin=Side.EXCHANGE.value,
                           external_id=f"pccaddie-contact:{context.user_id}:{uuid.uuid4().hex}", updated=now(),
                           **_digest_columns(decision.digests))  # fmt: skip
    elif decision.action in ("update", "none") and link is not None:
        pending_exchange = set(decision.to_exchange)
        columns: dict[str, Any] = _digest_columns(
            {g: d for g, d in decision.digests.items() if g not in pending_exchange}
        )
        if decision.change_key:  # the Exchange version this decision accounted for
            columns["change_key"] = decision.change_key
        if columns:
            ContactLink.update(updated=now(), **columns).where(ContactLink.id == link.id).execute()
    for group, winner, lost_values in decision.conflicts:
        lost: dict[str, Any] = {"side": winner.other.value, "title": f"{group} of person {person_id}",
                                "start": "", "end": "", group: list(lost_values)}  # fmt: skip
        SyncConflict.create(user=context.user_id, kind="contacts", subscription=None, appointment_id=person_id,
                            exchange_id=link.exchange_id if link else None, winner=winner.value,
                            loser_content=json.dumps(lost, ensure_ascii=False), created=now())  # fmt: skip


def prepare_creates(
    context: ContactContext, items: Sequence[tuple[ContactObservation, ContactDecision]]
) -> list[tuple[int, dict[str, Any]]]:
    prepared = []
    for observation, decision in items:
        row = ContactLink.get_or_none(
            (ContactLink.user == context.user_id) & (ContactLink.person_id == observation.person_id)
        )
        if row is None:
            row = ContactLink.create(user=context.user_id, person_id=observation.person_id, origin=Side.PCCADDIE.value,
                                     external_id=f"pccaddie-contact:{context.user_id}:{uuid.uuid4().hex}",
                                     pending_create=True, updated=now())  # fmt: skip
        for column, value in _digest_columns({g: UNKNOWN for g in GROUPS}).items():
            setattr(row, column, value)
        row.pending_create, row.updated = True, now()
        row.save()
        entry: dict[str, Any] = {"external_id": row.external_id}
        for group, values in decision.to_exchange.items():
            entry.update(entry_values(group, values))
        prepared.append((row.id, entry))
    return prepared


def record_results(
    context: ContactContext, outcomes: Sequence[tuple[int, str, Mapping[str, Any], Mapping[str, str]]]
) -> list[tuple[str, bool]]:
    """(link id, action, result, digests to record on success) per item; (error, stopped) per failure."""
    failures = []
    for link_id, action, result, digests in outcomes:
        row = ContactLink.get_or_none(ContactLink.id == link_id)
        if row is None:
            continue
        error = result.get("error") or {}
        row.sent = None  # answered (done or not): nothing of it is unknown any more
        if result.get("ok") or (action == "delete" and error.get("code") == "not_found"):
            if action == "delete":
                row.delete_instance()
                continue
            row.exchange_id = result.get("id") or row.exchange_id
            row.change_key = result.get("change_key") or row.change_key
            row.pending_create, row.attempts, row.last_error = False, 0, None
            if action == "create":
                row.verify = True  # a user may delete it before the next read, and Exchange then tells nothing
            for column, value in _digest_columns(digests).items():
                setattr(row, column, value)
        elif error.get("code") == "busy":  # an earlier create of it is still running in the gateway
            failures.append((f"{action} in Exchange: busy", False))
        else:
            if action == "update" and error.get("code") == "conflict":
                row.verify = True  # Exchange holds a version this cycle did not see: read it next cycle
            row.attempts += 1
            row.last_error = f"{action} in Exchange: {error.get('code', 'unknown')}: {error.get('message', '')}"
            row.stopped = row.attempts >= context.max_attempts
            failures.append((row.last_error, row.stopped))
        row.updated = now()
        row.save()
    return failures


def finish(context: ContactContext, cycle_started: dt.datetime, sync_state: str | None, journal_seq: int | None,
           statistics: Mapping[str, Mapping[str, int]], report: Sequence[tuple[str, str, str, str, str]],
           error: str | None, paused: str | None = None) -> None:  # fmt: skip
    state = ContactSyncState.get_by_id(context.user_id)
    if sync_state is not None:
        state.sync_state = sync_state
    if journal_seq is not None:
        state.journal_seq, state.initial_done = journal_seq, True
    state.last_cycle, state.last_error = cycle_started, error
    if paused:
        state.paused_reason = paused
    state.save()
    for direction, counts in statistics.items():
        if any(counts.values()):
            SyncStatistic.create(user=context.user_id, kind="contacts", cycle_started=cycle_started,
                                 direction=direction, **counts)  # fmt: skip
    for action, side, item, title, detail in report:
        SyncReportLine.create(user=context.user_id, kind="contacts", cycle_started=cycle_started, action=action,
                              side=side, item=item, title=title, detail=detail)  # fmt: skip
