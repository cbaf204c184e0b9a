"""The store's read model: the special parameters the engine obeys and a user's permissions as
the pure permission functions take them, read in the caller's transaction."""

import pytest

from sync_service.admin.parameters import set_parameter
from sync_service.admin.users import PermissionChange, add_group, add_user, set_group_permissions, set_user_permissions
from sync_service.core.permissions import Appointments, Contacts, FieldMode, Permissions, Subject
from sync_service.store.database import open_database
from sync_service.store.models import AreaOwner, SpecialParameter, TimetableArea, User
from sync_service.store.read_model import (
    SYNC_EXCH,
    SYNC_EXCH_ATTEMPTS,
    max_attempts,
    module_enabled,
    parameter,
    stored_permissions,
    subject_for,
)


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "club.sqlite3", synchronous="off")
    with database.atomic():
        yield database
    database.close()


def test_parameters_and_their_defaults(db):
    assert (module_enabled(), max_attempts()) == (False, 10)
    assert parameter("SOMETHING_ELSE") is None
    set_parameter(SYNC_EXCH, "1")
    set_parameter(SYNC_EXCH_ATTEMPTS, "3")
    set_parameter("SOMETHING_ELSE", "x")
    assert (module_enabled(), max_attempts(), parameter("SOMETHING_ELSE")) == (True, 3, "x")


def test_attempts_written_badly_by_another_program_is_a_clear_error(db):
    SpecialParameter.create(name=SYNC_EXCH_ATTEMPTS, value="ten")
    with pytest.raises(ValueError, match="SYNC_EXCH_ATTEMPTS is 'ten' in the database"):
        max_attempts()


def test_subject_of_a_user_with_a_group_and_areas(db):
    tee, lessons = TimetableArea.create(name="Tee"), TimetableArea.create(name="Lessons")
    add_group("Pros")
    set_group_permissions("Pros", PermissionChange(contacts=Contacts.YES, appointments=Appointments.LISTED))
    set_group_permissions("Pros", PermissionChange(listed_areas=("Tee",)))
    user = add_user("anna", group="Pros")
    set_user_permissions("anna", PermissionChange(email=FieldMode.SYNC))
    AreaOwner.create(user=user, area=lessons)
    user = User.get_by_id(user.id)  # as the engine reads it, with the columns' defaults
    subject = subject_for(user)
    assert subject == Subject(
        own=Permissions(email=FieldMode.SYNC),
        group=Permissions(
            Contacts.YES, FieldMode.NO, FieldMode.NO, FieldMode.NO, Appointments.LISTED, frozenset({tee.id})
        ),  # a group's unset field modes are no
        owned_areas=frozenset({lessons.id}),
    )
    assert stored_permissions(user) == subject.own


def test_subject_of_a_user_without_a_group(db):
    assert subject_for(User.get_by_id(add_user("bob").id)) == Subject(own=Permissions())
