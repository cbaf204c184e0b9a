"""A Hypothesis state machine for recurring series (issue 17), beside test_convergence's: users make
series in Outlook, edit and delete single occurrences on either side, edit, shorten and delete
the series; the window moves; syncs fail before or after their writes take effect or answer an
item with an error. Once the machine settles (quiet cycles without failures), within the window
every occurrence of every series is one appointment holding exactly the occurrence's content (the
full-content oracle), each appointment has one link, nothing is stopped, every content either side
holds is one a user wrote or a pattern made (the sync copies, it never invents), every series
Outlook did not delete is still a series, and an edit made in PC CADDIE to every occurrence still
reaches Exchange as an exception of it."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import tempfile
from pathlib import Path
from typing import Any

import trio
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sync_service.admin.parameters import set_parameter
from sync_service.admin.timetable import AppointmentInput, delete_appointment, update_appointment
from sync_service.engine.calendar_sync import CalendarSync, EngineSettings
from sync_service.engine.database import DbRunner
from sync_service.store.models import Appointment, AppointmentLink
from tests.sync_service.engine.conftest import BERLIN, make_club, utc
from tests.sync_service.engine.test_convergence import Content, local_content, remote_content

UTC = dt.timezone.utc
QUIET_CYCLES = 8
WINDOWS = [(3, 20), (3, 27), (10, 27), (0, 34)]  # (days back, days ahead): the window moves
MAX_SERIES = 3


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class SeriesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.club = make_club(Path(self.folder.name))
        self.club.write(set_parameter, "SYNC_EXCH_ATTEMPTS", "1000")  # no item stops: each failure is once
        self.fake = self.club.exchange
        self.fake.new_exception_ids = True  # an occurrence's id changes when it becomes an exception
        self.window = WINDOWS[0]
        self.masters: list[str] = []  # every series made; those Outlook deleted are gone from fake.series
        self.names = itertools.count(1)
        self.written: set[Content] = set()  # every content a user wrote or a pattern made

    def teardown(self) -> None:
        self.club.db.close()
        self.folder.cleanup()

    # -- reading -----------------------------------------------------------------------------------

    def _bounds(self) -> tuple[dt.datetime, dt.datetime]:
        now = dt.datetime.now(UTC)
        return now - dt.timedelta(days=self.window[0]), now + dt.timedelta(days=self.window[1])

    def _occurrences(self, wide: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
        """Every occurrence of every series overlapping the window (`wide`: any window the machine
        uses), by (series, original start)."""
        first, last = self._bounds()
        if wide:
            first, last = first - dt.timedelta(days=60), last + dt.timedelta(days=60)
        found = {}
        for master in self.fake.series:
            for view in self.fake._expand(master, *(t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in (first, last))):
                found[(master, view["original_start"])] = view
        return found

    def _note_patterns(self) -> None:
        """What the patterns make now counts as written (by the user who made the series); a linked
        occurrence outside the window follows its changes too, as a linked single item does."""
        self.written |= {remote_content(view) for view in self._occurrences(wide=True).values()}

    def _links(self) -> list[AppointmentLink]:
        with self.club.db.connection_context():
            return [link for link in AppointmentLink.select() if link.appointment_id or link.exchange_id]

    def _locals(self) -> dict[int, Content]:
        with self.club.db.connection_context():
            return {a.id: local_content(a) for a in Appointment.select()}

    def _in_window(self, start: str) -> bool:
        first, last = self._bounds()
        margin = dt.timedelta(hours=2)  # clear of the window's edges, which move with the clock
        return first + margin <= instant(start) <= last - margin

    def _linked_occurrences(self) -> list[AppointmentLink]:
        occurrences = self._occurrences()
        return [
            link
            for link in self._links()
            if link.series_id and (link.series_id, link.original_start) in occurrences and link.appointment_id
        ]

    # -- Outlook ---------------------------------------------------------------------------------

    @precondition(lambda self: len(self.fake.series) < MAX_SERIES)
    @rule(
        first=st.integers(-12, 8),
        hour=st.integers(7, 19),
        every=st.sampled_from(["weekly", "weekly", "daily"]),
        count=st.sampled_from([None, 2, 3, 5]),
        location=st.sampled_from(["", "Range"]),
    )
    def make_series(self, first: int, hour: int, every: str, count: int | None, location: str) -> None:
        if every == "daily" and count is None:
            count = 6
        master = self.fake.user_create_series(
            f"Series {next(self.names)}", utc(first, hour), utc(first, hour + 1), every, count=count, location=location
        )
        self.masters.append(master)
        self._note_patterns()

    def _pick_occurrence(self, data: st.DataObject) -> tuple[str, str] | None:
        keys = sorted(k for k, view in self._occurrences().items() if self._in_window(view["start"]))
        return data.draw(st.sampled_from(keys)) if keys else None

    @precondition(lambda self: self.fake.series)
    @rule(data=st.data(), what=st.sampled_from(["title", "move", "delete"]))
    def outlook_occurrence(self, data: st.DataObject, what: str) -> None:
        key = self._pick_occurrence(data)
        if key is None:
            return
        master, original = key
        if what == "delete":
            self.fake.user_delete_occurrence(master, original)
        elif what == "title":
            self.fake.user_update_occurrence(master, original, subject=f"Outlook {next(self.names)}")
        else:
            begins = instant(original) + dt.timedelta(hours=data.draw(st.sampled_from([-2, 1, 3])))
            self.fake.user_update_occurrence(
                master,
                original,
                start=begins.strftime("%Y-%m-%dT%H:%M:%SZ"),
                end=(begins + dt.timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        self._note_patterns()

    @precondition(lambda self: self.fake.series)
    @rule(data=st.data(), what=st.sampled_from(["title", "location", "time", "shorten", "lengthen", "delete"]))
    def outlook_series(self, data: st.DataObject, what: str) -> None:
        master = data.draw(st.sampled_from(sorted(self.fake.series)))
        item = self.fake.items[master]
        if what == "delete":
            self.fake.user_delete(master)
        elif what == "title":
            self.fake.user_update_series(master, subject=f"Series {next(self.names)}")
        elif what == "location":
            self.fake.user_update_series(master, location=data.draw(st.sampled_from(["Academy", "Hall", ""])))
        elif what == "time":
            shift = dt.timedelta(hours=data.draw(st.sampled_from([-1, 2])))
            start, end = instant(item["start"]) + shift, instant(item["end"]) + shift
            self.fake.user_update_series(
                master, start=start.strftime("%Y-%m-%dT%H:%M:%SZ"), end=end.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
        else:
            count = self.fake.series[master].count or 8
            self.fake.user_update_series(master, count=max(1, count - 2) if what == "shorten" else count + 2)
        self._note_patterns()

    # -- PC CADDIE -------------------------------------------------------------------------------

    @rule(data=st.data(), what=st.sampled_from(["title", "time", "delete"]))
    def pccaddie_occurrence(self, data: st.DataObject, what: str) -> None:
        locals_ = self._locals()
        links = [
            link
            for link in self._linked_occurrences()
            if link.appointment_id in locals_ and self._in_window(locals_[link.appointment_id].start)
        ]
        if not links:
            return
        link = data.draw(st.sampled_from(sorted(links, key=lambda lk: lk.id)))
        if what == "delete":
            self.club.write(delete_appointment, link.appointment_id)
            return
        with self.club.db.connection_context():
            appointment = Appointment.get_by_id(link.appointment_id)
        if what == "title":
            change = AppointmentInput(title=f"PC CADDIE {next(self.names)}")
        else:
            later = appointment.start + dt.timedelta(minutes=30)
            change = AppointmentInput(
                start=later.isoformat(timespec="minutes"),
                end=(later + dt.timedelta(hours=1)).isoformat(timespec="minutes"),
            )
        self.club.write(update_appointment, link.appointment_id, change, BERLIN)
        with self.club.db.connection_context():
            self.written.add(local_content(Appointment.get_by_id(link.appointment_id)))

    # -- the window and the cycles -----------------------------------------------------------------

    @rule(window=st.sampled_from(WINDOWS))
    def move_window(self, window: tuple[int, int]) -> None:
        self.window = window
        self._note_patterns()

    @rule(
        op=st.sampled_from(["changes", "get", "occurrences", "update", "delete"]),
        when=st.sampled_from(["before", "after", "item"]),
    )
    def sync_failing(self, op: str, when: str) -> None:
        if when == "item" and op not in ("update", "delete", "get"):
            when = "before"
        self.fake.fail(op, when, "server_error" if when == "item" else "timeout")
        self._cycle()
        self.fake.failures.clear()

    def _cycle(self) -> Any:
        async def run() -> Any:
            engine = CalendarSync(
                DbRunner(self.club.db), EngineSettings(BERLIN, self.club.vault, self.window), lambda a: self.fake
            )
            return await engine.run(self.club.subscription_id)

        return trio.run(run)

    @rule()
    def sync_clean(self) -> None:
        outcome = self._cycle()
        assert outcome.error is None and outcome.not_syncing is None, outcome

    @rule(moves=st.booleans())
    def settle(self, moves: bool) -> None:
        self._settle()
        if moves:
            self._still_moves()

    def _settle(self) -> None:
        for _ in range(QUIET_CYCLES):
            outcome = self._cycle()
            assert outcome.error is None and outcome.not_syncing is None, outcome
            if not outcome.counts:
                break
        else:
            raise AssertionError(f"still writing after {QUIET_CYCLES} cycles without failures")
        self._check()

    def _check(self) -> None:
        occurrences, locals_, links = self._occurrences(), self._locals(), self._links()
        by_key = {(link.series_id, link.original_start): link for link in links if link.series_id}
        for key, view in occurrences.items():
            if not self._in_window(view["original_start"]) or not self._in_window(view["start"]):
                continue
            link = by_key.get(key)
            assert link is not None, f"the occurrence {key} has no appointment"
            assert link.exchange_id == view["id"] and not link.stopped and not link.pending_create
            assert locals_.get(link.appointment_id) == remote_content(view), f"{key}: differs"
        assert len({link.appointment_id for link in links}) == len(links), "one link per appointment"
        for link in links:
            assert link.appointment_id in locals_ and not link.stopped, link
            if not link.series_id:  # made again in Exchange as a single item (a change won over a deletion)
                assert locals_[link.appointment_id] == remote_content(self.fake.items[link.exchange_id])
        for content in locals_.values():
            assert content in self.written, f"{content} was never written by anyone"
        singles = [item for item in self.fake.items.values() if item.get("series_type", "single") == "single"]
        assert len(singles) == len([link for link in links if not link.series_id])
        assert set(self.fake.series) == {m for m in self.masters if m in self.fake.items}

    def _still_moves(self) -> None:
        links = self._linked_occurrences()
        locals_ = self._locals()
        edited = {}
        for link in links:
            if not self._in_window(locals_[link.appointment_id].start):
                continue
            title = f"Moves {next(self.names)}"
            self.club.write(update_appointment, link.appointment_id, AppointmentInput(title=title), BERLIN)
            edited[(link.series_id, link.original_start)] = title
        with self.club.db.connection_context():
            self.written |= {local_content(a) for a in Appointment.select()}
        self._settle()
        for (master, original), title in edited.items():
            assert self.fake.series[master].exceptions[original]["subject"] == title

    @invariant()
    def one_link_per_occurrence(self) -> None:
        keys = [(link.series_id, link.original_start) for link in self._links() if link.series_id]
        assert len(set(keys)) == len(keys)


# deeper: SERIES_MACHINE_EXAMPLES=500 pytest tests/sync_service/engine/test_series_convergence.py
SeriesMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SERIES_MACHINE_EXAMPLES", "30")),
    stateful_step_count=int(os.environ.get("SERIES_MACHINE_STEPS", "20")),
    derandomize=os.environ.get("HYPOTHESIS_PROFILE", "deterministic") == "deterministic",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=tuple(Phase) if os.environ.get("SERIES_MACHINE_SHRINK", "0") == "1" else (Phase.generate,),
)
test_series_converge = SeriesMachine.TestCase
