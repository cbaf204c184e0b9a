"""Reading Exchange's change feed: own writes known by change key, the rest fetched, links verified."""

import pytest

from protocol.entries import Change, Fetched
from sync_service.core import remote_feed
from sync_service.core.remote_feed import FetchError, Known, complete, to_fetch

FEED_WIRE = [
    {"type": "create", "id": "A", "change_key": "a1", "item": None},  # our own create, key known
    {"type": "update", "id": "B", "change_key": "b2", "item": None},  # changed since we knew it
    {"type": "create", "id": "C", "change_key": "c1", "item": None},  # new, made in Outlook
    {"type": "update", "id": "D", "change_key": "d9", "item": None},  # another area's item
    {"type": "delete", "id": "E", "change_key": None, "item": None},
    {"type": "unsupported", "id": "F", "change_key": "f1", "item": None, "item_type": "DistributionList"},
]
FEED = [Change.from_wire("calendar", c) for c in FEED_WIRE]
KNOWN = {"A": Known("a1"), "B": Known("b1"), "D": Known("d1", mine=False)}


def _read(answers):
    """`get`'s answers, as GatewayExchangeClient reads them."""
    return {item_id: Fetched.from_wire("calendar", answer) for item_id, answer in answers.items()}


def test_only_what_the_engine_does_not_hold_is_fetched():
    assert to_fetch(FEED, KNOWN, verify=["A", "G"]) == ["B", "C", "G"]  # A is mentioned: no lookup needed
    assert to_fetch(FEED, KNOWN, verify=[], unknown=False) == ["B"]  # contacts: strangers are never read


def test_the_completed_feed():
    fetched = _read(
        {
            "B": {"ok": True, "item": {"id": "B", "subject": "b"}},
            "C": {"ok": False, "id": "C", "error": {"code": "not_found", "message": "gone again"}},
            "G": {"ok": True, "item": {"id": "G", "subject": "g"}},
        }
    )
    feed = complete(FEED, KNOWN, ["G", "H"], fetched)
    assert [(c.kind, c.id) for c in feed.changes] == [
        ("update", "B"),
        ("delete", "C"),
        ("delete", "E"),
        ("update", "G"),
    ]
    assert feed.unsupported == (("F", "DistributionList"),)
    assert feed.seen == {"A", "B", "C", "D", "E", "F", "G"}  # H was not looked up: not seen


def test_a_fetch_that_fails_otherwise_fails_the_feed():
    fetched = _read({"C": {"ok": False, "id": "C", "error": {"code": "server_error", "message": "boom"}}})
    with pytest.raises(FetchError):
        complete(FEED[2:3], {}, [], fetched)


class _Budgeted:
    """A gateway whose replies hold at most `budget` items: the rest answer busy."""

    def __init__(self, budget: int) -> None:
        self.budget, self.requests = budget, []

    async def get(self, ids):
        self.requests.append(list(ids))
        answers = [
            {"ok": True, "item": {"id": i}}
            if n < self.budget
            else {"ok": False, "id": i, "error": {"code": "busy", "message": "reply full"}}
            for n, i in enumerate(ids)
        ]
        return [Fetched.from_wire("calendar", a) for a in answers]


async def test_items_past_a_full_reply_are_asked_for_again():
    gateway = _Budgeted(2)
    answers = await remote_feed.fetch(gateway, ["a", "b", "c", "d", "e"])
    assert all(answers[i].ok for i in "abcde")
    assert gateway.requests == [["a", "b", "c", "d", "e"], ["c", "d", "e"], ["e"]]


async def test_a_reply_of_which_nothing_fits_ends_the_fetch():
    gateway = _Budgeted(0)
    answers = await remote_feed.fetch(gateway, ["a", "b"])
    assert len(gateway.requests) == 1 and all(answers[i].code == "busy" for i in "ab")
    with pytest.raises(remote_feed.FetchError):
        remote_feed.complete([Change("create", "a", change_key="k")], {}, [], answers)
