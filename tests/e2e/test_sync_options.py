"""Every option of the original, conflicts, retries and statistics: PC CADDIE through the command
line, Exchange through plain exchangelib, one `sync-now` per step, all three as real processes."""

from __future__ import annotations

import datetime as dt

import isodate
import pytest
from exchangelib.protocol import close_connections

from sandbox.outlook import external_id_visible
from sandbox.world import World

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path):
    with external_id_visible():
        started = World.start(tmp_path / "home")
        yield started
        started.stop()
        close_connections()


def test_read_only(world):
    world.set_up("anna", "Tee times", "--read-only")
    medal = world.add("Medal")
    world.outlook_add("Dentist")
    world.sync_now()
    assert world.outlook_titles() == ["Dentist", "Medal"] and world.titles() == ["Medal"]  # nothing imported
    (item,) = [i for i in world.outlook_items() if i.subject == "Medal"]
    item.subject = "Medal (edited in Outlook)"
    item.save(update_fields=["subject"])
    world.sync_now()
    assert world.titles() == ["Medal"]  # Exchange's change is not taken over…
    world.caddie("appointment", "update", medal, "--location", "Tee 10")
    world.sync_now()
    assert "Medal" in world.outlook_titles()  # …and the next PC CADDIE change overwrites it


def test_hide_private_and_disable_reminders(world):
    world.set_up("anna", "Tee times", "--hide-private", "--disable-reminders")
    world.outlook_add("Private: doctor", sensitivity="Private")
    world.outlook_add("Course walk")
    world.add("Board meeting", 3, 9, "--private")
    world.sync_now()
    assert world.titles() == ["Board meeting", "Course walk"]
    (board,) = [i for i in world.outlook_items() if i.subject == "Board meeting"]
    assert board.sensitivity == "Private" and not board.reminder_is_set


def test_filters(world):
    world.set_up()
    world.caddie("filter", "add", "anna", "*test")
    world.add("Greens test")
    world.add("Greens mowing")
    world.outlook_add("Speed test")
    world.sync_now()
    assert world.outlook_titles() == ["Greens mowing", "Speed test"]
    assert world.titles() == ["Greens mowing", "Greens test"]


def test_conflict_keeps_the_losing_version(world):
    world.set_up()
    medal = world.add("Medal")
    world.sync_now()
    (item,) = world.outlook_items()
    item.subject = "Medal (Outlook)"
    item.save(update_fields=["subject"])
    world.caddie("appointment", "update", medal, "--title", "Medal (PC CADDIE)")
    world.sync_now()
    assert world.outlook_titles() == ["Medal (PC CADDIE)"] and world.titles() == ["Medal (PC CADDIE)"]
    (conflict,) = world.json("conflicts", "anna")
    assert conflict["winner"] == "pccaddie" and conflict["lost"]["title"] == "Medal (Outlook)"


def test_retries_stop_and_reset(world):
    world.set_up()
    world.caddie("param", "set", "SYNC_EXCH_ATTEMPTS", "2")
    world.add("Will fail")
    world.control(
        "/emulator/faults",
        {"kind": "error_message", "code": "ErrorCorruptData", "count": 1000, "operations": ["CreateItem"]},
    )  # Exchange refuses this item, every time, in its response message (a fault of the whole request would
    # be the mailbox's trouble: no attempt counted)
    for attempt in (1, 2):
        world.sync_now(ok=False)
        (item,) = world.json("items")
        assert item["attempts"] == attempt and item["error"].startswith("create in Exchange: server_error")
    assert world.json("items", "--stopped")[0]["stopped"] is True
    world.control("/emulator/faults", method="DELETE")  # whatever was wrong is mended
    world.sync_now()
    assert world.outlook_titles() == []  # stopped: not tried any more
    world.caddie("items", "reset", "--all")
    world.sync_now()
    assert world.outlook_titles() == ["Will fail"] and world.json("items") == []


def test_statistics_for_a_period(world):
    world.set_up()
    for n in range(3):
        world.add(f"Lesson {n}", 2, 9 + n)
    world.outlook_add("Greenkeeping")
    world.sync_now()
    today = dt.date.today().isoformat()
    (row,) = world.json("stats", "anna", "--from", today, "--to", today, "--by", "day")
    assert (row["period"], row["to_exchange"], row["to_pccaddie"], row["synchronised"]) == (today, 3, 1, 4)
    assert world.json("stats", "anna", "--from", "2000-01-01", "--to", "2000-12-31") == []
    (month,) = world.json("stats", "anna", "--by", "month")
    assert month["synchronised"] == 4


def _next_last_sunday(month: int) -> dt.date:
    """The next last Sunday of `month` (when Europe changes its clocks) that is still ahead."""
    year = dt.date.today().year
    while True:
        last = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
        sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
        if sunday > dt.date.today():
            return sunday
        year += 1


def test_dst_edges_and_all_day_entries(world):
    world.set_up()
    spring, autumn = _next_last_sunday(3), _next_last_sunday(10)
    for day, title in ((spring, "spring"), (autumn, "autumn")):
        if (day - dt.date.today()).days > 390:
            continue  # beyond the sync window: covered by the other change of the year
        world.caddie(
            "appointment",
            "add",
            "Tee times",
            "--title",
            f"{title} early",
            "--start",
            f"{day}T01:30",
            "--end",
            f"{day}T01:45",
        )
        world.caddie(
            "appointment",
            "add",
            "Tee times",
            "--title",
            f"{title} late",
            "--start",
            f"{day}T04:00",
            "--end",
            f"{day}T05:00",
        )
        world.caddie(
            "appointment",
            "add",
            "Tee times",
            "--title",
            f"{title} all day",
            "--all-day",
            "--start",
            f"{day}",
            "--end",
            f"{day}",
        )
    gap = world.caddie(
        "appointment",
        "add",
        "Tee times",
        "--title",
        "in the gap",
        "--start",
        f"{spring}T02:30",
        "--end",
        f"{spring}T03:30",
        ok=False,
    )
    assert gap.returncode == 1 and "does not exist" in gap.stderr
    world.sync_now()
    day_of = {"spring": spring, "autumn": autumn}
    items = {item.subject: item for item in world.outlook_items()}
    berlin = world.outlook().default_timezone
    for title in ("spring", "autumn"):
        if f"{title} early" not in items:
            continue
        early, late = items[f"{title} early"], items[f"{title} late"]
        assert early.start.astimezone(berlin).strftime("%H:%M") == "01:30"
        assert late.start.astimezone(berlin).strftime("%H:%M") == "04:00"
        offsets = {early.start.astimezone(berlin).utcoffset(), late.start.astimezone(berlin).utcoffset()}
        assert offsets == {dt.timedelta(hours=1), dt.timedelta(hours=2)}  # either side of the change
        whole = items[f"{title} all day"]
        hours = isodate.parse_duration(whole.duration).total_seconds() / 3600
        assert whole.is_all_day and whole.start == day_of[title] and hours in (23, 24, 25)
    # (exchangelib itself reads the last day of an all-day entry ending on the spring change a day
    # early; the gateway corrects that, so the entries come back unchanged:)
    before = world.json("appointment", "list")
    world.sync_now()
    assert world.json("appointment", "list") == before
    assert world.json("report", "anna", "--cycles", "1") == [] or all(
        line["action"] != "update" for line in world.json("report", "anna", "--cycles", "1")
    )
