"""The contacts' plan: each decision as a plan object, nothing for what is skipped or unchanged,
the mass-unlisting guard's verdict as `paused`."""

from sync_service.core.contact_content import GROUPS, NAMES, digest
from sync_service.core.contact_decide import ContactLinkState, ContactObservation
from sync_service.core.contact_plan import (
    AdoptContact,
    DeleteInExchange,
    MakeInExchange,
    RecordVersion,
    Unlink,
    Unlist,
    UpdateGroups,
    plan_contacts,
)
from sync_service.core.model import UNCHANGED, Policy, Side
from sync_service.core.permissions import FieldMode

AGREED = {
    NAMES: ("Max", "Muster"),
    "address": ("Weg 1", "50667", "Köln", "DE"),
    "phone": ("1", "2", "3"),
    "email": ("max@example.com",),
}
MODES = {group: FieldMode.SYNC for group in GROUPS if group != NAMES}


def link(link_id: int, **kw) -> ContactLinkState:
    return ContactLinkState(
        link_id, link_id, f"X{link_id}", "ck", Side.PCCADDIE, {g: digest(v) for g, v in AGREED.items()}, **kw
    )


def test_each_decision_becomes_its_plan_object_and_nothing_to_do_none():
    moved = {**AGREED, "address": ("Weg 2", "50667", "Köln", "DE")}
    observations = [
        ContactObservation(None, AGREED, person_id=1),  # listed, no contact: made
        ContactObservation(None, AGREED, AGREED, source="exchange", person_id=2, exchange_id="E2"),  # +ADD
        ContactObservation(link(3), moved, UNCHANGED),  # changed in PC CADDIE: an update
        ContactObservation(link(4), UNCHANGED, AGREED, remote_change_key="ck2"),  # Exchange's own write
        ContactObservation(link(5), UNCHANGED, None),  # deleted in Exchange: off the list
        ContactObservation(link(6), None, UNCHANGED),  # person deleted: its contact deleted
        ContactObservation(link(7), UNCHANGED, UNCHANGED, on_list=False),  # taken off the list
        ContactObservation(link(8, stopped=True), moved, UNCHANGED),  # stopped: nothing
        ContactObservation(link(9), UNCHANGED, UNCHANGED),  # nothing new: nothing
    ]
    plan = plan_contacts(observations, MODES, Policy.PCCADDIE_WINS, linked=100, twins=("T",), unbooked=(11,))
    kinds = [type(a) for a in plan.actions]
    assert kinds == [MakeInExchange, AdoptContact, UpdateGroups, RecordVersion, Unlist, DeleteInExchange, Unlink]
    assert [a.person_id for a in plan.actions] == [1, 2, 3, 4, 5, 6, 7]
    assert plan.updates_to_exchange == [plan.actions[2]]  # the adoption writes nothing to Exchange
    assert (plan.twins, plan.unbooked, plan.paused) == (("T",), (11,), None)


def test_the_guard_pauses_a_plan_that_would_take_most_contacts_off_the_list():
    observations = [ContactObservation(link(n), UNCHANGED, None) for n in range(1, 23)]
    plan = plan_contacts(observations, MODES, Policy.PCCADDIE_WINS, linked=30)
    assert len(plan.of(Unlist)) == 22
    assert plan.paused is not None and "22 of 30" in plan.paused
