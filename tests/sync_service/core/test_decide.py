"""The decision over its whole table: each side unchanged / same as agreed / changed / deleted,
for new and linked items, under every option."""

import datetime as dt
import itertools

import pytest

from sync_service.core.decide import decide
from sync_service.core.model import UNCHANGED, Link, Observation, Options, Policy, Side, Version
from sync_service.core.plan import Conflict, Create, Delete, Relink, Update

AGREED = "agreed"
T0 = dt.datetime(2026, 6, 1, 8, tzinfo=dt.timezone.utc)


def version(side, digest, **kw):
    key = "L1" if side is Side.PCCADDIE else "R1"
    return Version(key=key, content=digest, digest=digest, title=kw.pop("title", "Round"), start=T0, **kw)


def link(origin=Side.PCCADDIE, **kw):
    return Link(1, "L1", kw.pop("remote_key", "R1"), AGREED, origin, kw.pop("change_key", "ck1"), **kw)


STATES = {
    "unchanged": lambda side: UNCHANGED,
    "same": lambda side: version(side, AGREED, change_key="ck2" if side is Side.EXCHANGE else None),
    "changed": lambda side: version(side, f"new-{side.value}", change_key="ck2" if side is Side.EXCHANGE else None),
    "deleted": lambda side: None,
}


def kinds(plan):
    return [(type(a).__name__, getattr(a, "side", None)) for a in plan.actions]


EXPECTED = {
    ("unchanged", "unchanged"): [],
    ("unchanged", "same"): [("Relink", None)],  # the change key moved (e.g. our own write)
    ("unchanged", "changed"): [("Update", Side.PCCADDIE)],
    ("unchanged", "deleted"): [("Delete", Side.PCCADDIE)],
    ("same", "unchanged"): [],
    ("same", "same"): [("Relink", None)],
    ("same", "changed"): [("Update", Side.PCCADDIE)],
    ("same", "deleted"): [("Delete", Side.PCCADDIE)],
    ("changed", "unchanged"): [("Update", Side.EXCHANGE)],
    ("changed", "same"): [("Update", Side.EXCHANGE)],
    ("changed", "changed"): [("Update", Side.EXCHANGE)],  # a conflict, PC CADDIE wins by default
    ("changed", "deleted"): [("Create", Side.EXCHANGE)],
    ("deleted", "unchanged"): [("Delete", Side.EXCHANGE)],
    ("deleted", "same"): [("Delete", Side.EXCHANGE)],
    ("deleted", "changed"): [("Create", Side.PCCADDIE)],
    ("deleted", "deleted"): [("Unlink", None)],
}

READ_ONLY = {
    **EXPECTED,
    ("unchanged", "changed"): [("Relink", None)],  # ignored; its change key kept for the next overwrite
    ("unchanged", "deleted"): [("Relink", None)],  # ignored; made again on the next PC CADDIE change
    ("same", "changed"): [("Relink", None)],
    ("same", "deleted"): [("Relink", None)],
    ("changed", "changed"): [("Update", Side.EXCHANGE)],  # no conflict: Exchange's change does not count
    ("deleted", "changed"): [("Delete", Side.EXCHANGE)],
}


@pytest.mark.parametrize("local_state, remote_state", list(itertools.product(STATES, STATES)))
@pytest.mark.parametrize("read_only", [False, True])
def test_linked_item_table(local_state, remote_state, read_only):
    observation = Observation(link(), STATES[local_state](Side.PCCADDIE), STATES[remote_state](Side.EXCHANGE))
    plan = decide([observation], Options(read_only=read_only), linked_items=100)
    table = READ_ONLY if read_only else EXPECTED
    assert kinds(plan) == table[(local_state, remote_state)]
    writes_to_pccaddie = [
        a for a in plan.actions if isinstance(a, (Create, Update, Delete)) and a.side is Side.PCCADDIE
    ]
    if read_only:
        assert writes_to_pccaddie == []


def test_conflict_policies_and_the_loser_is_kept():
    local = version(Side.PCCADDIE, "L", modified=T0)
    remote = version(Side.EXCHANGE, "R", modified=T0 + dt.timedelta(minutes=5), change_key="ck9")
    cases = {
        Policy.PCCADDIE_WINS: (Side.PCCADDIE, Side.EXCHANGE, remote),
        Policy.EXCHANGE_WINS: (Side.EXCHANGE, Side.PCCADDIE, local),
        Policy.NEWEST_WINS: (Side.EXCHANGE, Side.PCCADDIE, local),
    }
    for policy, (winner, written, loser) in cases.items():
        plan = decide([Observation(link(), local, remote)], Options(policy=policy), 100)
        (update,) = plan.of(Update)
        assert update.side is written and update.source is (local if winner is Side.PCCADDIE else remote)
        assert plan.conflicts == (Conflict(link(), winner, loser),)
        if written is Side.EXCHANGE:
            assert update.link.change_key == "ck9"  # the update carries the change key just seen


def test_newest_wins_older_exchange_loses():
    local = version(Side.PCCADDIE, "L", modified=T0 + dt.timedelta(hours=1))
    remote = version(Side.EXCHANGE, "R", modified=T0)
    plan = decide([Observation(link(), local, remote)], Options(policy=Policy.NEWEST_WINS), 100)
    assert plan.conflicts[0].winner is Side.PCCADDIE


def test_both_sides_changed_alike_is_no_conflict():
    local, remote = version(Side.PCCADDIE, "X"), version(Side.EXCHANGE, "X", change_key="ck5")
    plan = decide([Observation(link(), local, remote)], Options(), 100)
    assert plan.actions == (Relink(link(), "X", "ck5", content=local.content),) and plan.conflicts == ()


@pytest.mark.parametrize(
    "options, remote_kw, skipped",
    [
        (Options(), {}, None),
        (Options(read_only=True), {}, "read-only"),
        (Options(hide_private=True), {"private": True}, "private"),
        (Options(hide_private=False), {"private": True}, None),
        (Options(), {"recurring": True}, "recurring"),
        (Options(excluded=lambda t: t.startswith("Test")), {"title": "Test round"}, "filtered"),
        (Options(window=(T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=400))), {}, "outside-window"),
    ],
)
def test_new_exchange_item(options, remote_kw, skipped):
    plan = decide([Observation(None, UNCHANGED, version(Side.EXCHANGE, "R", **remote_kw))], options, 0)
    if skipped is None:
        assert kinds(plan) == [("Create", Side.PCCADDIE)]
    else:
        assert plan.actions == () and [s.reason for s in plan.skipped] == [skipped]


@pytest.mark.parametrize(
    "options, local_kw, skipped",
    [
        (Options(), {}, None),
        (Options(read_only=True), {}, None),
        (Options(hide_private=True), {}, None),  # a private PC CADDIE item is exported (as private)
        (Options(excluded=lambda t: "test" in t.casefold()), {"title": "A TEST"}, "filtered"),
        (Options(window=(T0 - dt.timedelta(days=30), T0 - dt.timedelta(days=1))), {}, "outside-window"),
    ],
)
def test_new_pccaddie_item(options, local_kw, skipped):
    plan = decide([Observation(None, version(Side.PCCADDIE, "L", **local_kw), UNCHANGED)], options, 0)
    if skipped is None:
        assert kinds(plan) == [("Create", Side.EXCHANGE)]
    else:
        assert plan.actions == () and [s.reason for s in plan.skipped] == [skipped]


def test_deleted_before_ever_synced_is_nothing():
    assert decide([Observation(None, None, UNCHANGED)], Options(), 0).actions == ()


@pytest.mark.parametrize("origin", list(Side))
@pytest.mark.parametrize("changed_side", list(Side))
def test_title_becoming_excluded_removes_the_copy_the_engine_made(origin, changed_side):
    excluded = Options(excluded=lambda t: t.startswith("Test"))
    changed = version(changed_side, "new", title="Test only")
    observation = (
        Observation(link(origin), changed, UNCHANGED)
        if changed_side is Side.PCCADDIE
        else Observation(link(origin), UNCHANGED, changed)
    )
    plan = decide([observation], excluded, 100)
    assert kinds(plan) == [("Delete", origin.other)]
    assert [s.reason for s in plan.skipped] == ["filtered"]


def test_hide_private_for_a_linked_item():
    private = version(Side.EXCHANGE, "new", private=True)
    from_exchange = decide([Observation(link(Side.EXCHANGE), UNCHANGED, private)], Options(hide_private=True), 100)
    assert kinds(from_exchange) == [("Delete", Side.PCCADDIE)]
    from_pccaddie = decide([Observation(link(Side.PCCADDIE), UNCHANGED, private)], Options(hide_private=True), 100)
    assert [a for a in from_pccaddie.actions if not isinstance(a, Relink)] == []
    assert [s.reason for s in from_pccaddie.skipped] == ["private"]


def test_read_only_remote_gone_is_made_again_on_the_next_local_change():
    gone = link(remote_key=None)
    assert decide([Observation(gone, UNCHANGED, UNCHANGED)], Options(read_only=True), 100).actions == ()
    plan = decide([Observation(gone, version(Side.PCCADDIE, "new"), UNCHANGED)], Options(read_only=True), 100)
    assert kinds(plan) == [("Create", Side.EXCHANGE)] and plan.actions[0].link == gone
    assert kinds(decide([Observation(gone, None, UNCHANGED)], Options(read_only=True), 100)) == [("Unlink", None)]


def test_stopped_links_are_skipped():
    plan = decide([Observation(link(stopped=True), version(Side.PCCADDIE, "new"), UNCHANGED)], Options(), 100)
    assert plan.actions == () and [s.reason for s in plan.skipped] == ["stopped"]


def test_recurring_exchange_change_of_a_linked_item_is_skipped():
    plan = decide([Observation(link(), UNCHANGED, version(Side.EXCHANGE, "new", recurring=True))], Options(), 100)
    assert plan.actions == () and [s.reason for s in plan.skipped] == ["recurring"]


def _deletions(n, side):
    links = [Link(i, f"L{i}", f"R{i}", AGREED, Side.PCCADDIE, "ck") for i in range(n)]
    if side is Side.EXCHANGE:
        return [Observation(lk, UNCHANGED, None) for lk in links]
    return [Observation(lk, None, UNCHANGED) for lk in links]


@pytest.mark.parametrize("side", list(Side))
def test_mass_deletion_guard(side):
    assert decide(_deletions(20, side), Options(), 100).paused is None  # not more than the threshold
    assert decide(_deletions(21, side), Options(), 100).paused is None  # not more than half
    paused = decide(_deletions(51, side), Options(), 100)
    assert paused.paused and "51 of 100" in paused.paused and paused.actions == ()
    assert decide(_deletions(10, side), Options(), 10).paused  # one side suddenly empty
    assert decide(_deletions(3, side), Options(), 3).paused is None  # a small calendar may be emptied


def test_plan_counts():
    observations = [
        Observation(None, version(Side.PCCADDIE, "a"), UNCHANGED),
        Observation(link(), UNCHANGED, None),
        Observation(None, UNCHANGED, version(Side.EXCHANGE, "b", recurring=True)),
    ]
    assert decide(observations, Options(), 100).count() == {
        "create-exchange": 1,
        "delete-pccaddie": 1,
        "skip-recurring": 1,
    }


def test_new_items_with_the_same_content_on_both_sides_are_paired():
    local = Version(key="7", content="c", digest="same", title="Medal")
    remote = Version(key="AAA", content="c", digest="same", title="Medal", change_key="ck")
    other = Version(key="BBB", content="d", digest="different", title="Other")
    plan = decide(
        [
            Observation(None, local, UNCHANGED),
            Observation(None, UNCHANGED, remote),
            Observation(None, UNCHANGED, other),
        ],
        Options(),
        0,
    )
    assert [type(a).__name__ for a in plan.actions] == ["Pair", "Create"]
    assert plan.actions[0].local is local and plan.actions[0].remote is remote
    assert plan.actions[1].source is other


def test_a_second_item_with_a_links_external_id_is_our_twin_only_when_the_create_was_sent_again():
    from sync_service.core.plan import AdoptCopy, DropTwin

    twin = Version(key="R2", content=AGREED, digest=AGREED, title="Round", start=T0)
    resent = decide([Observation(None, remote=twin, copy_of=link(resent=True))], Options(), 100)
    assert resent.actions == (DropTwin(twin),)
    once = decide([Observation(None, remote=twin, copy_of=link())], Options(), 100)
    assert once.actions == (AdoptCopy(twin),)  # the create was sent once: a user's copy
    edited = Version(key="R2", content="moved", digest="moved", title="Round", start=T0)
    assert decide([Observation(None, remote=edited, copy_of=link(resent=True))], Options(), 100).actions == (
        AdoptCopy(edited),
    )
    refused = decide([Observation(None, remote=twin, copy_of=link())], Options(read_only=True), 100)
    assert refused.actions == () and [s.reason for s in refused.skipped] == ["read-only"]


def test_an_update_knows_what_exchange_holds_when_the_cycle_saw_it():
    local, remote = version(Side.PCCADDIE, "X"), version(Side.EXCHANGE, "Y", change_key="ck5")
    (update,) = decide([Observation(link(), local, remote)], Options(), 100).actions
    assert isinstance(update, Update) and update.remote_content == "Y" and update.link.change_key == "ck5"
    (update,) = decide([Observation(link(), local, UNCHANGED)], Options(), 100).actions
    assert update.remote_content is None  # the agreed content stands for it


def test_an_item_beyond_the_window_is_skipped_with_its_start():
    far = T0 + dt.timedelta(days=500)
    local = Version(key="L9", content="x", digest="x", title="Far", start=far)
    plan = decide([Observation(None, local=local)], Options(window=(T0, T0 + dt.timedelta(days=400))), 0)
    assert [(s.reason, s.start) for s in plan.skipped] == [("outside-window", far)]


def test_dropping_our_own_twins_is_no_mass_deletion():
    from sync_service.core.plan import DropTwin

    twins = [
        Observation(
            None,
            remote=Version(key=f"T{i}", content=AGREED, digest=AGREED, title="Round", start=T0),
            copy_of=link(resent=True),
        )
        for i in range(12)
    ]
    plan = decide(twins, Options(), 12)
    assert plan.paused is None and all(isinstance(a, DropTwin) for a in plan.actions) and len(plan.actions) == 12


def _series_deletions(series: int, occurrences: int, singles: int = 0) -> list[Observation]:
    """Exchange deleted `series` series of `occurrences` each (and `singles` single items)."""
    links = [
        Link(s * 1000 + o, f"L{s}.{o}", f"R{s}.{o}", AGREED, Side.EXCHANGE, "ck", series_id=f"M{s}")
        for s in range(series)
        for o in range(occurrences)
    ]
    links += [Link(10**6 + i, f"S{i}", f"RS{i}", AGREED, Side.EXCHANGE, "ck") for i in range(singles)]
    return [Observation(lk, UNCHANGED, None) for lk in links]


def test_a_series_deletion_counts_once_toward_the_mass_deletion_guard():
    # 60 occurrences of one series deleted in Outlook, the subscription holding 5 single items
    # besides (6 items as the guard counts): one deletion of six, not 60 of 65
    plan = decide(_series_deletions(1, 60), Options(), 6)
    assert plan.paused is None and len(plan.of(Delete)) == 60
    # 21 series deleted of 30 items is still more than half and more than the threshold
    paused = decide(_series_deletions(21, 3), Options(), 30)
    assert paused.paused and "21 of 30" in paused.paused
    # every item of ten or more gone: 5 series and 5 singles of 10
    assert decide(_series_deletions(5, 4, singles=5), Options(), 10).paused


def test_an_occurrence_is_an_appointment_a_master_is_not():
    occurrence = version(Side.EXCHANGE, "new", series=("M1", "2026-06-01T16:00:00Z"))
    plan = decide([Observation(None, UNCHANGED, occurrence)], Options(), 0)
    assert kinds(plan) == [("Create", Side.PCCADDIE)]
    master = version(Side.EXCHANGE, "new", recurring=True)
    assert [s.reason for s in decide([Observation(None, UNCHANGED, master)], Options(), 0).skipped] == ["recurring"]
