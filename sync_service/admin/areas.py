"""Timetable areas and the users who own them."""

from __future__ import annotations

from typing import Iterable, cast

from ..store.models import (
    Appointment,
    AppointmentLink,
    AreaOwner,
    CalendarSubscription,
    GroupListedArea,
    TimetableArea,
    User,
    UserListedArea,
)
from . import AdminError
from .lookups import area_by_name, user_by_login


def add_area(name: str, owners: tuple[str, ...] = ()) -> TimetableArea:
    name = name.strip()
    if not name:
        raise AdminError("a timetable area needs a name")
    if TimetableArea.get_or_none(TimetableArea.name == name) is not None:
        raise AdminError(f"the timetable area {name!r} exists already")
    users = [user_by_login(login) for login in owners]
    area = TimetableArea.create(name=name)
    for user in users:
        AreaOwner.insert(area=area, user=user).on_conflict_ignore().execute()
    return area


def list_areas() -> list[tuple[TimetableArea, list[str]]]:
    owners: dict[int, list[str]] = {}
    query = AreaOwner.select(AreaOwner.area, User.login).join(User).order_by(User.login).tuples()
    for area_id, login in cast(Iterable[tuple[int, str]], query):  # .tuples(): the stubs say models
        owners.setdefault(area_id, []).append(login)
    return [(area, owners.get(area.id, [])) for area in TimetableArea.select().order_by(TimetableArea.name)]


def remove_area(name: str, force: bool = False) -> tuple[str, ...]:
    """Remove a timetable area. Refused while it holds appointments (they are PC CADDIE's: move
    or delete them first; --force does not delete them), and while users sync it, unless `force`:
    then their calendars of it go (links, conflicts, statistics; nothing is deleted in Exchange).
    Its owners and the 'listed' areas naming it go with it. Returns what was done, one sentence each."""
    area = area_by_name(name)
    appointments = Appointment.select().where(Appointment.area == area).count()
    if appointments:
        raise AdminError(
            f"the area {area.name!r} holds {appointments} appointment(s): move or delete them first "
            "(an area is never removed with its appointments)"
        )
    syncing = [
        row.user.login
        for row in CalendarSubscription.select(CalendarSubscription, User)
        .join(User)
        .where(CalendarSubscription.area == area)
        .order_by(User.login)
    ]
    if syncing and not force:
        raise AdminError(
            f"the area {area.name!r} is synced by {', '.join(syncing)}: remove those calendars first "
            "(`calendar remove`), or remove the area with --force"
        )
    links = AppointmentLink.select().join(CalendarSubscription).where(CalendarSubscription.area == area).count()
    listed = (
        UserListedArea.select().where(UserListedArea.area == area).count()
        + GroupListedArea.select().where(GroupListedArea.area == area).count()
    )
    said = [f"the area {area.name!r} is removed"]
    if syncing:
        said.append(f"the calendars of {', '.join(syncing)} syncing it, with {links} linked item(s), are removed")
    if links:
        said.append("the items the sync made in Exchange stay there and are no longer synchronised")
    if listed:
        said.append(f"it is taken off the 'listed' areas of {listed} user(s) or group(s)")
    TimetableArea.delete().where(
        TimetableArea.id == area.id
    ).execute()  # owners, listings, calendars: ON DELETE CASCADE
    return tuple(said)
