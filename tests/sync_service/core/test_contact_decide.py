"""The contact decision over field group × mode × which side changed."""

import itertools

import pytest

from sync_service.core.contact_content import GROUPS, NAMES, digest
from sync_service.core.contact_decide import ContactLinkState, ContactObservation, decide_contact, mass_unlisting
from sync_service.core.model import UNCHANGED, Policy, Side
from sync_service.core.permissions import FieldMode

AGREED = {
    NAMES: ("Max", "Muster"),
    "address": ("Weg 1", "50667", "Köln", "DE"),
    "phone": ("1", "2", "3"),
    "email": ("max@example.com",),
}
CHANGED = {
    NAMES: ("Max", "Mustermann"),
    "address": ("Weg 2", "50667", "Köln", "DE"),
    "phone": ("1", "2", "4"),
    "email": ("max@example.org",),
}
ALL_SYNC = {"address": FieldMode.SYNC, "phone": FieldMode.SYNC, "email": FieldMode.SYNC}


def link(**kw):
    return ContactLinkState(
        1, 7, "AAA", "ck", kw.pop("origin", Side.PCCADDIE), {g: digest(v) for g, v in AGREED.items()}, **kw
    )


def with_group(group, values):
    return {**AGREED, group: values}


@pytest.mark.parametrize(
    "group, mode, side",
    list(itertools.product(["address", "phone", "email"], list(FieldMode), [Side.PCCADDIE, Side.EXCHANGE])),
)
def test_field_group_by_mode_and_side(group, mode, side):
    if mode is FieldMode.GROUP:
        return  # never effective: resolved before the engine sees it
    modes = {**ALL_SYNC, group: mode}
    changed = with_group(group, CHANGED[group])
    observation = (
        ContactObservation(link(), changed, UNCHANGED)
        if side is Side.PCCADDIE
        else ContactObservation(link(), UNCHANGED, changed, remote_change_key="ck2")
    )
    decision = decide_contact(observation, modes)
    if mode is FieldMode.NO:
        assert decision.action == "none"  # never touched, either way
    elif side is Side.PCCADDIE:
        assert decision.to_exchange == {group: CHANGED[group]} and decision.to_pccaddie == {}
    elif mode is FieldMode.SYNC:
        assert decision.to_pccaddie == {group: CHANGED[group]} and decision.to_exchange == {}
    else:  # export: Exchange's edit is ignored
        assert decision.to_pccaddie == {} and decision.to_exchange == {}


def test_names_always_travel_both_ways():
    none = {"address": FieldMode.NO, "phone": FieldMode.NO, "email": FieldMode.NO}
    from_exchange = decide_contact(ContactObservation(link(), UNCHANGED, with_group(NAMES, CHANGED[NAMES])), none)
    assert from_exchange.to_pccaddie == {NAMES: CHANGED[NAMES]}


def test_conflict_per_field_group():
    local = with_group("phone", ("9", "9", "9"))
    remote = {**with_group("phone", ("8", "8", "8")), "email": CHANGED["email"]}
    decision = decide_contact(ContactObservation(link(), local, remote), ALL_SYNC)
    assert decision.to_exchange == {"phone": ("9", "9", "9")}
    assert decision.to_pccaddie == {"email": CHANGED["email"]}
    assert decision.conflicts == (("phone", Side.PCCADDIE, ("8", "8", "8")),)
    exchange_wins = decide_contact(ContactObservation(link(), local, remote), ALL_SYNC, Policy.EXCHANGE_WINS)
    assert exchange_wins.to_pccaddie["phone"] == ("8", "8", "8")


def test_deletions_protect_members():
    assert decide_contact(ContactObservation(link(), UNCHANGED, None), ALL_SYNC).action == "unlist"
    assert decide_contact(ContactObservation(link(), None, UNCHANGED), ALL_SYNC).action == "delete-remote"
    added_from_exchange = link(origin=Side.EXCHANGE)
    assert decide_contact(ContactObservation(added_from_exchange, None, UNCHANGED), ALL_SYNC).action == "unlink"
    assert decide_contact(ContactObservation(link(), UNCHANGED, UNCHANGED, on_list=False), ALL_SYNC).action == "unlink"
    asked = link(delete_in_exchange=True)
    assert decide_contact(ContactObservation(asked, UNCHANGED, UNCHANGED, on_list=False), ALL_SYNC).action == (
        "delete-remote"
    )


def test_new_person_exports_names_and_allowed_groups_only():
    modes = {"address": FieldMode.EXPORT, "phone": FieldMode.NO, "email": FieldMode.SYNC}
    decision = decide_contact(ContactObservation(None, AGREED, UNCHANGED, source="auto"), modes)
    assert decision.action == "create" and set(decision.to_exchange) == {NAMES, "address", "email"}


def test_adopting_an_exchange_contact_fills_what_either_side_lacks():
    local = {NAMES: ("Max", "Muster"), "address": ("", "", "", ""), "phone": ("1", "2", "3"), "email": ("a@b.c",)}
    remote = {
        NAMES: ("Max", "Muster"),
        "address": ("Weg 1", "1", "K", "DE"),
        "phone": ("", "", ""),
        "email": ("a@b.c",),
    }
    decision = decide_contact(ContactObservation(None, local, remote, source="exchange"), ALL_SYNC)
    assert decision.action == "adopt"
    assert decision.to_pccaddie == {"address": ("Weg 1", "1", "K", "DE")}
    assert decision.to_exchange == {"phone": ("1", "2", "3")}
    assert set(decision.digests) == set(GROUPS)


def test_mass_unlisting_guard():
    from sync_service.core.contact_decide import ContactDecision

    assert mass_unlisting([ContactDecision("unlist")] * 10, 10)
    assert mass_unlisting([ContactDecision("unlist")] * 3, 3) is None
    assert mass_unlisting([ContactDecision("delete-remote")] * 30, 40)


# -- field by field against a recorded base (issue 14) ---------------------------------------------

from sync_service.core.contact_merge import merge_group  # noqa: E402


def agreed_link(**kw):
    return ContactLinkState(
        1, 7, "AAA", "ck", Side.PCCADDIE, {g: digest(v) for g, v in AGREED.items()}, agreed=dict(AGREED), **kw
    )


def test_edits_of_different_fields_of_one_group_are_both_kept():
    local = with_group("phone", ("1", "2", "9"))  # the office changed the mobile
    remote = with_group("phone", ("8", "2", "3"))  # Outlook the home phone
    decision = decide_contact(ContactObservation(agreed_link(), local, remote), ALL_SYNC)
    assert decision.to_exchange == {"phone": ("8", "2", "9")} and decision.to_pccaddie == {"phone": ("8", "2", "9")}
    assert decision.conflicts == () and decision.agreed == {"phone": ("8", "2", "9")}


@pytest.mark.parametrize("policy", list(Policy))
def test_a_field_changed_on_both_sides_follows_the_policy_and_keeps_the_loser(policy):
    local, remote = with_group("phone", ("1", "2", "9")), with_group("phone", ("1", "5", "7"))
    decision = decide_contact(ContactObservation(agreed_link(), local, remote), ALL_SYNC, policy)
    mobile = "7" if policy is Policy.EXCHANGE_WINS else "9"  # newest-wins, no times known: PC CADDIE's
    assert decision.agreed["phone"] == ("1", "5", mobile)
    ((group, winner, lost),) = decision.conflicts
    assert group == "phone" and lost == (remote if winner is Side.PCCADDIE else local)["phone"]


def test_without_a_base_nothing_is_blanked():
    merged = merge_group(FieldMode.SYNC, None, ("Weg 1", "", "Köln", ""), ("", "50667", "Bonn", "DE"))
    assert merged.local == merged.remote == ("Weg 1", "50667", "Köln", "DE")
    assert merged.conflict == (Side.PCCADDIE, ("", "50667", "Bonn", "DE"))
    exported = merge_group(FieldMode.EXPORT, None, ("", "", ""), ("0221", "", "0171"))
    assert exported.remote == ("0221", "", "0171") and exported.local == ("", "", "") and exported.conflict is None


def test_export_writes_the_whole_group_and_keeps_an_overwritten_outlook_edit():
    merged = merge_group(FieldMode.EXPORT, ("1", "2", "3"), ("1", "2", "4"), ("9", "2", "3"))
    assert merged.remote == merged.local == ("1", "2", "4") and merged.conflict == (Side.PCCADDIE, ("9", "2", "3"))
    ignored = merge_group(FieldMode.EXPORT, ("1", "2", "3"), ("1", "2", "3"), ("9", "2", "3"))
    assert ignored.remote == ("9", "2", "3") and ignored.base == ("1", "2", "3")


def test_a_group_with_no_base_is_merged_not_overwritten_when_it_becomes_active():
    link = ContactLinkState(
        1, 7, "AAA", "ck", Side.PCCADDIE, {NAMES: digest(AGREED[NAMES])}, agreed={NAMES: AGREED[NAMES]}
    )
    local = with_group("address", ("Weg 1", "50667", "Köln", "DE"))
    remote = {**with_group("address", ("", "", "", "")), NAMES: ("Maximilian", "Muster")}
    decision = decide_contact(
        ContactObservation(link, local, remote), {**ALL_SYNC, "phone": FieldMode.NO, "email": FieldMode.NO}
    )
    assert decision.to_exchange == {"address": ("Weg 1", "50667", "Köln", "DE")}
    assert decision.to_pccaddie == {NAMES: ("Maximilian", "Muster")} and decision.conflicts == ()
