"""Finding the rows the commands name, with a clear error when there is none."""

from __future__ import annotations

from ..store.models import Appointment, Person, TimetableArea, User, UserGroup
from . import AdminError


def user_by_login(login: str) -> User:
    user = User.get_or_none(User.login == login)
    if user is None:
        raise AdminError(f"unknown user {login!r} (see `sync-service user add`)")
    return user


def group_by_name(name: str) -> UserGroup:
    group = UserGroup.get_or_none(UserGroup.name == name)
    if group is None:
        raise AdminError(f"unknown group {name!r} (see `sync-service group add`)")
    return group


def area_by_name(name: str) -> TimetableArea:
    area = TimetableArea.get_or_none(TimetableArea.name == name)
    if area is None:
        raise AdminError(f"unknown timetable area {name!r} (see `sync-service area list`)")
    return area


def person_by_id(person_id: int) -> Person:
    person = Person.get_or_none(Person.id == person_id)
    if person is None:
        raise AdminError(f"unknown person {person_id} (see `sync-service person list`)")
    return person


def appointment_by_id(appointment_id: int) -> Appointment:
    appointment = Appointment.get_or_none(Appointment.id == appointment_id)
    if appointment is None:
        raise AdminError(f"unknown appointment {appointment_id} (see `sync-service appointment list`)")
    return appointment
