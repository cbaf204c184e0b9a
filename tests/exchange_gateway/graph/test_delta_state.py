"""The Graph feed's sync state: opaque on the wire, refused when it is not ours, and telling a
create from an update."""

from __future__ import annotations

import base64

import pytest

from exchange_gateway.errors import GatewayError
from exchange_gateway.graph.delta_state import DELTA, MAX_RECENT, MAX_SERIES_KNOWN, SKIP, DeltaState, Known
from exchange_gateway.graph.mailbox import merged
from protocol.entries import Change


def test_the_state_round_trips():
    state = DeltaState(SKIP, "tok/en+=", Known(1000, (("A", 999),)), Known(900))
    assert DeltaState.from_text(state.to_text()) == state
    told = state.with_series({"M1": "ck1", "M2": "ck2"})
    assert DeltaState.from_text(told.to_text()) == told and told.series == (("M1", "ck1"), ("M2", "ck2"))
    assert told.next_round(1001).series == told.series  # the masters known carry over to the next round


def test_the_state_keeps_the_latest_series_masters_only():
    told = DeltaState(DELTA, "t", Known(1000)).with_series({f"M{n}": "ck" for n in range(MAX_SERIES_KNOWN + 5)})
    assert [i for i, _ in told.series] == [f"M{n}" for n in range(5, MAX_SERIES_KNOWN + 5)]


@pytest.mark.parametrize("text", ["not a sync state", "graph1.", "graph1.e30=", "graph1.!!!", "H4sIAAAA"])
def test_a_state_that_is_not_ours_is_sync_state_invalid(text: str):
    with pytest.raises(GatewayError) as refused:
        DeltaState.from_text(text)
    assert refused.value.code == "sync_state_invalid"


def test_made_after_the_snapshot_is_new_before_it_is_not():
    known = Known(1000, (("known", 1000),))
    assert known.is_new("later", 1001)
    assert not known.is_new("older", 998)
    assert known.is_new("same second, unknown", 1000) and known.is_new("a second before, unknown", 999)
    assert not known.is_new("known", 1000)


def test_a_round_remembers_the_recent_items_it_saw_and_carries_those_still_recent():
    state = DeltaState(DELTA, "t", Known(1000, (("old-recent", 999),))).next_round(1001)
    assert state.mode == SKIP and state.base == Known(1000, (("old-recent", 999),))
    known = state.knowing({"fresh": 1001, "long ago": 100, "removed": 1001}, {"removed"})
    assert known == Known(1001, (("fresh", 1001),), through=1000)
    carried = DeltaState(SKIP, "t", Known(1000), Known(1000, (("carried", 1000),))).knowing({}, set())
    assert carried.recent == (("carried", 1000),)


def test_a_state_of_before_through_is_read_as_it_was():
    old = "graph1." + base64.urlsafe_b64encode(b'{"m":"delta","t":"T","r":[1000,[["A",999]]],"b":null}').decode()
    assert DeltaState.from_text(old) == DeltaState(DELTA, "T", Known(1000, (("A", 999),)))
    state = DeltaState(DELTA, "T", Known(1000, (), through=999))
    assert DeltaState.from_text(state.to_text()) == state


def test_only_the_ids_of_the_latest_second_seen_are_kept():
    """Items made before the latest second the round saw an item made in existed at its snapshot:
    `through` covers them, and their ids are not kept."""
    state = DeltaState(SKIP, "-", Known(1000))
    known = state.knowing({"a": 999, "b": 999, "c": 1000, "d": 1000}, set())
    assert known == Known(1000, (("c", 1000), ("d", 1000)), through=999)
    assert not known.is_new("a", 999) and not known.is_new("c", 1000)
    assert known.is_new("made after the snapshot", 1000) and known.is_new("later", 1001)
    earlier = DeltaState(SKIP, "-", Known(1000)).knowing({"a": 999, "b": 999}, set())
    assert earlier == Known(1000, (("a", 999), ("b", 999)), through=998)
    assert earlier.is_new("made after the snapshot", 1000) and earlier.is_new("also after", 999)


def test_a_burst_keeps_at_most_max_recent_ids():
    burst = {f"item-{n:04}": 1000 for n in range(1000)}
    state = DeltaState(SKIP, "-", Known(1000), Known(900, (), through=899))
    known = state.knowing(burst, set())
    assert known.recent == () and known.through == 1000
    assert not any(known.is_new(i, c) for i, c in burst.items())
    assert known.is_new("made later", 1001)
    some = state.knowing(dict(list(burst.items())[:MAX_RECENT]), set())
    assert len(some.recent) == MAX_RECENT and some.through == 999
    # the next round carries `through` and covers the burst without its ids
    after = DeltaState(DELTA, "t", known).next_round(1001).knowing({"new": 1001}, set())
    assert after.through == 1000 and after.recent == (("new", 1001),)
    assert len(DeltaState(DELTA, "t", known).to_text()) < 200


def test_two_pages_merge_as_one():
    earlier = [Change("create", "A"), Change("create", "B"), Change("update", "C"), Change("update", "D")]
    later = [
        Change("update", "A", change_key="A2"),
        Change("delete", "B"),
        Change("delete", "C"),
        Change("create", "E"),
    ]
    assert merged(earlier, later) == [
        Change("create", "A", change_key="A2"),
        Change("delete", "C"),
        Change("update", "D"),
        Change("create", "E"),
    ]
