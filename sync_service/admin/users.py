"""Groups, users and their sync permissions (password management, tab SYNC). Reading a user's
permissions back is `store/read_model.py` (`stored_permissions`, `subject_for`), shared with the engine."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.permissions import Appointments, Contacts, FieldMode
from ..store.models import GroupListedArea, User, UserGroup, UserListedArea
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
