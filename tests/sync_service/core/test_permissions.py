"""The permission functions over the whole matrix of user setting × group setting."""

import itertools

import pytest

from sync_service.core.permissions import (
    Appointments,
    Contacts,
    FieldGroup,
    FieldMode,
    Permissions,
    Subject,
    appointment_scope,
    describe_area_refusal,
    field_mode,
    may_sync_area,
    may_sync_contacts,
)

GROUPS = [None, *[Permissions(contacts=c) for c in Contacts]]


@pytest.mark.parametrize("own, group", list(itertools.product(Contacts, GROUPS)))
def test_contacts_matrix(own, group):
    subject = Subject(own=Permissions(contacts=own), group=group)
    if own is Contacts.GROUP:
        expected = group is not None and group.contacts is Contacts.YES
    else:
        expected = own is Contacts.YES
    assert may_sync_contacts(subject) is expected


@pytest.mark.parametrize(
    "field_group, own, group_mode, has_group",
    list(itertools.product(FieldGroup, FieldMode, FieldMode, [False, True])),
)
def test_field_mode_matrix(field_group, own, group_mode, has_group):
    own_permissions = Permissions(**{field_group.value: own})
    group = Permissions(**{field_group.value: group_mode}) if has_group else None
    result = field_mode(Subject(own=own_permissions, group=group), field_group)
    if own is not FieldMode.GROUP:
        assert result is own
    elif not has_group or group_mode is FieldMode.GROUP:
        assert result is FieldMode.NO
    else:
        assert result is group_mode
    assert result is not FieldMode.GROUP


def test_field_groups_are_independent():
    subject = Subject(own=Permissions(address=FieldMode.SYNC, phone=FieldMode.EXPORT, email=FieldMode.NO))
    assert [field_mode(subject, g) for g in FieldGroup] == [FieldMode.SYNC, FieldMode.EXPORT, FieldMode.NO]


OWNED, LISTED_BY_USER, LISTED_BY_GROUP, OTHER = 1, 2, 3, 4


def subject(own_scope, group_scope):
    return Subject(
        own=Permissions(appointments=own_scope, listed_areas=frozenset({LISTED_BY_USER})),
        group=None
        if group_scope is None
        else Permissions(appointments=group_scope, listed_areas=frozenset({LISTED_BY_GROUP})),
        owned_areas=frozenset({OWNED}),
    )


def expected_areas(scope, listed):
    return {
        Appointments.NONE: set(),
        Appointments.GROUP: set(),
        Appointments.ALL: {OWNED, LISTED_BY_USER, LISTED_BY_GROUP, OTHER},
        Appointments.OWN: {OWNED},
        Appointments.LISTED: {listed},
    }[scope]


@pytest.mark.parametrize("own_scope, group_scope", list(itertools.product(Appointments, [None, *Appointments])))
def test_area_matrix(own_scope, group_scope):
    s = subject(own_scope, group_scope)
    if own_scope is Appointments.GROUP:
        scope = group_scope or Appointments.NONE
        expected = expected_areas(scope, LISTED_BY_GROUP)  # 'listed' means the group's list
    else:
        expected = expected_areas(own_scope, LISTED_BY_USER)
    allowed = {area for area in (OWNED, LISTED_BY_USER, LISTED_BY_GROUP, OTHER) if may_sync_area(s, area)}
    assert allowed == expected
    effective, _ = appointment_scope(s)
    assert effective is not Appointments.GROUP


def test_own_through_the_group_means_the_users_own_areas():
    s = subject(Appointments.GROUP, Appointments.OWN)
    assert may_sync_area(s, OWNED) and not may_sync_area(s, OTHER)


def test_refusal_is_described():
    assert "at all" in describe_area_refusal(subject(Appointments.NONE, None))
    assert "own" in describe_area_refusal(subject(Appointments.OWN, None))
    assert "listed" in describe_area_refusal(subject(Appointments.LISTED, None))
