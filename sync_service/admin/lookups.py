"""Finding the rows the commands name, with a clear error when there is none."""

from __future__ import annotations

from typing import TypeVar

import peewee as pw

from ..store.models import Appointment, Person, TimetableArea, User, UserGroup
from . import AdminError

Row = TypeVar("Row", bound=pw.Model)


def _one(model: type[Row], condition: pw.Expression, missing: str) -> Row:
    row = model.get_or_none(condition)
    if row is None:
        raise AdminError(missing)
    return row


def user_by_login(login: str) -> User:
    return _one(User, User.login == login, f"unknown user {login!r} (see `sync-service user add`)")


def group_by_name(name: str) -> UserGroup:
    return _one(UserGroup, UserGroup.name == name, f"unknown group {name!r} (see `sync-service group add`)")


def area_by_name(name: str) -> TimetableArea:
    return _one(
        TimetableArea, TimetableArea.name == name, f"unknown timetable area {name!r} (see `sync-service area list`)"
    )


def person_by_id(person_id: int) -> Person:
    return _one(Person, Person.id == person_id, f"unknown person {person_id} (see `sync-service person list`)")


def appointment_by_id(appointment_id: int) -> Appointment:
    return _one(
        Appointment,
        Appointment.id == appointment_id,
        f"unknown appointment {appointment_id} (see `sync-service appointment list`)",
    )
