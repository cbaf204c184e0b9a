"""A Hypothesis state machine, after vdirsyncer's: users change both sides at will (Outlook also
copies items and holds items of other kinds), syncs fail before or after their writes take effect,
lose their answers, finish a create late or are killed part-way, and one or two areas share the
Exchange calendar.

The model knows, for every item, its appointment and its Exchange item (as they come to be) and
what the two sides last agreed on. Each cycle may only leave an item as it was or carry out what
the decision table asks for (the sync copies and deletes, it never invents content); once the
machine settles (quiet cycles without failures) both sides hold exactly the model's items, with
full content, each in its area, each with exactly one link, nothing stopped, nothing twice; and an
edit made to every item on either side still reaches the other side."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import trio
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sync_service.admin.areas import add_area
from sync_service.admin.parameters import set_parameter
from sync_service.admin.subscriptions import CalendarOptions, add_calendar
from sync_service.admin.timetable import AppointmentInput, add_appointment, delete_appointment, update_appointment
from sync_service.engine.calendar_sync import CalendarSync, EngineSettings
from sync_service.engine.database import DbRunner
from sync_service.store.models import Appointment, AppointmentLink, TimetableArea
from tests.sync_service.engine.conftest import BERLIN, day, make_club, utc

TEE, LESSONS = "Tee times", "Lessons"  # Tee times is the first subscription: the import area
OPS = ["changes", "get", "find_external", "create", "update", "delete"]
MAX_ITEMS = 9  # fewer than the mass-deletion guard's 10
QUIET_CYCLES = 8  # a settling machine that still writes after this many cycles is stuck
NEW = "new"  # an item not agreed on yet (the sync has not linked it)


class Content(NamedTuple):
    """An appointment as both sides must agree on it: UTC instants (or days, all-day)."""

    title: str
    start: str
    end: str
    all_day: bool
    location: str
    text: str
    private: bool


def _utc_text(wall: dt.datetime, fold: int) -> str:
    return wall.replace(tzinfo=BERLIN, fold=fold).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_content(a: Appointment) -> Content:
    if a.all_day:
        start, end = a.start.date().isoformat(), (a.end - dt.timedelta(days=1)).date().isoformat()
    else:
        start, end = _utc_text(a.start, a.start_fold), _utc_text(a.end, a.end_fold)
    return Content(a.title, start, end, bool(a.all_day), a.location, a.text, bool(a.private))


def remote_content(item: dict[str, Any]) -> Content:
    return Content(
        item["subject"],
        item["start"],
        item["end"],
        bool(item["all_day"]),
        item.get("location") or "",
        item.get("body") or "",
        bool(item.get("private")),
    )


def the_day(offset: int) -> str:
    return (dt.date.today() + dt.timedelta(days=offset)).isoformat()


def area_of(categories: list[str], shared: bool) -> str:
    """The area an item made in Outlook belongs in: the first category naming an area, else the
    import area (Tee times)."""
    if shared:
        for category in categories:
            for area in (TEE, LESSONS):
                if " ".join(category.casefold().split()) == area.casefold():
                    return area
    return TEE


def resolve(local: Content | None, remote: Content | None, agreed: tuple[Any, Any]) -> Content | None:
    """What both sides end with (None: the item is gone) under the decision table, PC CADDIE
    winning a conflict and a change winning over a deletion. `agreed`: the content last agreed,
    as the local and the remote side are compared with it (they differ only when a cycle accounted
    for a remote version that lost a conflict and could not write the winner yet)."""
    agreed_local, agreed_remote = agreed
    if agreed_local == NEW:
        return local if local is not None else remote
    local_changed, remote_changed = local != agreed_local, remote != agreed_remote
    if local_changed and not (local is None and remote_changed):
        return local
    if local_changed:
        return remote  # deleted in PC CADDIE, changed in Exchange: the change wins
    return remote if remote_changed else local


@dataclass
class Item:
    """One appointment of the model."""

    name: int
    area: str
    local_id: int | None = None
    remote_id: str | None = None
    agreed: set[tuple[Any, Any]] = field(default_factory=lambda: {(NEW, NEW)})
    copy_of: Item | None = None  # made in Outlook as a copy of that item
    fresh: bool = False  # its Exchange item was made by the last cycle
    unconfirmed: bool = False  # its Exchange item was made, the answer lost: the engine has not seen it yet
    unsure: set[tuple[Any, Any]] = field(default_factory=set)  # agreed before an update whose answer was lost

    def __repr__(self) -> str:
        return f"Item(name={self.name}, {self.area!r}, local={self.local_id}, remote={self.remote_id})"


class Killed(BaseException):
    """The sync service's process ends here (killed, power cut): nothing after it runs."""


@dataclass
class Mailbox:
    """The fake as the engine sees it, able to kill the cycle before or after the n-th call."""

    fake: Any
    kill_at: tuple[int, str] | None = None
    calls: int = 0

    async def _call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        index, self.calls = self.calls, self.calls + 1
        if self.kill_at == (index, "before"):
            raise Killed(f"killed before {op}")
        result = await getattr(self.fake, op)(*args, **kwargs)
        if self.kill_at == (index, "after"):
            raise Killed(f"killed after {op}")
        return result

    async def ensure_folder(self, *args: Any) -> Any:
        return await self._call("ensure_folder", *args)

    async def changes(self, *args: Any) -> Any:
        return await self._call("changes", *args)

    async def create(self, *args: Any) -> Any:
        return await self._call("create", *args)

    async def update(self, *args: Any) -> Any:
        return await self._call("update", *args)

    async def delete(self, *args: Any) -> Any:
        return await self._call("delete", *args)

    async def find_external(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call("find_external", *args, **kwargs)

    async def get(self, *args: Any) -> Any:
        return await self._call("get", *args)

    async def occurrences(self, *args: Any) -> Any:
        return await self._call("occurrences", *args)


def killed(error: BaseException) -> bool:
    if isinstance(error, Killed):
        return True
    return isinstance(error, BaseExceptionGroup) and all(killed(e) for e in error.exceptions)


drafts = st.fixed_dictionaries(
    {
        "offset": st.integers(0, 5),
        "hour": st.integers(8, 16),
        "hours": st.integers(1, 3),
        "all_day": st.sampled_from([False, False, False, True]),
        "location": st.sampled_from(["", "Range", "Clubhouse"]),
        "text": st.sampled_from(["", "Bring clubs", "Line one\nLine two"]),
        "private": st.sampled_from([False, False, True]),
    }
)
EDITS = ["title", "location", "text", "private", "time", "all_day"]
REMOTE_EDITS = [*EDITS, "categories"]
FAILURES = st.one_of(
    st.tuples(st.sampled_from(["create", "update", "delete"]), st.sampled_from(["after", "after", "item", "before"])),
    st.tuples(st.just("create"), st.just("late")),
    st.tuples(st.sampled_from(["changes", "get", "find_external"]), st.just("before")),
    st.tuples(st.just("kill"), st.integers(-6, 5)),
)
THEN = ["edit", "edit", "delete", "copy", "nothing"]


class SyncMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.club = make_club(Path(self.folder.name))
        self.connection = self.club.db.connection_context()  # one connection for the test's own reads and writes
        self.connection.__enter__()
        self.cached_links: list[AppointmentLink] | None = None  # only cycles change links
        self.club.write(set_parameter, "SYNC_EXCH_ATTEMPTS", "1000")  # no item stops: each failure is once
        self.fake = self.club.exchange
        self.mailbox = Mailbox(self.fake)
        self.subscriptions = {TEE: self.club.subscription_id}
        self.shared = False
        self.names = itertools.count(1)
        self.items: list[Item] = []
        self.others: dict[str, dict[str, Any]] = {}  # Exchange items of other kinds, as made
        self.series: list[str] = []  # the masters of the series made in Outlook
        self.landed: dict[str, Content] = {}  # late creates landed since the last cycle began: id → content
        finish_late_creates = self.fake._finish_late_creates

        def finishing() -> None:
            before = set(self.fake.items)
            finish_late_creates()
            self.landed.update({i: remote_content(self.fake.items[i]) for i in set(self.fake.items) - before})

        self.fake._finish_late_creates = finishing

    def teardown(self):
        try:
            if sys.exc_info()[1] is None:  # a run that did not fail ends settled, everything still moving
                self._settle(moves=True)
        finally:
            self.connection.__exit__(None, None, None)
            self.club.db.close()
            self.folder.cleanup()

    @initialize(shared=st.booleans())
    def areas(self, shared):
        """With `shared`, Lessons syncs into the same (main) calendar as Tee times."""
        if shared:

            def setup():
                add_area(LESSONS)
                return add_calendar("anna", LESSONS, CalendarOptions()).id

            self.subscriptions[LESSONS] = self.club.write(setup)
            self.shared = True

    # -- reading both sides ---------------------------------------------------------------------

    def _title(self, side: str) -> str:
        return f"{side} {next(self.names)}"

    def _alive(self) -> list[Item]:
        return [item for item in self.items if item.local_id is not None or item.remote_id is not None]

    def _locals(self) -> dict[int, tuple[str, Content]]:
        with self.club.db.connection_context():
            rows = Appointment.select(Appointment, TimetableArea).join(TimetableArea)
            return {a.id: (a.area.name, local_content(a)) for a in rows}

    def _links_text(self) -> list[tuple[Any, ...]]:
        return [
            (link.appointment_id, link.exchange_id, link.external_id[-6:], link.pending_create, link.creates_sent)
            for link in self._links()
        ]

    def _links(self) -> list[AppointmentLink]:
        if self.cached_links is None:  # a tombstone (a removed link whose create may still land) links no item
            links = AppointmentLink.select()
            self.cached_links = [
                link for link in links if link.appointment_id or link.exchange_id or link.pending_create
            ]
        return self.cached_links

    def _sides(self, item: Item, locals_: dict[int, tuple[str, Content]]) -> tuple[Content | None, Content | None]:
        local = locals_.get(item.local_id)[1] if item.local_id in locals_ else None
        remote = self.fake.entries.get(item.remote_id) if item.remote_id else None
        return local, (remote_content(remote) if remote else None)

    def _snapshot(self) -> dict[int, tuple[Content | None, Content | None]]:
        locals_ = self._locals()
        return {item.name: self._sides(item, locals_) for item in self._alive()}

    def _follow_links(self) -> None:
        """What each item's appointment and Exchange item are, as the links say (a side made
        again gets a new id), or, for a create whose answer was lost, by our external id."""
        links = self._links()
        by_local = {link.appointment_id: link for link in links if link.appointment_id is not None}
        by_remote = {link.exchange_id: link for link in links if link.exchange_id}
        locals_ = self._locals()
        entries = self.fake.entries
        for item in self._alive():
            link = by_local.get(item.local_id) if item.local_id is not None else None
            link = link or (by_remote.get(item.remote_id) if item.remote_id else None)
            if link is None:
                continue
            if link.appointment_id in locals_ and link.appointment_id != item.local_id:
                self._claim(item, local_id=link.appointment_id)
            if link.exchange_id and link.exchange_id in entries and link.exchange_id != item.remote_id:
                self._claim(item, remote_id=link.exchange_id)
            elif not link.exchange_id and (item.remote_id is None or item.remote_id not in entries):
                claimed = {other.remote_id for other in self.items}
                carrying = [
                    i
                    for i, entry in entries.items()
                    if entry.get("external_id") == link.external_id and i not in claimed
                ]
                if len(carrying) == 1:  # made, its answer lost: the user sees it in Outlook already
                    self._claim(item, remote_id=carrying[0])
                    item.unconfirmed = True
            if link.exchange_id and link.exchange_id == item.remote_id:
                item.unconfirmed = False

    def _claim(self, item: Item, local_id: int | None = None, remote_id: str | None = None) -> None:
        for other in self.items:
            if other is not item:
                assert local_id is None or other.local_id != local_id, (
                    f"one appointment {local_id} linked for two items: {item} and {other}"
                )
                assert remote_id is None or other.remote_id != remote_id, (
                    f"one Exchange item {remote_id} linked for two items: {item} and {other}"
                )
        if local_id is not None:
            item.local_id = local_id
        if remote_id is not None:
            item.remote_id, item.fresh = remote_id, True  # the sync made it

    # -- cycles ---------------------------------------------------------------------------------

    def _cycle(self, failing: bool):
        """One cycle of every subscription (a killed one ends the cycle). Each item is left as it
        was or ends as the decision table says; what both sides show alike is agreed from then."""
        before = self._snapshot()
        for item in self.items:
            item.fresh = False
        self.mailbox.calls = 0

        async def run():
            engine = CalendarSync(
                DbRunner(self.club.db), EngineSettings(BERLIN, self.club.vault), lambda account: self.mailbox
            )
            return [await engine.run(sid) for sid in self.subscriptions.values()]

        self.cached_links = None
        try:
            outcomes = trio.run(run)
        except BaseException as error:  # noqa: BLE001 - only a kill may end a cycle so
            if not killed(error):
                raise
            outcomes = None
        finally:
            self.fake.failures.clear()
            self.mailbox.kill_at = None
            self.cached_links = None
        self._follow_links()
        after = self._snapshot()
        sending = {link.appointment_id for link in self._links() if link.sent is not None}
        for item in self._alive():
            was = before.get(item.name, (None, None))
            if was[1] is None and item.remote_id in self.landed:
                # a create the gateway gave up on landed (its copy is in Exchange, as it was sent):
                # its appointment's fate is then decided against that
                content = self.landed[item.remote_id]
                was, item.agreed = (was[0], content), item.agreed | {(content, content)}
            now = after[item.name]
            agreed = item.agreed | item.unsure if was[1] is None else item.agreed
            outcomes_allowed = {was} | {
                (end, end) if end is not None else (None, None) for end in (resolve(*was, a) for a in agreed)
            }
            assert now in outcomes_allowed, f"a cycle left {item} as {now}, from {was}; allowed: {outcomes_allowed}"
            local, remote = now
            if local is not None and local == remote and item.unconfirmed:
                # the engine has not seen its Exchange item: should the user delete it before the
                # next cycle, Exchange tells nothing, and the create is (rightly) sent again
                item.agreed = {(local, local), (NEW, NEW)}
            elif local is not None and local == remote:
                if item.local_id in sending and (local, local) not in item.agreed:
                    # what an update whose answer was lost wrote: should the user delete the item
                    # now, the engine cannot tell whether it was this version or the one before
                    item.unsure = set(item.agreed)
                elif item.local_id not in sending:
                    item.unsure = set()
                item.agreed = {(local, local)}
            elif local is None and remote is None:
                item.local_id = item.remote_id = None  # gone on both sides
            elif failing and local is not None and remote is not None:
                # a conflict decided whose winner could not be written: the loser was accounted for
                item.agreed |= {(al, remote) for al, ar in item.agreed if al != NEW and local != al and remote != ar}
        self.landed.clear()
        return outcomes

    def _quiet_cycle(self) -> bool:
        outcomes = self._cycle(failing=False)
        assert outcomes is not None
        for outcome in outcomes:
            assert outcome.error is None and outcome.not_syncing is None, outcome
        return all(not outcome.counts for outcome in outcomes)

    def _settle(self, moves: bool = False) -> None:
        if getattr(self.fake, "_late", None):  # a quiet while: the creates the gateway gave up on have landed
            self.fake._finish_late_creates()
        self._settled()
        if moves:
            self._still_moves()

    def _settled(self) -> None:
        for _ in range(QUIET_CYCLES):
            if self._quiet_cycle():
                break
        else:
            raise AssertionError(f"still writing after {QUIET_CYCLES} cycles without failures")
        self._check()

    def _check(self) -> None:
        locals_ = self._locals()
        links = self._links()
        alive = self._alive()
        for item in alive:
            local, remote = self._sides(item, locals_)
            assert local is not None and remote is not None and local == remote, (
                f"{item}: PC CADDIE holds {local}, Exchange {remote}"
            )
            assert locals_[item.local_id][0] == item.area, f"{item} is in {locals_[item.local_id][0]}"
        extra = {i: content for i, (_, content) in locals_.items() if i not in {item.local_id for item in alive}}
        assert not extra, f"PC CADDIE holds more than the model's items: {extra}, links {self._links_text()}"
        entries = self.fake.entries
        extra_remote = set(entries) - set(self.others) - {item.remote_id for item in alive}
        assert not extra_remote, (
            f"Exchange holds more than the model's items: {[entries[i] for i in extra_remote]}, "
            f"links {self._links_text()}"
        )
        for item_id, entry in self.others.items():
            assert self.fake.items.get(item_id) == entry, "items of other kinds are left alone"
        by_local = {link.appointment_id: link for link in links}
        assert len(by_local) == len(links) == len(alive), f"one link per item: {len(links)} for {len(alive)}"
        externals: dict[str, str] = {}
        for item in alive:
            link = by_local[item.local_id]
            assert link.exchange_id == item.remote_id, f"{item}: its link names {link.exchange_id}"
            assert link.subscription_id == self.subscriptions[item.area], f"{item}: linked in the wrong area"
            assert not link.stopped and not link.pending_create, f"{item}: stopped or owed: {link.last_error}"
            external = entries[item.remote_id].get("external_id")
            assert external in (None, link.external_id), f"{item} carries another link's external id {external}"
            if external:
                assert external not in externals, f"two Exchange items carry {external}"
                externals[external] = item.remote_id

    def _still_moves(self) -> None:
        """An edit on each side of every item reaches the other side."""
        for item in self._alive():
            with self.club.db.connection_context(), self.club.db.atomic():
                update_appointment(
                    item.local_id, AppointmentInput(title=self._title("moved"), location=f"Hall {item.name}"), BERLIN
                )
        edited = {item.name: self._locals()[item.local_id][1] for item in self._alive()}
        self._settled()
        for item in self._alive():
            assert remote_content(self.fake.entries[item.remote_id]) == edited[item.name], "a PC CADDIE edit moves"
        for item in self._alive():
            item.remote_id = self.fake.user_update(
                item.remote_id, subject=self._title("moved back"), body=f"Note {item.name}"
            )
        edited = {item.name: remote_content(self.fake.entries[item.remote_id]) for item in self._alive()}
        self._settled()
        locals_ = self._locals()
        for item in self._alive():
            assert locals_[item.local_id][1] == edited[item.name], "an Outlook edit moves"

    # -- PC CADDIE's side -----------------------------------------------------------------------

    def _local_input(self, draft: dict[str, Any], title: str | None = None) -> AppointmentInput:
        if draft["all_day"]:
            start, end = the_day(draft["offset"]), the_day(draft["offset"] + draft["hours"] - 1)
        else:
            start, end = day(draft["offset"], draft["hour"]), day(draft["offset"], draft["hour"] + draft["hours"])
        return AppointmentInput(
            title=title,
            start=start,
            end=end,
            all_day=draft["all_day"],
            location=draft["location"],
            text=draft["text"],
            private=draft["private"],
        )

    def _room(self) -> bool:
        return len(self._alive()) < MAX_ITEMS

    @precondition(lambda self: self._room())
    @rule(draft=drafts, data=st.data())
    def local_create(self, draft, data):
        area = data.draw(st.sampled_from(sorted(self.subscriptions)))
        given = self._local_input(draft, self._title("local"))
        local_id = self.club.write(lambda: add_appointment(area, given, BERLIN).id)
        self.items.append(Item(next(self.names), area, local_id=local_id))

    def _with_local(self) -> list[Item]:
        locals_ = self._locals()
        return [item for item in self._alive() if item.local_id in locals_]

    @precondition(lambda self: self._changeable_local())
    @rule(data=st.data(), what=st.sampled_from(EDITS), draft=drafts)
    def local_update(self, data, what, draft):
        self._edit_local(data.draw(st.sampled_from(self._changeable_local())), what, draft)

    def _edit_local(self, item: Item, what: str, draft: dict[str, Any]) -> None:
        with self.club.db.connection_context():
            current = Appointment.get_by_id(item.local_id)
        if what == "title":
            given = AppointmentInput(title=self._title("local edit"))
        elif what == "location":
            given = AppointmentInput(location=f"Tee {next(self.names)}")
        elif what == "text":
            given = AppointmentInput(text=f"Local note {next(self.names)}\nsecond line")
        elif what == "private":
            given = AppointmentInput(private=not current.private)
        else:
            all_day = current.all_day if what == "time" else not current.all_day
            spans = self._local_input({**draft, "all_day": all_day})
            given = AppointmentInput(start=spans.start, end=spans.end, all_day=all_day)
        self.club.write(update_appointment, item.local_id, given, BERLIN)

    def _changeable_local(self) -> list[Item]:
        return self._with_local()

    @precondition(lambda self: self._changeable_local())
    @rule(data=st.data())
    def local_delete(self, data):
        item = data.draw(st.sampled_from(self._changeable_local()))
        self.club.write(delete_appointment, item.local_id)

    # -- Exchange's side (Outlook) --------------------------------------------------------------

    def _remote_entry(self, draft: dict[str, Any]) -> dict[str, Any]:
        if draft["all_day"]:
            start, end = the_day(draft["offset"]), the_day(draft["offset"] + draft["hours"] - 1)
        else:
            start, end = utc(draft["offset"], draft["hour"]), utc(draft["offset"], draft["hour"] + draft["hours"])
        return {
            "start": start,
            "end": end,
            "all_day": draft["all_day"],
            "location": draft["location"],
            "body": draft["text"],
            "private": draft["private"],
        }

    @precondition(lambda self: self._room())
    @rule(draft=drafts, categories=st.sampled_from([[], ["Lessons"], ["Tee times"], ["Red"], ["Red", " lessons "]]))
    def remote_create(self, draft, categories):
        remote_id = self.fake.user_create(
            subject=self._title("remote"), categories=list(categories), **self._remote_entry(draft)
        )
        self.items.append(Item(next(self.names), area_of(categories, self.shared), remote_id=remote_id))

    @precondition(lambda self: self._room())
    @rule(draft=drafts, every=st.sampled_from(["weekly", "daily"]), count=st.integers(1, 3))
    def remote_series(self, draft, every, count):
        """A recurring series made in Outlook: each occurrence is an item of the model."""
        count = min(count, MAX_ITEMS - len(self._alive()))
        entry = {k: v for k, v in self._remote_entry({**draft, "all_day": False}).items() if k not in ("start", "end")}
        start, end = utc(draft["offset"], draft["hour"]), utc(draft["offset"], draft["hour"] + draft["hours"])
        master = self.fake.user_create_series(self._title("series"), start, end, every, count=count, **entry)
        self.series.append(master)
        for item_id, view in sorted(self.fake.entries.items(), key=lambda pair: str(pair[1].get("original_start"))):
            if view.get("series_id") == master:
                self.items.append(Item(next(self.names), TEE, remote_id=item_id))

    @precondition(lambda self: any(master in self.fake.series for master in self.series))
    @rule(data=st.data(), what=st.sampled_from(["title", "location", "private", "delete"]))
    def remote_series_edit(self, data, what):
        """The series edited (every occurrence but the exceptions follows) or deleted in Outlook."""
        master = data.draw(st.sampled_from([m for m in self.series if m in self.fake.series]))
        if what == "delete":
            self.fake.user_delete(master)
        elif what == "title":
            self.fake.user_update_series(master, subject=self._title("series edit"))
        elif what == "location":
            self.fake.user_update_series(master, location=f"Course {next(self.names)}")
        else:
            self.fake.user_update_series(master, private=not self.fake.items[master].get("private"))

    def _with_remote(self) -> list[Item]:
        entries = self.fake.entries
        return [item for item in self._alive() if item.remote_id in entries]

    def _editable_remote(self) -> list[Item]:
        return self._with_remote()

    def _deletable_remote(self) -> list[Item]:
        return self._with_remote()

    @precondition(lambda self: self._editable_remote())
    @rule(data=st.data(), what=st.sampled_from(REMOTE_EDITS), draft=drafts)
    def remote_update(self, data, what, draft):
        self._edit_remote(data.draw(st.sampled_from(self._editable_remote())), what, draft)

    def _edit_remote(self, item: Item, what: str, draft: dict[str, Any]) -> None:
        current = self.fake.entries[item.remote_id]
        if what == "title":
            change = {"subject": self._title("remote edit")}
        elif what == "location":
            change = {"location": f"Green {next(self.names)}"}
        elif what == "text":
            change = {"body": f"Outlook note {next(self.names)}"}
        elif what == "private":
            change = {"private": not current.get("private")}
        elif what == "categories":  # filed anew, in a way that names the same area: it stays where it is
            change = {"categories": ["Blue", item.area.upper()] if self.shared else ["Blue"]}
        else:
            all_day = current["all_day"] if what == "time" else not current["all_day"]
            entry = self._remote_entry({**draft, "all_day": all_day})
            change = {k: entry[k] for k in ("start", "end", "all_day")}
        item.remote_id = self.fake.user_update(item.remote_id, **change)

    @precondition(lambda self: self._deletable_remote())
    @rule(data=st.data())
    def remote_delete(self, data):
        item = data.draw(st.sampled_from(self._deletable_remote()))
        self.fake.user_delete(item.remote_id)

    def _fresh(self) -> list[Item]:
        return [item for item in self._deletable_remote() if item.fresh]

    @precondition(lambda self: self._fresh())
    @rule(data=st.data())
    def remote_delete_just_made(self, data):
        """Deleted in Outlook right after the sync made it: Exchange's next feed tells nothing."""
        item = data.draw(st.sampled_from(self._fresh()))
        self.fake.user_delete(item.remote_id)

    @precondition(lambda self: self._editable_remote() and self._room())
    @rule(data=st.data(), offset=st.integers(0, 5), moved=st.booleans())
    def remote_copy(self, data, offset, moved):
        """A copy made in Outlook (it carries the original's external id): one more appointment,
        in the original's area, with the copy's content."""
        self._copy(data.draw(st.sampled_from(self._editable_remote())), offset, moved)

    def _copy(self, item: Item, offset: int, moved: bool) -> None:
        changes: dict[str, Any] = {"subject": self._title("copy")}
        if moved and not self.fake.entries[item.remote_id]["all_day"]:
            changes.update(start=utc(offset, 7), end=utc(offset, 8))
        copy_id = self.fake.user_copy(item.remote_id, **changes)
        self.items.append(Item(next(self.names), item.area, remote_id=copy_id, copy_of=item))

    @rule(message=st.booleans())
    def remote_other_kind(self, message):
        """An item of a kind the sync does not handle (a message in the calendar, a contact
        group): left alone, never a failure."""
        if message and hasattr(self.fake, "user_create_message"):
            item_id = self.fake.user_create_message(f"Meeting request {next(self.names)}")
        else:
            item_id = self.fake.user_create_group(f"List {next(self.names)}")
        self.others[item_id] = dict(self.fake.items[item_id])

    @precondition(lambda self: self.others)
    @rule(data=st.data())
    def remote_other_kind_deleted(self, data):
        item_id = data.draw(st.sampled_from(sorted(self.others)))
        self.fake.user_delete(item_id)
        del self.others[item_id]

    # -- syncing --------------------------------------------------------------------------------

    @rule(op=st.sampled_from(OPS), when=st.sampled_from(["before", "after", "item"]))
    def sync_that_fails(self, op, when):
        self._failing_cycle(op, when)

    def _failing_cycle(self, op: str, when: str | int) -> None:
        """`op` failing `when`; or, with op "kill" and `when` the n-th call, the service killed then
        (n >= 0: after that call's work, n < 0: before call -n-1)."""
        if op == "kill":
            assert isinstance(when, int)
            self.mailbox.kill_at = (when, "after") if when >= 0 else (-when - 1, "before")
        else:
            self.fake.fail(op, when=str(when))
        self._cycle(failing=True)

    @rule(op=st.sampled_from(["create", "update", "delete"]))
    def sync_answer_lost(self, op):
        """The work done in Exchange, the answer lost (a timeout)."""
        self.fake.fail(op, when="after")
        self._cycle(failing=True)

    @rule()
    def sync_create_late(self):
        """The gateway gave up on a create that still runs: it lands after the next create."""
        self._failing_cycle("create", "late")

    @precondition(lambda self: getattr(self.fake, "_late", None))
    @rule()
    def late_create_lands(self):
        """The create the gateway gave up on reaches Exchange now, before anything else is sent."""
        self.fake._finish_late_creates()

    @rule(call=st.integers(0, 6), when=st.sampled_from(["before", "after"]))
    def sync_killed(self, call, when):
        """The service dies at a call to Exchange (before it, or after its work was done): the
        cycle's writes so far stay, the rest never happens."""
        self._failing_cycle("kill", call if when == "after" else -call - 1)

    def _both(self) -> list[Item]:
        remote = {item.name for item in self._with_remote()}
        return [item for item in self._with_local() if item.name in remote]

    @precondition(lambda self: self._both())
    @rule(
        data=st.data(),
        first=st.sampled_from(["local", "remote"]),
        failure=FAILURES,
        then=st.sampled_from(THEN),
        what=st.sampled_from(EDITS),
        draft=drafts,
    )
    def race(self, data, first, failure, then, what, draft):
        """An item changed on one side, a cycle that fails part-way, and the item changed on the
        other side (or deleted, or copied) before the next cycle: the windows a lost answer opens."""
        item = data.draw(st.sampled_from(self._both()))
        if first == "local" and item in self._changeable_local():
            self._edit_local(item, what, draft)
        elif first == "remote" and item in self._editable_remote():
            self._edit_remote(item, what, draft)
        self._failing_cycle(*failure)
        if first == "remote" and item in self._changeable_local():
            if then == "delete":
                self.club.write(delete_appointment, item.local_id)
            elif then == "edit":
                self._edit_local(item, data.draw(st.sampled_from(EDITS)), draft)
        elif first == "local" and then == "delete" and item in self._deletable_remote():
            self.fake.user_delete(item.remote_id)
        elif first == "local" and then == "edit" and item in self._editable_remote():
            self._edit_remote(item, data.draw(st.sampled_from(REMOTE_EDITS)), draft)
        elif first == "local" and then == "copy" and item in self._editable_remote() and self._room():
            self._copy(item, 2, moved=False)

    @rule()
    def sync_clean(self):
        outcomes = self._cycle(failing=False)
        for outcome in outcomes:
            assert outcome.error is None and outcome.not_syncing is None, outcome

    @rule(moves=st.booleans())
    def settle(self, moves):
        self._settle(moves)

    @invariant()
    def no_duplicate_links(self):
        links = self._links()
        assert len({link.appointment_id for link in links}) == len(links)
        exchange_ids = [link.exchange_id for link in links if link.exchange_id]
        assert len(set(exchange_ids)) == len(exchange_ids), "one Exchange item per link"


# deeper: SYNC_MACHINE_EXAMPLES=1000 HYPOTHESIS_PROFILE=explore pytest tests/sync_service/engine/test_convergence.py
SyncMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SYNC_MACHINE_EXAMPLES", "50")),
    stateful_step_count=int(os.environ.get("SYNC_MACHINE_STEPS", "25")),
    derandomize=os.environ.get("HYPOTHESIS_PROFILE", "deterministic") == "deterministic",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=tuple(Phase) if os.environ.get("SYNC_MACHINE_SHRINK", "1") == "1" else (Phase.generate,),
)
test_sync_converges = SyncMachine.TestCase
