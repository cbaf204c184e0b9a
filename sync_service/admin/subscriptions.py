"""What each user syncs: calendars (timetable areas), contacts (persons), exclusion filters."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from ..core.model import Policy
from ..core.permissions import describe_area_refusal, may_sync_area, may_sync_contacts
from ..filters import ExclusionFilter as Filter
from ..filters import FilterError
from ..store.calendar_options import forget_calendar_exchange_ids, read_afresh, recheck_private_imports
from ..store.models import (
    Appointment,
    Booking,
    CalendarSubscription,
    ContactLink,
    ContactSubscription,
    ContactSyncState,
    ExclusionFilter,
    Person,
    TimetableArea,
)
from ..store.read_model import subject_for
from . import AdminError
from .lookups import area_by_name, person_by_id, user_by_login

MAIN_CALENDAR = ""


@dataclass(frozen=True)
class CalendarOptions:
    folder_name: str = MAIN_CALENDAR
    read_only: bool = False
    hide_private: bool = False
    disable_reminders: bool = False
    auto_sync_contacts: bool = False
    policy: str = "pccaddie-wins"


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def add_calendar(login: str, area_name: str, options: CalendarOptions) -> CalendarSubscription:
    user = user_by_login(login)
    area = area_by_name(area_name)
    subject = subject_for(user)
    if not may_sync_area(subject, area.id):
        raise AdminError(
            f"{login} may not sync the area {area.name!r}: the user {describe_area_refusal(subject)} "
            "(see `sync-service user permissions`)"
        )
    if CalendarSubscription.get_or_none(user=user, area=area) is not None:
        raise AdminError(f"{login} syncs {area.name!r} already; change its options with `calendar set`")
    return CalendarSubscription.create(
        user=user,
        area=area,
        folder_name=options.folder_name.strip(),
        read_only=options.read_only,
        hide_private=options.hide_private,
        disable_reminders=options.disable_reminders,
        auto_sync_contacts=options.auto_sync_contacts,
        policy=options.policy,
        created=_now(),
    )


def _calendar(login: str, area_name: str) -> CalendarSubscription:
    user = user_by_login(login)
    area = area_by_name(area_name)
    subscription = CalendarSubscription.get_or_none(user=user, area=area)
    if subscription is None:
        raise AdminError(f"{login} does not sync {area.name!r}")
    return subscription


def list_calendars(login: str) -> list[tuple[CalendarSubscription, str]]:
    user = user_by_login(login)
    query = (
        CalendarSubscription.select(CalendarSubscription, TimetableArea.name)
        .join(TimetableArea)
        .where(CalendarSubscription.user == user)
        .order_by(TimetableArea.name)
    )
    return [(subscription, subscription.area.name) for subscription in query]


def calendar_mates(subscription: CalendarSubscription) -> list[CalendarSubscription]:
    """Every subscription of the user on the same Exchange calendar, this one included, by id."""
    return list(
        CalendarSubscription.select()
        .where(
            (CalendarSubscription.user == subscription.user_id)
            & (CalendarSubscription.folder_name == subscription.folder_name)
        )
        .order_by(CalendarSubscription.id)
    )


def import_area_of(subscription: CalendarSubscription, mates: list[CalendarSubscription]) -> bool:
    """Whether items made in Outlook without an area's category go into this subscription's area."""
    marked = [m for m in mates if m.takes_imports]
    return (marked[0] if marked else mates[0]).id == subscription.id


def set_import_area(login: str, area_name: str) -> list[str]:
    """Items made in Outlook (without an area's category) in this calendar go into AREA from now
    on; returns the other areas sharing the calendar."""
    subscription = _calendar(login, area_name)
    mates = calendar_mates(subscription)
    CalendarSubscription.update(takes_imports=False).where(CalendarSubscription.id.in_([m.id for m in mates])).execute()
    CalendarSubscription.update(takes_imports=True).where(CalendarSubscription.id == subscription.id).execute()
    return [m.area.name for m in mates if m.id != subscription.id]


@dataclass(frozen=True)
class CalendarChange:
    """What `calendar set` asks to change; None leaves an option as it is."""

    folder_name: str | None = None
    read_only: bool | None = None
    hide_private: bool | None = None
    disable_reminders: bool | None = None
    auto_sync_contacts: bool | None = None
    policy: str | None = None


@dataclass(frozen=True)
class CalendarChanged:
    """What `calendar set` changed (option names, in the order of CalendarChange) and what follows
    from it, one sentence each, for the person at the keyboard."""

    changed: tuple[str, ...]
    consequences: tuple[str, ...]


def _calendar_name(folder_name: str) -> str:
    return f"the calendar {folder_name!r}" if folder_name else "the main calendar"


def set_calendar(login: str, area_name: str, change: CalendarChange) -> CalendarChanged:
    """Change a calendar's options in place, keeping its links, conflicts and statistics, and set
    up what the next cycle must do so that the data stays right (store/calendar_options.py):

    - another folder: the Exchange ids are forgotten; the next cycle looks each item up by our
      external id in the new calendar and makes it there if it is not found; the items in the
      former calendar stay there, no longer synchronised;
    - read only off, or hide private off: the calendar is read again in full, so that what was
      skipped under the old option (made or changed in Outlook while read only; private items)
      comes into PC CADDIE;
    - hide private on: the private items that came from Exchange leave PC CADDIE (they stay in
      Exchange), as one made private in Outlook does;
    - read only on, reminders, the policy: from the next item written or conflict met on;
    - auto sync contacts on: the persons booked into the area join the contact list now (as on a
      first cycle); off: they leave it when no booking keeps them (docs/sync.md).
    """
    subscription = _calendar(login, area_name)
    if change.policy is not None and change.policy not in {p.value for p in Policy}:
        raise AdminError(f"unknown policy {change.policy!r} (one of {', '.join(p.value for p in Policy)})")
    wanted = dataclasses.replace(change, folder_name=None if change.folder_name is None else change.folder_name.strip())
    changed = tuple(
        f.name
        for f in dataclasses.fields(CalendarChange)
        if getattr(wanted, f.name) is not None and getattr(wanted, f.name) != getattr(subscription, f.name)
    )
    said: list[str] = []
    area, former_folder = subscription.area.name, subscription.folder_name
    for name in changed:
        setattr(subscription, name, getattr(wanted, name))
    if "folder_name" in changed:
        subscription.takes_imports = False  # the calendar it joins keeps its import area
    subscription.save()
    fresh = False
    if "folder_name" in changed:
        moved = forget_calendar_exchange_ids(subscription.id)
        said.append(
            f"{area} now syncs with {_calendar_name(subscription.folder_name)} instead of "
            f"{_calendar_name(former_folder)}: the next cycle makes its {moved} item(s) there (an item "
            "found there by our external id is taken over, none is made twice); the items in "
            f"{_calendar_name(former_folder)} stay in Exchange and are no longer synchronised "
            "(delete them in Outlook if they are not wanted)"
        )
    if "read_only" in changed:
        if subscription.read_only:
            said.append(
                "read only: from the next cycle on, changes made in Exchange are not taken over "
                "(what came from Exchange stays in PC CADDIE)"
            )
        else:
            fresh = "folder_name" not in changed
            said.append(
                "two-way: the next cycle reads the calendar again in full, and what was made or changed "
                "in Outlook while it was read only comes into PC CADDIE (an item deleted in Outlook "
                "meanwhile is not deleted in PC CADDIE)"
            )
    if "hide_private" in changed:
        if subscription.hide_private:
            leaving = recheck_private_imports(subscription.id) if "folder_name" not in changed else 0
            said.append(
                "private Exchange appointments are no longer imported"
                + (
                    f"; the {leaving} private one(s) that came from Exchange leave PC CADDIE at the next "
                    "cycle (they stay in Exchange)"
                    if leaving
                    else ""
                )
            )
        else:
            fresh = fresh or "folder_name" not in changed
            said.append(
                "private Exchange appointments are imported from the next cycle on, "
                "which reads the calendar again in full"
            )
    if fresh:
        read_afresh(subscription.id)
    if "disable_reminders" in changed:
        said.append(
            (
                "appointments written to Exchange from now on carry no reminder"
                if subscription.disable_reminders
                else "appointments written to Exchange from now on carry a reminder"
            )
            + "; those already in Exchange keep theirs (a reminder set in Outlook is not overwritten)"
        )
    if "auto_sync_contacts" in changed:
        said.append(_auto_sync_contacts(subscription, login, area))
    if "policy" in changed:
        said.append(f"conflicts met from now on: {subscription.policy} (the losing version is kept: see `conflicts`)")
    return CalendarChanged(changed, tuple(said))


def _auto_sync_contacts(subscription: CalendarSubscription, login: str, area: str) -> str:
    if not subscription.auto_sync_contacts:
        return (
            f"persons booked into {area} no longer join {login}'s contact list; those it put there leave "
            "it when no booking in an auto-sync area keeps them (the contact the sync made for each is "
            "then deleted in Exchange; one the user had stays)"
        )
    if not may_sync_contacts(subject_for(subscription.user)):
        return f"{login} may not sync contacts: no person joins the list until the permissions allow it"
    booked = {
        row.person_id
        for row in Booking.select(Booking.person).join(Appointment).where(Appointment.area == subscription.area_id)
    }
    listed = {
        row.person_id
        for row in ContactSubscription.select(ContactSubscription.person).where(
            ContactSubscription.user == subscription.user_id
        )
    }
    joining = sorted(booked - listed)
    for person_id in joining:
        ContactSubscription.create(user=subscription.user_id, person=person_id, source="auto", created=_now())
    return f"{len(joining)} person(s) booked into {area} joined {login}'s contact list (more join as they are booked)"


def remove_calendar(login: str, area_name: str) -> None:
    _calendar(login, area_name).delete_instance()


def resume_calendar(login: str, area_name: str) -> str | None:
    """Lift a pause; returns the reason it was paused for (None: it was not paused)."""
    subscription = _calendar(login, area_name)
    reason = subscription.paused_reason
    subscription.paused_reason = None
    subscription.save()
    return reason


def add_contact(login: str, person_id: int, source: str = "person") -> ContactSubscription:
    user = user_by_login(login)
    person = person_by_id(person_id)
    if not may_sync_contacts(subject_for(user)):
        raise AdminError(f"{login} may not sync contacts (see `sync-service user permissions --contacts`)")
    if ContactSubscription.get_or_none(user=user, person=person) is not None:
        raise AdminError(f"person {person_id} is on {login}'s contact list already")
    return ContactSubscription.create(user=user, person=person, source=source, created=_now())


def list_contacts(login: str) -> list[tuple[ContactSubscription, Person, ContactLink | None]]:
    user = user_by_login(login)
    query = (
        ContactSubscription.select(ContactSubscription, Person)
        .join(Person)
        .where(ContactSubscription.user == user)
        .order_by(Person.last_name, Person.first_name, Person.id)
    )
    links = {link.person_id: link for link in ContactLink.select().where(ContactLink.user == user)}
    return [(subscription, subscription.person, links.get(subscription.person_id)) for subscription in query]


def set_contact_policy(login: str, policy: str) -> str:
    """Who wins when a field group of a contact changed on both sides; returns the former policy."""
    user = user_by_login(login)
    state, _ = ContactSyncState.get_or_create(user=user)
    former = state.policy
    state.policy = policy
    state.save()
    return former


def contact_policy(login: str) -> str:
    state = ContactSyncState.get_or_none(ContactSyncState.user == user_by_login(login))
    return state.policy if state is not None else "pccaddie-wins"


def remove_contact(login: str, person_id: int, delete_in_exchange: bool = False) -> bool:
    """Take a person off the list. Its Exchange contact stays unless `delete_in_exchange`, which
    the next cycle carries out (only for a contact the sync made, or +ADDed). Returns whether a
    contact in Exchange will be deleted."""
    user = user_by_login(login)
    deleted = (
        ContactSubscription.delete()
        .where((ContactSubscription.user == user) & (ContactSubscription.person == person_id))
        .execute()
    )
    if not deleted:
        raise AdminError(f"person {person_id} is not on {login}'s contact list")
    if not delete_in_exchange:
        # the contact is the user's from now on (as one picked with +ADD), so that deleting the
        # person before the next cycle unlinks it and does not take the contact with it (issue 14)
        ContactLink.update(origin="exchange").where(
            (ContactLink.user == user) & (ContactLink.person_id == person_id)
        ).execute()
        return False
    marked = (
        ContactLink.update(delete_in_exchange=True)
        .where(
            (ContactLink.user == user) & (ContactLink.person_id == person_id) & ContactLink.exchange_id.is_null(False)
        )
        .execute()
    )
    return bool(marked)


def add_filter(login: str, pattern: str) -> str:
    user = user_by_login(login)
    try:
        parsed = Filter.parse(pattern)
    except FilterError as exc:
        raise AdminError(str(exc)) from None
    if ExclusionFilter.get_or_none(user=user, pattern=parsed.pattern) is not None:
        raise AdminError(f"{login} has the filter {parsed.pattern!r} already")
    ExclusionFilter.create(user=user, pattern=parsed.pattern)
    return parsed.pattern


def list_filters(login: str) -> list[str]:
    user = user_by_login(login)
    return [
        row.pattern
        for row in ExclusionFilter.select().where(ExclusionFilter.user == user).order_by(ExclusionFilter.pattern)
    ]


def remove_filter(login: str, pattern: str) -> None:
    user = user_by_login(login)
    deleted = (
        ExclusionFilter.delete()
        .where((ExclusionFilter.user == user) & (ExclusionFilter.pattern == pattern.strip()))
        .execute()
    )
    if not deleted:
        raise AdminError(f"{login} has no filter {pattern.strip()!r}")
