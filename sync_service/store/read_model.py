"""What the engine reads of the club's settings, as the store holds them: the special parameters
that switch the module on and bound the retries, and a user's sync permissions as the pure
permission functions take them (`sync_service/permissions.py`). The admin commands write these
settings (`admin/parameters.py`, `admin/users.py`) and read them through this module too.

Every function runs in the caller's transaction (in the engine: the database thread)."""

from __future__ import annotations

from typing import Iterable

from ..core.permissions import Appointments, Contacts, FieldMode, Permissions, Subject
from .models import AreaOwner, GroupListedArea, SpecialParameter, User, UserGroup, UserListedArea

SYNC_EXCH = "SYNC_EXCH"
SYNC_EXCH_ATTEMPTS = "SYNC_EXCH_ATTEMPTS"
PARAMETER_DEFAULTS = {SYNC_EXCH: "0", SYNC_EXCH_ATTEMPTS: "10"}


def parameter(name: str) -> str | None:
    """A special parameter's value as stored, else its default; None for an unknown name not set.
    `name` as stored (upper case)."""
    row = SpecialParameter.get_or_none(SpecialParameter.name == name)
    if row is not None:
        return str(row.value)
    return PARAMETER_DEFAULTS.get(name)


def module_enabled() -> bool:
    """SYNC_EXCH is 1: the module is on."""
    return parameter(SYNC_EXCH) == "1"


def max_attempts() -> int:
    """SYNC_EXCH_ATTEMPTS: after that many failed tries an item stops."""
    value = parameter(SYNC_EXCH_ATTEMPTS)
    assert value is not None  # it has a default
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"{SYNC_EXCH_ATTEMPTS} is {value!r} in the database, not a whole number; "
            f"set it with `sync-service param set {SYNC_EXCH_ATTEMPTS} N`"
        ) from None


def stored_permissions(row: User | UserGroup) -> Permissions:
    """One user's or one group's settings, as stored."""
    listed: Iterable[UserListedArea | GroupListedArea]
    if isinstance(row, User):
        listed = UserListedArea.select(UserListedArea.area).where(UserListedArea.user == row)
    else:
        listed = GroupListedArea.select(GroupListedArea.area).where(GroupListedArea.group == row)
    return Permissions(
        contacts=Contacts(row.contacts),
        address=FieldMode(row.address),
        phone=FieldMode(row.phone),
        email=FieldMode(row.email),
        appointments=Appointments(row.appointments),
        listed_areas=frozenset(entry.area_id for entry in listed),
    )


def subject_for(user: User) -> Subject:
    """Everything the permission functions need to know about a user."""
    group = UserGroup.get_or_none(UserGroup.id == user.group_id) if user.group_id is not None else None
    owned = AreaOwner.select(AreaOwner.area).where(AreaOwner.user == user)
    return Subject(
        own=stored_permissions(user),
        group=stored_permissions(group) if group is not None else None,
        owned_areas=frozenset(entry.area_id for entry in owned),
    )
