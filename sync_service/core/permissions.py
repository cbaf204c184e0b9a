"""What a user may synchronise (password management, tab SYNC), as pure functions.

A user's setting may be "as group" (`group`): then the setting of the user's group counts. A user
without a group, or a group whose own setting is `group` (which the admin commands refuse to
store), means no. These functions say what a user MAY sync; what is synced is the subscriptions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Contacts(enum.Enum):
    YES = "yes"
    NO = "no"
    GROUP = "group"


class FieldMode(enum.Enum):
    NO = "no"
    GROUP = "group"
    EXPORT = "export"  # PC CADDIE → Exchange only
    SYNC = "sync"  # both ways


class Appointments(enum.Enum):
    NONE = "none"
    GROUP = "group"
    ALL = "all"
    OWN = "own"
    LISTED = "listed"


class FieldGroup(enum.Enum):
    ADDRESS = "address"
    PHONE = "phone"
    EMAIL = "email"


@dataclass(frozen=True)
class Permissions:
    """One user's or one group's settings, as stored."""

    contacts: Contacts = Contacts.GROUP
    address: FieldMode = FieldMode.GROUP
    phone: FieldMode = FieldMode.GROUP
    email: FieldMode = FieldMode.GROUP
    appointments: Appointments = Appointments.GROUP
    listed_areas: frozenset[int] = field(default_factory=frozenset)

    def mode(self, group: FieldGroup) -> FieldMode:
        return {FieldGroup.ADDRESS: self.address, FieldGroup.PHONE: self.phone, FieldGroup.EMAIL: self.email}[group]


NOTHING = Permissions(Contacts.NO, FieldMode.NO, FieldMode.NO, FieldMode.NO, Appointments.NONE)


@dataclass(frozen=True)
class Subject:
    """A user's own settings, the user's group's settings (None: no group) and the areas the
    user owns."""

    own: Permissions
    group: Permissions | None = None
    owned_areas: frozenset[int] = field(default_factory=frozenset)


def may_sync_contacts(subject: Subject) -> bool:
    setting = subject.own.contacts
    if setting is Contacts.GROUP:
        setting = subject.group.contacts if subject.group is not None else Contacts.NO
    return setting is Contacts.YES


def field_mode(subject: Subject, group: FieldGroup) -> FieldMode:
    """The effective mode of a field group: NO, EXPORT or SYNC (never GROUP)."""
    mode = subject.own.mode(group)
    if mode is FieldMode.GROUP:
        mode = subject.group.mode(group) if subject.group is not None else FieldMode.NO
    return FieldMode.NO if mode is FieldMode.GROUP else mode


def appointment_scope(subject: Subject) -> tuple[Appointments, frozenset[int]]:
    """The effective appointments setting (never GROUP) and, for LISTED, the areas listed where
    the setting came from."""
    source = subject.own
    if source.appointments is Appointments.GROUP:
        if subject.group is None or subject.group.appointments is Appointments.GROUP:
            return Appointments.NONE, frozenset()
        source = subject.group
    return source.appointments, source.listed_areas


def may_sync_area(subject: Subject, area_id: int) -> bool:
    scope, listed = appointment_scope(subject)
    if scope is Appointments.ALL:
        return True
    if scope is Appointments.OWN:
        return area_id in subject.owned_areas
    if scope is Appointments.LISTED:
        return area_id in listed
    return False


def describe_area_refusal(subject: Subject) -> str:
    """Why may_sync_area said no, in words for an error message."""
    scope, _ = appointment_scope(subject)
    return {
        Appointments.NONE: "may not sync appointments at all",
        Appointments.OWN: "may only sync the areas they own",
        Appointments.LISTED: "may only sync the areas listed in their permissions",
    }.get(scope, "may not sync this area")
