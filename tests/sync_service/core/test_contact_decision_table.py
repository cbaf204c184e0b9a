"""The contact decision tables as data: complete, every outcome reachable, each row carried out by
`decide_contact` (an observation built for the row falls in it, and the decision is the row's),
and the same as the tables docs/sync.md shows in its contacts' part."""

import itertools
import pathlib

import pytest

from sync_service.core import contact_decision_table as table
from sync_service.core.contact_content import NAMES, digest
from sync_service.core.contact_decide import (
    ContactLinkState,
    ContactObservation,
    decide_contact,
    linked_key,
    new_key,
    to_make,
)
from sync_service.core.contact_decision_table import (
    AGAINST_AGREED,
    BASIS,
    FIELDS,
    LINKED,
    MERGED_MODES,
    NEW,
    WITHOUT_AGREED,
    Basis,
    Contact,
    Field,
    FieldOutcome,
    ItemOutcome,
    Known,
    Listing,
    NewOutcome,
    Owner,
    Person,
    Read,
    Source,
)
from sync_service.core.model import UNCHANGED, Policy, Side
from sync_service.core.permissions import FieldMode

SYNC_MD = pathlib.Path(__file__).parents[3] / "docs" / "sync.md"
AGREED = {
    NAMES: ("Max", "Muster"),
    "address": ("Weg 1", "50667", "Köln", "DE"),
    "phone": ("1", "2", "3"),
    "email": ("max@example.com",),
}
ALL_SYNC = {"address": FieldMode.SYNC, "phone": FieldMode.SYNC, "email": FieldMode.SYNC}


def with_group(group, values):
    return {**AGREED, group: values}


def link(**kw):
    return ContactLinkState(
        1,
        7,
        kw.pop("exchange_id", "AAA"),
        "ck",
        kw.pop("origin", Side.PCCADDIE),
        kw.pop("digests", {g: digest(v) for g, v in AGREED.items()}),
        **kw,
    )


def test_each_table_has_one_row_for_every_case_and_no_outcome_unreachable():
    assert set(NEW) == set(itertools.product(Source, (True, False), Read))
    assert set(LINKED) == set(itertools.product(Listing, Person, Owner, Contact))
    assert set(BASIS) == set(itertools.product(Known, Read))
    pairs = [*itertools.product(AGAINST_AGREED, AGAINST_AGREED), *itertools.product(WITHOUT_AGREED, WITHOUT_AGREED)]
    assert set(FIELDS) == {(mode, *pair) for mode in MERGED_MODES for pair in pairs}
    assert set(NEW.values()) == set(NewOutcome)
    assert set(LINKED.values()) == set(ItemOutcome)
    assert set(BASIS.values()) == set(Basis)
    assert set(FIELDS.values()) == set(FieldOutcome)


@pytest.mark.parametrize("data", [NEW, LINKED, BASIS, FIELDS])
def test_the_tables_cannot_be_changed_at_run_time(data):
    with pytest.raises(TypeError):
        data[next(iter(data))] = None


# -- NEW --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source, listed, read", list(NEW))
def test_decide_contact_carries_out_each_new_row(source, listed, read):
    local = AGREED if read in (Read.BOTH, Read.PERSON) else UNCHANGED
    remote = with_group("phone", ("", "", "9")) if read in (Read.BOTH, Read.CONTACT) else UNCHANGED
    observation = ContactObservation(
        None,
        local,
        remote,
        on_list=listed,
        source="exchange" if source is Source.EXCHANGE else "auto",
        remote_change_key="ck9",
    )
    modes = {"address": FieldMode.EXPORT, "phone": FieldMode.SYNC, "email": FieldMode.NO}
    assert new_key(observation) == (source, listed, read)
    decided = NEW[(source, listed, read)]
    decision = decide_contact(observation, modes)
    assert decision.action == decided.action
    assert to_make(observation) is (decided is NewOutcome.CREATE)
    if decided is NewOutcome.CREATE:  # the names and the exported groups, as PC CADDIE has them
        assert decision.to_exchange == decision.agreed == {g: AGREED[g] for g in (NAMES, "address", "phone")}
    elif decided is NewOutcome.ADOPT:  # merged with no agreed values: Exchange's empty fields filled
        assert decision.to_exchange == {"phone": ("1", "2", "3")} and decision.to_pccaddie == {}
        assert set(decision.agreed) == {NAMES, "address", "phone"} and decision.change_key == "ck9"
        assert decision.conflicts == (("phone", Side.PCCADDIE, ("", "", "9")),)  # 3 against 9: PC CADDIE's
    else:
        assert (decision.to_exchange, decision.to_pccaddie, decision.agreed) == ({}, {}, {})


def test_a_person_deleted_before_its_contact_is_made_is_not_read():
    observation = ContactObservation(None, None, UNCHANGED, source="person")
    assert new_key(observation) == (Source.PERSON, True, Read.NEITHER)
    assert decide_contact(observation, ALL_SYNC).action == "none" and not to_make(observation)


# -- LINKED -----------------------------------------------------------------------------------------

MOVED = with_group("address", ("Weg 2", "50667", "Köln", "DE"))


@pytest.mark.parametrize("listing, person, owner, contact", list(LINKED))
def test_decide_contact_carries_out_each_linked_row(listing, person, owner, contact):
    state = link(
        exchange_id=None if owner is Owner.OWED else "AAA",
        origin=Side.EXCHANGE if owner is Owner.USER else Side.PCCADDIE,
        delete_in_exchange=listing is Listing.OFF_WITH_CONTACT,
    )
    observation = ContactObservation(
        state,
        None if person is Person.DELETED else MOVED,
        None if contact is Contact.DELETED else UNCHANGED,
        on_list=listing is Listing.LISTED,
        remote_change_key="ck2",
    )
    assert linked_key(observation) == (listing, person, owner, contact)
    decided = LINKED[(listing, person, owner, contact)]
    decision = decide_contact(observation, ALL_SYNC)
    if decided is ItemOutcome.MERGE:  # PC CADDIE's moved address goes to Exchange
        assert decision.action == "update"
        assert decision.to_exchange == decision.agreed == {"address": MOVED["address"]}
    else:
        assert decision.action == decided.action
        assert (decision.to_exchange, decision.to_pccaddie, decision.agreed) == ({}, {}, {})


@pytest.mark.parametrize("key", list(LINKED))
def test_a_stopped_link_is_skipped_before_the_table(key):
    listing, person, owner, contact = key
    state = link(
        exchange_id=None if owner is Owner.OWED else "AAA",
        origin=Side.EXCHANGE if owner is Owner.USER else Side.PCCADDIE,
        delete_in_exchange=listing is Listing.OFF_WITH_CONTACT,
        stopped=True,
    )
    observation = ContactObservation(
        state,
        None if person is Person.DELETED else MOVED,
        None if contact is Contact.DELETED else UNCHANGED,
        on_list=listing is Listing.LISTED,
    )
    assert decide_contact(observation, ALL_SYNC).action == "skip"


# -- BASIS ------------------------------------------------------------------------------------------

OURS = ("Weg 2", "50667", "Köln", "DE")  # PC CADDIE changed the street
THEIRS = ("Weg 1", "50667", "Bonn", "DE")  # Exchange the city


def basis_link(known):
    digests = {g: digest(v) for g, v in AGREED.items()}
    agreed = {}
    if known is Known.VALUES:
        agreed = {"address": AGREED["address"]}
    elif known is Known.NOTHING:
        del digests["address"]
    return link(digests=digests, agreed=agreed)


@pytest.mark.parametrize("mode", MERGED_MODES)
@pytest.mark.parametrize("known, read", list(BASIS))
def test_decide_contact_carries_out_each_basis_row(known, read, mode):
    local = with_group("address", OURS) if read in (Read.BOTH, Read.PERSON) else UNCHANGED
    remote = with_group("address", THEIRS) if read in (Read.BOTH, Read.CONTACT) else UNCHANGED
    decision = decide_contact(ContactObservation(basis_link(known), local, remote), {**ALL_SYNC, "address": mode})
    decided = BASIS[(known, read)]
    written = (decision.to_exchange.get("address"), decision.to_pccaddie.get("address"))
    conflicts = [c for c in decision.conflicts if c[0] == "address"]
    if decided is Basis.LATER:
        assert written == (None, None) and "address" not in decision.agreed
    elif decided is Basis.DIGEST:  # the read side's whole group, or Exchange's ignored under export
        ignored = mode is FieldMode.EXPORT and read is Read.CONTACT
        expected = (None, None) if ignored else (OURS, None) if read is Read.PERSON else (None, THEIRS)
        assert written == expected and conflicts == []
        assert decision.agreed.get("address") == (None if ignored else OURS if read is Read.PERSON else THEIRS)
    elif decided is Basis.MERGED:  # street and city differ, both filled: PC CADDIE's, Exchange's the loser
        assert written == (OURS, None)
        assert decision.agreed["address"] == OURS
        assert conflicts == [("address", Side.PCCADDIE, THEIRS)]
    else:  # against the agreed values, field by field: each side's change kept
        assert decided is Basis.AGREED
        mine = OURS if read in (Read.BOTH, Read.PERSON) else AGREED["address"]
        theirs = THEIRS if read in (Read.BOTH, Read.CONTACT) else AGREED["address"]
        if mode is FieldMode.SYNC:
            merged = tuple(m if m != a else t for a, m, t in zip(AGREED["address"], mine, theirs))
            assert conflicts == []
        else:  # export: PC CADDIE's group, written when PC CADDIE changed it (Exchange's edit the loser)
            merged = mine
            overwritten = mine != AGREED["address"] and theirs != AGREED["address"]
            assert conflicts == ([("address", Side.PCCADDIE, THEIRS)] if overwritten else [])
        assert written == (
            merged if merged != theirs and (mode is FieldMode.SYNC or mine != AGREED["address"]) else None,
            merged if merged != mine else None,
        )


# -- FIELDS -----------------------------------------------------------------------------------------


def field_value(state, side):
    return {Field.AS_AGREED: "1", Field.EMPTY: "", Field.CHANGED: side, Field.FILLED: side}[state]


def field_observation(mode, mine, theirs, other_mine="2", policy_times=None):
    """The phone's first field in the given states; its other fields alike on both sides (and as
    agreed), except PC CADDIE's second one when `other_mine` differs."""
    against = mine in AGAINST_AGREED
    local = with_group("phone", (field_value(mine, "L"), other_mine, "3"))
    remote = with_group("phone", (field_value(theirs, "R"), "2", "3"))
    digests = {g: digest(v) for g, v in AGREED.items()}
    if not against:
        del digests["phone"]  # never agreed: merged with no agreed values
    state = link(digests=digests, agreed={"phone": AGREED["phone"]} if against else {})
    return ContactObservation(state, local, remote, remote_change_key="ck2"), {**ALL_SYNC, "phone": mode}


@pytest.mark.parametrize("policy", [Policy.PCCADDIE_WINS, Policy.EXCHANGE_WINS])
@pytest.mark.parametrize("mode, mine, theirs", list(FIELDS))
def test_decide_contact_carries_out_each_field_row(mode, mine, theirs, policy):
    observation, modes = field_observation(mode, mine, theirs)
    decision = decide_contact(observation, modes, policy)
    ours, others = observation.local["phone"], observation.remote["phone"]
    to_exchange, to_pccaddie = decision.to_exchange.get("phone"), decision.to_pccaddie.get("phone")
    conflicts = [c for c in decision.conflicts if c[0] == "phone"]
    decided = FIELDS[(mode, mine, theirs)]
    if decided is FieldOutcome.NOTHING:
        assert (to_exchange, to_pccaddie, conflicts) == (None, None, [])
    elif decided is FieldOutcome.UPDATE_PCCADDIE:
        assert (to_exchange, to_pccaddie, conflicts) == (None, others, [])
        assert decision.agreed["phone"] == others
    elif decided is FieldOutcome.UPDATE_EXCHANGE:
        assert (to_exchange, to_pccaddie, conflicts) == (ours, None, [])
        assert decision.agreed["phone"] == ours
    elif decided is FieldOutcome.POLICY:  # "L" against "R": the policy's winner, the other kept
        won, lost = (ours, others) if policy is Policy.PCCADDIE_WINS else (others, ours)
        winner = Side.PCCADDIE if policy is Policy.PCCADDIE_WINS else Side.EXCHANGE
        assert (to_exchange or others, to_pccaddie or ours) == (won, won)
        assert conflicts == [("phone", winner, lost)] and decision.agreed["phone"] == won
    elif decided is FieldOutcome.OVERWRITE:  # whatever the policy: PC CADDIE's, Outlook's the loser
        assert (to_exchange, to_pccaddie) == (ours, None)
        assert conflicts == [("phone", Side.PCCADDIE, others)] and decision.agreed["phone"] == ours
    elif decided is FieldOutcome.IGNORED:  # PC CADDIE changed nothing else: ignored, the base kept
        assert (to_exchange, to_pccaddie, conflicts) == (None, None, [])
        assert decision.agreed.get("phone", AGREED["phone"]) == AGREED["phone"]
    else:  # kept in Exchange; what PC CADDIE holds is agreed
        assert decided is FieldOutcome.KEPT
        assert (to_exchange, to_pccaddie, conflicts) == (None, None, [])
        assert decision.agreed["phone"] == ours


@pytest.mark.parametrize("mode, mine, theirs", [k for k, v in FIELDS.items() if v is FieldOutcome.IGNORED])
def test_an_ignored_exchange_edit_is_overwritten_once_pc_caddie_changes_the_group(mode, mine, theirs):
    observation, modes = field_observation(mode, mine, theirs, other_mine="5")
    decision = decide_contact(observation, modes, Policy.EXCHANGE_WINS)
    assert decision.to_exchange["phone"] == observation.local["phone"] == ("1", "5", "3")
    assert decision.conflicts == (("phone", Side.PCCADDIE, observation.remote["phone"]),)


@pytest.mark.parametrize(
    "mode, mine, theirs",
    [k for k, v in FIELDS.items() if v in (FieldOutcome.POLICY, FieldOutcome.OVERWRITE)],
)
def test_the_same_value_on_both_sides_is_no_conflict(mode, mine, theirs):
    observation, modes = field_observation(mode, mine, theirs)
    same = with_group("phone", ("L", "2", "3"))
    decision = decide_contact(ContactObservation(observation.link, same, same), modes, Policy.EXCHANGE_WINS)
    assert "phone" not in decision.to_exchange and "phone" not in decision.to_pccaddie
    assert decision.conflicts == ()


def test_field_state():
    assert [table.field_state("1", v) for v in ("1", "2")] == [Field.AS_AGREED, Field.CHANGED]
    assert [table.field_state(None, v) for v in ("", "2")] == [Field.EMPTY, Field.FILLED]


# -- docs/sync.md -----------------------------------------------------------------------------------


def _contact_tables(markdown: str) -> list[str]:
    """Every markdown table of the page's contacts' part."""
    lines = markdown.split("# How the contact sync works", 1)[1].splitlines()
    tables: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith("|") and (index == 0 or not lines[index - 1].startswith("|")):
            rows = list(itertools.takewhile(lambda row: row.startswith("|"), lines[index:]))
            tables.append("\n".join(rows) + "\n")
    return tables


def test_render():
    assert table.render_fields().splitlines()[:3] == [
        "| PC CADDIE's field | Exchange's field | sync | export |",
        "|---|---|---|---|",
        "| as agreed | as agreed | — | — |",
    ]
    assert len(table.render_linked().splitlines()) == 2 + len(Listing) * len(Person)
    assert table.render() == [table.render_new(), table.render_linked(), table.render_basis(), table.render_fields()]


def test_docs_sync_md_shows_the_contact_tables_as_they_are():
    assert _contact_tables(SYNC_MD.read_text(encoding="utf-8")) == table.render(), (
        "docs/sync.md's contact decision tables differ from sync_service/core/contact_decision_table.py: "
        "paste render_new(), render_linked(), render_basis() and render_fields() into its contacts' part"
    )


def test_the_docs_check_notices_a_difference():
    page = SYNC_MD.read_text(encoding="utf-8")
    contacts = page.index("# How the contact sync works")
    changed = page[:contacts] + page[contacts:].replace("| kept in Exchange |", "| taken in |", 1)
    assert changed != page and _contact_tables(changed) != table.render()
