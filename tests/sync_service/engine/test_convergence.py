"""A Hypothesis state machine, after vdirsyncer's: users change both sides at will, syncs fail
before or after they take effect, and after every clean sync both sides agree, nothing is
duplicated, nothing the users kept is lost, and a second clean sync has nothing left to do."""

import itertools
import os
import tempfile
from pathlib import Path

import trio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.sync_service.engine.conftest import make_club, utc

OPS = ["changes", "create", "update", "delete", "find_external"]


class SyncMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.club = make_club(Path(self.folder.name))
        self.names = itertools.count(1)
        self.deleted_titles: set[str] = set()

    def teardown(self):
        self.club.db.close()
        self.folder.cleanup()

    def _title(self, side):
        return f"{side} {next(self.names)}"

    # -- PC CADDIE's side ---------------------------------------------------------------------

    @rule(offset=st.integers(0, 5))
    def local_create(self, offset):
        self.club.add(self._title("local"), offset=offset)

    @precondition(lambda self: self.club.local())
    @rule(data=st.data())
    def local_update(self, data):
        appointment_id = data.draw(st.sampled_from(sorted(self.club.local())))
        self.club.update(appointment_id, title=self._title("local edit"))

    @precondition(lambda self: self.club.local())
    @rule(data=st.data())
    def local_delete(self, data):
        appointment_id = data.draw(st.sampled_from(sorted(self.club.local())))
        self.deleted_titles.add(self.club.local()[appointment_id].title)
        self.club.delete(appointment_id)

    # -- Exchange's side ----------------------------------------------------------------------

    @rule(offset=st.integers(0, 5))
    def remote_create(self, offset):
        self.club.exchange.user_create(subject=self._title("remote"), start=utc(offset, 11), end=utc(offset, 12))

    @precondition(lambda self: self.club.exchange.items)
    @rule(data=st.data())
    def remote_update(self, data):
        item_id = data.draw(st.sampled_from(sorted(self.club.exchange.items)))
        self.club.exchange.user_update(item_id, subject=self._title("remote edit"))

    @precondition(lambda self: self.club.exchange.items)
    @rule(data=st.data())
    def remote_delete(self, data):
        item_id = data.draw(st.sampled_from(sorted(self.club.exchange.items)))
        self.deleted_titles.add(self.club.exchange.items[item_id]["subject"])
        self.club.exchange.user_delete(item_id)

    # -- syncing ------------------------------------------------------------------------------

    @rule(op=st.sampled_from(OPS), when=st.sampled_from(["before", "after", "item"]))
    def sync_that_fails(self, op, when):
        self.club.exchange.failures.clear()
        self.club.exchange.fail(op, when=when)
        trio.run(self.club.sync)
        self.club.exchange.failures.clear()

    @rule()
    def sync_clean(self):
        self.club.exchange.failures.clear()
        before_local, before_remote = self.club.titles(), self.club.remote_titles()
        outcome = trio.run(self.club.sync)
        assert outcome.error is None and outcome.not_syncing is None, outcome
        local, remote = sorted(a.title for a in self.club.local().values()), sorted(self.club.remote_titles())
        assert local == sorted(self.club.titles())
        assert local == remote, "both sides agree"
        assert len(local) == len(set(local)), "nothing duplicated"
        assert len(self.club.exchange.items) == len(remote) == len(self.club.links()), "one link per item"
        kept = (before_local | before_remote) - self.deleted_titles
        # whatever a user kept is still there, unless it was the losing version of a conflict
        missing = kept - set(local)
        assert all(title.startswith(("local", "remote")) for title in missing)
        again = trio.run(self.club.sync)
        assert again.counts == {}, f"a second clean sync has nothing to do: {again.counts}"

    @invariant()
    def no_duplicate_links(self):
        links = self.club.links()
        assert len({link.appointment_id for link in links}) == len(links)


# deeper: SYNC_MACHINE_EXAMPLES=1000 HYPOTHESIS_PROFILE=explore pytest tests/sync_service/engine/test_convergence.py
SyncMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SYNC_MACHINE_EXAMPLES", "40")),
    stateful_step_count=20,
    derandomize=os.environ.get("HYPOTHESIS_PROFILE", "deterministic") == "deterministic",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_sync_converges = SyncMachine.TestCase
