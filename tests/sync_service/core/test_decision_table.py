"""The calendar decision table as data: complete, carried out by `decide` row by row, and the same
as the tables docs/sync.md shows."""

import itertools
import pathlib

import pytest

from sync_service.core.decide import decide
from sync_service.core.decision_table import TABLE, Change, Mode, Outcome, outcome, render
from sync_service.core.model import UNCHANGED, Link, Observation, Options, Side, Version
from sync_service.core.plan import Create, Delete, Relink, Unlink, Update

SYNC_MD = pathlib.Path(__file__).parents[3] / "docs" / "sync.md"
AGREED = "agreed"
LINK = Link(1, "L1", "R1", AGREED, Side.PCCADDIE, "ck1")


def observed(change, side):
    if change is Change.UNCHANGED:
        return UNCHANGED
    if change is Change.DELETED:
        return None
    key = "L1" if side is Side.PCCADDIE else "R1"
    change_key = "ck2" if side is Side.EXCHANGE else None
    return Version(key=key, content=f"new-{side.value}", digest=f"new-{side.value}", change_key=change_key)


# what each outcome puts in the plan, for the observations above (both sides changed differently:
# a conflict, which PC CADDIE wins by default)
ACTIONS = {
    Outcome.NOTHING: [],
    Outcome.UPDATE_PCCADDIE: [(Update, Side.PCCADDIE)],
    Outcome.UPDATE_EXCHANGE: [(Update, Side.EXCHANGE)],
    Outcome.DELETE_IN_PCCADDIE: [(Delete, Side.PCCADDIE)],
    Outcome.DELETE_IN_EXCHANGE: [(Delete, Side.EXCHANGE)],
    Outcome.CREATE_IN_PCCADDIE: [(Create, Side.PCCADDIE)],
    Outcome.CREATE_IN_EXCHANGE: [(Create, Side.EXCHANGE)],
    Outcome.FORGET_LINK: [(Unlink, None)],
    Outcome.BOTH_CHANGED: [(Update, Side.EXCHANGE)],
    Outcome.IGNORE_EXCHANGE_CHANGE: [(Relink, None)],
    Outcome.IGNORE_EXCHANGE_DELETION: [(Relink, None)],
}


def test_the_table_has_one_row_for_every_case():
    assert set(TABLE) == set(itertools.product(Mode, Change, Change))
    assert set(TABLE.values()) == set(Outcome)  # no outcome is unreachable


def test_the_table_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        TABLE[(Mode.TWO_WAY, Change.UNCHANGED, Change.UNCHANGED)] = Outcome.FORGET_LINK  # type: ignore[index]


@pytest.mark.parametrize("mode, local, remote", list(TABLE))
def test_decide_carries_out_each_row(mode, local, remote):
    options = Options(read_only=mode is Mode.READ_ONLY)
    plan = decide([Observation(LINK, observed(local, Side.PCCADDIE), observed(remote, Side.EXCHANGE))], options, 100)
    decided = outcome(mode, local, remote)
    assert [(type(a), getattr(a, "side", None)) for a in plan.actions] == ACTIONS[decided]
    if decided is Outcome.BOTH_CHANGED:
        assert [c.winner for c in plan.conflicts] == [Side.PCCADDIE]
    else:
        assert plan.conflicts == ()
    if decided is Outcome.IGNORE_EXCHANGE_CHANGE:
        assert plan.actions == (Relink(LINK, AGREED, "ck2", content_unknown=True),)
    if decided is Outcome.IGNORE_EXCHANGE_DELETION:
        assert plan.actions == (Relink(LINK, AGREED, forget_remote=True),)
    read_only_skips = [s for s in plan.skipped if s.reason == "read-only"]
    assert len(read_only_skips) == (mode is Mode.READ_ONLY and remote is Change.CHANGED)


def test_both_changed_alike_is_only_a_relink():
    same = Version(key="x", content="X", digest="X", change_key="ck5")
    plan = decide([Observation(LINK, same, same)], Options(), 100)
    assert outcome(Mode.TWO_WAY, Change.CHANGED, Change.CHANGED) is Outcome.BOTH_CHANGED
    assert plan.actions == (Relink(LINK, "X", "ck5", content="X"),) and plan.conflicts == ()


def _tables(markdown: str) -> list[str]:
    tables: list[str] = []
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("| PC CADDIE \\ Exchange |"):
            rows = list(itertools.takewhile(lambda row: row.startswith("|"), lines[index:]))
            tables.append("\n".join(rows) + "\n")
    return tables


def test_render():
    assert render(Mode.TWO_WAY).splitlines()[:3] == [
        "| PC CADDIE \\ Exchange | unchanged | changed | deleted |",
        "|---|---|---|---|",
        "| unchanged | — | update PC CADDIE | delete in PC CADDIE |",
    ]


def test_docs_sync_md_shows_the_table_as_it_is():
    assert _tables(SYNC_MD.read_text(encoding="utf-8")) == [render(Mode.TWO_WAY), render(Mode.READ_ONLY)], (
        "docs/sync.md's decision tables differ from sync_service/core/decision_table.py: "
        "paste render(Mode.TWO_WAY) and render(Mode.READ_ONLY) into the page"
    )


def test_the_docs_check_notices_a_difference():
    page = SYNC_MD.read_text(encoding="utf-8").replace("| forget the link |", "| keep the link |", 1)
    assert _tables(page) != [render(Mode.TWO_WAY), render(Mode.READ_ONLY)]
