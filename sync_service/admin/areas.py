"""Timetable areas and the users who own them."""

from __future__ import annotations

from typing import Iterable, cast

from ..store.models import AreaOwner, TimetableArea, User
from . import AdminError
from .lookups import user_by_login


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
