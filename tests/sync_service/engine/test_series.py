"""Recurring series (issue 17) through the engine, against the in-memory Exchange: a series becomes
one appointment per occurrence in the window, linked by (series, original start); Outlook's
changes of occurrences and of the series follow; PC CADDIE's changes of an occurrence go to that
occurrence alone; every option holds per occurrence."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from protocol.entries import MAX_SERIES
from sync_service.admin.subscriptions import add_filter
from sync_service.engine.calendar_sync import CalendarSync, EngineSettings
from sync_service.engine.database import DbRunner
from sync_service.store.models import AppointmentLink, SeriesMaster, SyncConflict, SyncStatistic
from tests.sync_service.engine.conftest import BERLIN, Club, make_club, utc

UTC = dt.timezone.utc


async def sync(club: Club, window_days: tuple[int, int] = (30, 400)):
    settings = EngineSettings(BERLIN, club.vault, window_days)
    return await CalendarSync(DbRunner(club.db), settings, lambda account: club.exchange).run(club.subscription_id)


def weekly(club: Club, title: str = "Junior training", first: int = 1, hour: int = 18, **pattern) -> str:
    """A weekly series in Outlook, its first occurrence `first` days from today at `hour` Berlin time."""
    return club.exchange.user_create_series(
        title, utc(first, hour), utc(first, hour + 1, 30), pattern.pop("every", "weekly"), **pattern
    )


def occurrence_links(club: Club) -> dict[str, AppointmentLink]:
    """The links of occurrences by original start."""
    return {str(link.original_start): link for link in club.links() if link.series_id}


def by_title(club: Club) -> dict[str, int]:
    titles: dict[str, int] = {}
    for appointment in club.local().values():
        titles[appointment.title] = titles.get(appointment.title, 0) + 1
    return titles


def window_end(days: int) -> dt.datetime:
    return dt.datetime.now(UTC) + dt.timedelta(days=days)


def weekly_starts(first: int, hour: int, until: dt.datetime, count: int | None = None) -> list[str]:
    """The UTC starts of a weekly Berlin-time series from `first` days from today, up to `until`."""
    starts, day = [], dt.date.today() + dt.timedelta(days=first)
    while count is None or len(starts) < count:
        begins = dt.datetime.combine(day, dt.time(hour), tzinfo=BERLIN)
        if begins > until:
            break
        starts.append(begins.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        day += dt.timedelta(days=7)
    return starts


# -- item 1: one appointment per occurrence in the window --------------------------------------


async def test_a_series_becomes_one_appointment_per_occurrence_linked_by_series_and_original_start(club):
    master = weekly(club, count=4, location="Range")
    outcome = await sync(club)
    assert outcome.error is None and outcome.counts == {"created-to-pccaddie": 4}
    links = occurrence_links(club)
    assert sorted(links) == weekly_starts(1, 18, window_end(400), count=4)
    assert {link.series_id for link in links.values()} == {master}
    assert all(link.exchange_id == club.exchange.occurrence_id(master, o) for o, link in links.items())
    local = club.local()
    assert sorted(local[link.appointment_id].start.strftime("%H:%M") for link in links.values()) == ["18:00"] * 4
    assert {a.location for a in local.values()} == {"Range"}
    assert len(club.exchange.items) == 1  # the series stays one series: nothing written back
    assert (await sync(club)).counts == {}  # no ping-pong
    with club.db.connection_context():
        (known,) = SeriesMaster.select()
    assert known.master_id == master and known.window_end == window_end(400).date().isoformat()


async def test_an_endless_series_makes_no_more_than_the_window_holds(club):
    weekly(club)  # no count, no end
    outcome = await sync(club, (30, 100))
    expected = weekly_starts(1, 18, window_end(100))
    assert outcome.counts == {"created-to-pccaddie": len(expected)} and sorted(occurrence_links(club)) == expected


async def test_occurrences_coming_into_the_window_are_added_and_those_leaving_it_stay(club):
    weekly(club, first=-20)  # began three weeks ago, endless
    await sync(club, (30, 60))
    before = occurrence_links(club)
    assert sorted(before) == weekly_starts(-20, 18, window_end(60))
    # a week later: the window's end reaches one more occurrence, its start passes the first ones
    outcome = await sync(club, (30 - 7, 60 + 7))
    after = occurrence_links(club)
    assert sorted(after) == weekly_starts(-20, 18, window_end(67))
    assert outcome.counts == {"created-to-pccaddie": len(after) - len(before)}
    assert set(before) < set(after)  # the first occurrences, outside the window now, are left alone
    assert (await sync(club, (23, 67))).counts == {}  # expanded again only when the window moves


async def test_a_series_beyond_the_window_is_made_when_the_window_reaches_it(club):
    weekly(club, first=70, count=3)
    assert (await sync(club, (30, 60))).counts == {}
    outcome = await sync(club, (30, 80))
    assert outcome.counts == {"created-to-pccaddie": 2}  # days 70 and 77; 84 still beyond


# -- item 2: changes in Outlook ------------------------------------------------------------------


async def test_an_occurrence_moved_or_edited_in_outlook_changes_that_appointment(club):
    club.exchange.new_exception_ids = True  # as EWS may: the exception's id is not the occurrence's
    master = weekly(club, count=3)
    await sync(club)
    second = sorted(occurrence_links(club))[1]
    club.exchange.user_update_occurrence(
        master, second, subject="Junior training (hall)", start=utc(9, 17), end=utc(9, 18)
    )
    outcome = await sync(club)
    assert outcome.counts == {"updated-to-pccaddie": 1}
    link = occurrence_links(club)[second]
    moved = club.local()[link.appointment_id]
    assert (moved.title, moved.start.strftime("%d %H:%M")) == (
        "Junior training (hall)",
        (dt.date.today() + dt.timedelta(days=9)).strftime("%d") + " 17:00",
    )
    assert link.exchange_id == club.exchange.occurrence_id(master, second)  # an exception's id of its own
    assert by_title(club) == {"Junior training": 2, "Junior training (hall)": 1}
    assert (await sync(club)).counts == {}


async def test_an_occurrence_deleted_in_outlook_deletes_that_appointment(club):
    master = weekly(club, count=3)
    await sync(club)
    second = sorted(occurrence_links(club))[1]
    club.exchange.user_delete_occurrence(master, second)
    outcome = await sync(club)
    assert outcome.counts == {"deleted-to-pccaddie": 1}
    assert second not in occurrence_links(club) and len(club.local()) == 2


async def test_the_series_edited_in_outlook_every_occurrence_but_the_exceptions_follows(club):
    master = weekly(club, count=4)
    await sync(club)
    starts = sorted(occurrence_links(club))
    club.exchange.user_update_occurrence(master, starts[0], subject="Junior training (guest coach)")
    await sync(club)
    club.exchange.user_update_series(master, subject="Youth training", location="Academy")
    outcome = await sync(club)
    assert outcome.counts == {"updated-to-pccaddie": 3}
    assert by_title(club) == {"Youth training": 3, "Junior training (guest coach)": 1}


async def test_the_series_time_or_end_changed_new_ones_are_made_dropped_ones_deleted(club):
    master = weekly(club, count=4)
    await sync(club)
    before = {link.appointment_id for link in club.links()}
    # an hour later from now on, and two occurrences fewer
    club.exchange.user_update_series(master, start=utc(1, 19), end=utc(1, 20, 30), count=2)
    outcome = await sync(club)
    # the first two follow (their appointments updated, bookings kept), the last two are dropped
    assert outcome.counts == {"updated-to-pccaddie": 2, "deleted-to-pccaddie": 2}
    assert sorted(occurrence_links(club)) == weekly_starts(1, 19, window_end(400), count=2)
    assert {link.appointment_id for link in club.links()} <= before
    assert sorted(a.start.strftime("%H:%M") for a in club.local().values()) == ["19:00", "19:00"]
    club.exchange.user_update_series(master, count=5)  # extended again
    outcome = await sync(club)
    assert outcome.counts == {"created-to-pccaddie": 3} and len(club.local()) == 5
    # a move to another day is no longer the same occurrence: deleted and made again
    club.exchange.user_update_series(master, start=utc(3, 19), end=utc(3, 20, 30))
    assert (await sync(club)).counts == {"created-to-pccaddie": 5, "deleted-to-pccaddie": 5}


async def test_the_series_deleted_in_outlook_deletes_every_occurrence(club):
    master = weekly(club, count=5)
    single = club.exchange.user_create(subject="Lesson", start=utc(2, 9), end=utc(2, 10))
    await sync(club)
    club.exchange.user_delete(master)
    outcome = await sync(club)
    assert outcome.counts == {"deleted-to-pccaddie": 5}
    assert by_title(club) == {"Lesson": 1} and [link.exchange_id for link in club.links()] == [single]
    with club.db.connection_context():
        assert SeriesMaster.select().count() == 0


async def test_a_series_deleted_counts_once_toward_the_mass_deletion_guard(club):
    master = club.exchange.user_create_series("Greenkeeper round", utc(1, 6), utc(1, 7), "daily", count=40)
    for offset in range(2, 7):
        club.exchange.user_create(subject=f"Lesson {offset}", start=utc(offset, 9), end=utc(offset, 10))
    await sync(club)
    assert len(club.local()) == 45
    club.exchange.user_delete(master)
    outcome = await sync(club)
    assert outcome.not_syncing is None and outcome.counts == {"deleted-to-pccaddie": 40}
    assert len(club.local()) == 5


# -- item 3: changes in PC CADDIE ------------------------------------------------------------------


async def test_an_occurrence_edited_in_pccaddie_becomes_an_exception_and_the_series_stays(club):
    club.exchange.new_exception_ids = True
    master = weekly(club, count=3)
    await sync(club)
    second = sorted(occurrence_links(club))[1]
    club.update(occurrence_links(club)[second].appointment_id, title="Junior training (rain: indoor)")
    outcome = await sync(club)
    assert outcome.counts == {"updated-to-exchange": 1}
    assert set(club.exchange.items) == {master} and club.exchange.items[master]["series_type"] == "master"
    exception = club.exchange.series[master].exceptions[second]
    assert exception["subject"] == "Junior training (rain: indoor)"
    assert occurrence_links(club)[second].exchange_id == exception["id"]
    assert (await sync(club)).counts == {}  # the master's change in the feed is our own write
    assert by_title(club) == {"Junior training": 2, "Junior training (rain: indoor)": 1}


async def test_an_occurrence_deleted_in_pccaddie_deletes_that_occurrence_only(club):
    master = weekly(club, count=3)
    await sync(club)
    second = sorted(occurrence_links(club))[1]
    club.delete(occurrence_links(club)[second].appointment_id)
    outcome = await sync(club)
    assert outcome.counts == {"deleted-to-exchange": 1}
    assert set(club.exchange.items) == {master} and club.exchange.series[master].deleted == {second}
    assert sorted(occurrence_links(club)) == [s for s in weekly_starts(1, 18, window_end(400), 3) if s != second]
    assert (await sync(club)).counts == {}


async def test_an_update_of_an_occurrence_gone_meanwhile_is_its_deletion_in_exchange(club):
    master = weekly(club, count=3)
    await sync(club)
    await sync(club)  # the new links verified
    second = sorted(occurrence_links(club))[1]
    club.update(occurrence_links(club)[second].appointment_id, title="Junior training (moved)")
    original_changes = club.exchange.changes

    async def changes_then_gone(folder, sync_state, max_changes):  # deleted in Outlook after the read
        page = await original_changes(folder, sync_state, max_changes)
        club.exchange.user_delete_occurrence(master, second)
        club.exchange.changes = original_changes
        return page

    club.exchange.changes = changes_then_gone
    outcome = await sync(club)
    assert outcome.counts == {"failed-to-exchange": 1}
    # as for a single item: the change in PC CADDIE wins over the deletion, as a single item now
    await sync(club)
    assert len(club.exchange.series[master].exceptions) == 0 and second in club.exchange.series[master].deleted
    singles = [i for i in club.exchange.items.values() if i.get("series_type", "single") == "single"]
    assert [i["subject"] for i in singles] == ["Junior training (moved)"]
    assert (await sync(club)).counts == {}


# -- item 4: every option per occurrence ---------------------------------------------------------


async def test_read_only_and_hide_private_hold_per_occurrence(tmp_path):
    (tmp_path / "ro").mkdir(), (tmp_path / "private").mkdir()
    read_only = make_club(tmp_path / "ro", read_only=True)
    weekly(read_only, count=2)
    outcome = await sync(read_only)
    assert outcome.counts == {"skipped-to-pccaddie": 2} and read_only.local() == {}

    private = make_club(tmp_path / "private", hide_private=True)
    weekly(private, count=2, private=True)
    weekly(private, title="Staff meeting", count=2)
    outcome = await sync(private)
    assert outcome.counts == {"created-to-pccaddie": 2, "skipped-to-pccaddie": 2}
    assert by_title(private) == {"Staff meeting": 2}


async def test_filters_hold_per_occurrence(club):
    club.write(add_filter, "anna", "Staff*")
    master = weekly(club, title="Staff meeting", count=3)
    weekly(club, title="Junior training", count=2)
    outcome = await sync(club)
    assert outcome.counts == {"created-to-pccaddie": 2, "skipped-to-pccaddie": 3}
    # one occurrence renamed in Outlook out of the filter comes in alone
    first = club.exchange.originals(master, utc(-1), utc(400))[0]
    club.exchange.user_update_occurrence(master, first, subject="Board meeting")
    outcome = await sync(club)
    assert outcome.counts["created-to-pccaddie"] == 1
    assert by_title(club) == {"Junior training": 2, "Board meeting": 1}


async def test_a_conflict_on_an_occurrence_is_decided_by_the_policy_and_the_loser_kept(tmp_path):
    club = make_club(tmp_path, policy="exchange-wins")
    master = weekly(club, count=2)
    await sync(club)
    first = sorted(occurrence_links(club))[0]
    club.update(occurrence_links(club)[first].appointment_id, title="Training (PC CADDIE)")
    club.exchange.user_update_occurrence(master, first, subject="Training (Outlook)")
    outcome = await sync(club)
    assert outcome.counts == {"conflicts-to-pccaddie": 1, "updated-to-pccaddie": 1}
    assert by_title(club) == {"Training (Outlook)": 1, "Junior training": 1}
    with club.db.connection_context():
        (conflict,) = SyncConflict.select()
        statistics = [(s.direction, s.created, s.updated, s.conflicts) for s in SyncStatistic.select()]
    assert conflict.winner == "exchange" and json.loads(conflict.loser_content)["title"] == "Training (PC CADDIE)"
    assert ("to-pccaddie", 2, 0, 0) in statistics and ("to-pccaddie", 0, 1, 1) in statistics


async def test_attempts_count_per_occurrence(club):
    master = weekly(club, count=2)
    await sync(club)
    first = sorted(occurrence_links(club))[0]
    club.update(occurrence_links(club)[first].appointment_id, title="Training (moved)")
    club.exchange.fail("update", when="item", code="server_error", count=2)
    for _ in range(2):
        assert (await sync(club)).counts == {"failed-to-exchange": 1}
    link = occurrence_links(club)[first]
    assert link.attempts == 2 and "server_error" in link.last_error
    assert all(o.attempts == 0 for s, o in occurrence_links(club).items() if s != first)
    assert (await sync(club)).counts == {"updated-to-exchange": 1}
    assert club.exchange.series[master].exceptions[first]["subject"] == "Training (moved)"


# -- item 7: time ------------------------------------------------------------------------------


async def test_a_weekly_series_keeps_its_wall_time_across_dst(club):
    weekly(club, hour=18)  # endless, over more than a year: both sides of a DST change
    await sync(club)
    local = club.local().values()
    assert {a.start.strftime("%H:%M") for a in local} == {"18:00"}
    offsets = {ZoneInfo("Europe/Berlin").utcoffset(a.start) for a in local}
    assert offsets == {dt.timedelta(hours=1), dt.timedelta(hours=2)}  # winter and summer
    links = occurrence_links(club)
    assert {dt.datetime.fromisoformat(o.replace("Z", "+00:00")).hour for o in links} == {16, 17}


async def test_masters_are_expanded_in_chunks_of_max_series(club):
    for n in range(MAX_SERIES + 1):
        club.exchange.user_create_series(f"Lesson series {n}", utc(2, 9), utc(2, 10), "weekly", count=1)
    outcome = await sync(club)
    assert outcome.counts == {"created-to-pccaddie": MAX_SERIES + 1}
    assert club.exchange.calls.count("occurrences") == 2


async def test_a_failed_expansion_ends_the_cycle_and_the_next_one_makes_the_series(club):
    weekly(club, count=2)
    club.exchange.fail("occurrences", code="server_error")
    outcome = await sync(club)
    assert outcome.error is not None and outcome.error.startswith("server_error") and club.local() == {}
    assert (await sync(club)).counts == {"created-to-pccaddie": 2}
