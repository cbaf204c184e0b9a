"""Groups, users and their sync permissions (password management, tab SYNC). Reading a user's
permissions back is `store/read_model.py` (`stored_permissions`, `subject_for`), shared with the engine."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.permissions import Appointments, Contacts, FieldMode
from ..store.models import (
    AppointmentLink,
    AreaOwner,
    CalendarSubscription,
    ContactLink,
    ContactSubscription,
    ExchangeAccount,
    GroupListedArea,
    TimetableArea,
    User,
    UserGroup,
    UserListedArea,
)
from . import AdminError
from .lookups import area_by_name, group_by_name, user_by_login


@dataclass(frozen=True)
class PermissionChange:
    """What a `permissions` command asks to change; None leaves a setting as it is."""

    contacts: Contacts | None = None
    address: FieldMode | None = None
    phone: FieldMode | None = None
    email: FieldMode | None = None
    appointments: Appointments | None = None
    listed_areas: tuple[str, ...] | None = None  # area names; None: unchanged


def _check_name(kind: str, name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise AdminError(f"a {kind} needs a name")
    return cleaned


def add_group(name: str) -> UserGroup:
    name = _check_name("group", name)
    if UserGroup.get_or_none(UserGroup.name == name) is not None:
        raise AdminError(f"the group {name!r} exists already")
    return UserGroup.create(name=name)


def add_user(login: str, display_name: str | None = None, group: str | None = None) -> User:
    login = _check_name("user", login)
    if User.get_or_none(User.login == login) is not None:
        raise AdminError(f"the user {login!r} exists already")
    group_row = group_by_name(group) if group else None
    return User.create(login=login, display_name=(display_name or login).strip(), group=group_row)


def _apply(row: User | UserGroup, change: PermissionChange, *, is_group: bool) -> None:
    if is_group:
        for name in ("contacts", "address", "phone", "email", "appointments"):
            value = getattr(change, name)
            if value is not None and value.value == "group":
                raise AdminError(f"a group's {name} setting cannot be 'group' (only a user's can follow its group)")
    for name in ("contacts", "address", "phone", "email", "appointments"):
        value = getattr(change, name)
        if value is not None:
            setattr(row, name, value.value)
    row.save()
    if change.listed_areas is not None:
        areas = [area_by_name(name) for name in change.listed_areas]
        listing, owner = (GroupListedArea, GroupListedArea.group) if is_group else (UserListedArea, UserListedArea.user)
        listing.delete().where(owner == row).execute()
        for area in areas:
            listing.insert(**{"group" if is_group else "user": row, "area": area}).on_conflict_ignore().execute()


def set_user_permissions(login: str, change: PermissionChange) -> User:
    user = user_by_login(login)
    _apply(user, change, is_group=False)
    return user


def set_group_permissions(name: str, change: PermissionChange) -> UserGroup:
    group = group_by_name(name)
    _apply(group, change, is_group=True)
    return group


def _names(rows: list[str]) -> str:
    return ", ".join(repr(name) for name in rows)


def user_uses(user: User) -> tuple[list[str], int]:
    """What a user syncs: the areas of its calendars, and how many persons its contact list holds."""
    areas = [
        row.area.name
        for row in CalendarSubscription.select(CalendarSubscription, TimetableArea)
        .join(TimetableArea)
        .where(CalendarSubscription.user == user)
        .order_by(TimetableArea.name)
    ]
    return areas, ContactSubscription.select().where(ContactSubscription.user == user).count()


def describe_uses(areas: list[str], contacts: int) -> str:
    parts = ([f"the calendar(s) of {_names(areas)}"] if areas else []) + (
        [f"{contacts} contact(s)"] if contacts else []
    )
    return " and ".join(parts)


def remove_user(login: str, force: bool = False) -> tuple[str, ...]:
    """Remove a user with everything the sync keeps for them, in this one transaction: calendars
    (their links, deferred items and sync states), the contact list and its links, filters,
    conflicts, statistics, reports, the Exchange account and a refused mailbox's block, area
    ownerships and listed areas. Refused while the user syncs calendars or contacts, unless
    `force`. Nothing is deleted in Exchange. Returns what was removed, one sentence each."""
    user = user_by_login(login)
    areas, contacts = user_uses(user)
    if (areas or contacts) and not force:
        raise AdminError(
            f"the user {login!r} syncs {describe_uses(areas, contacts)}: remove them first "
            "(`calendar remove`, `contact remove`), or remove the user with --force"
        )
    links = AppointmentLink.select().join(CalendarSubscription).where(CalendarSubscription.user == user).count()
    contact_links = ContactLink.select().where(ContactLink.user == user).count()
    owed = ContactLink.select().where((ContactLink.user == user) & ContactLink.delete_in_exchange).count()
    owned = [
        row.area.name
        for row in AreaOwner.select(AreaOwner, TimetableArea).join(TimetableArea).where(AreaOwner.user == user)
    ]
    has_account = ExchangeAccount.select().where(ExchangeAccount.user == user).exists()
    said = [f"the user {login!r} is removed"]
    if areas:
        said.append(f"its calendar(s) {_names(areas)} with {links} linked item(s), their conflicts and statistics")
    if contacts or contact_links:
        said.append(f"its contact list ({contacts} person(s), {contact_links} linked contact(s))")
    if has_account:
        said.append("its Exchange account")
    if owned:
        said.append(f"it no longer owns {_names(sorted(owned))}")
    if links or contact_links:
        said.append(
            "the items the sync made in Exchange stay there and are no longer synchronised "
            "(nothing is deleted in Exchange; PC CADDIE's appointments and persons stay)"
        )
    if owed:
        said.append(f"{owed} contact deletion(s) asked for with `contact remove --delete-in-exchange` will not happen")
    User.delete().where(User.id == user.id).execute()  # the rest goes by the schema's ON DELETE CASCADE
    return tuple(said)
