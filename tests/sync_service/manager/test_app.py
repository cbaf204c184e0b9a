import gzip
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from service_runtime.status import read_status, utc_now, write_status
from sync_service.manager.app import COLUMNS, ManagerApp
from sync_service.manager.archive import ArchiveScreen
from sync_service.manager.control import ProcessControl, Refused

from .support import club_home, drive, end_services, press_and_wait, until

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.fixture
def home(tmp_path):
    home = club_home(tmp_path / "home")
    yield home
    end_services(home)


def app_for(home, control=None, **options):
    return ManagerApp(home, control or ProcessControl(home), log_poll=0.02, **options)


def log_line(text):
    return f"02.12.26 - 10:00:00.00: {text}"


def test_the_table_has_the_originals_columns_and_both_services(home):
    app = app_for(home)

    async def scenario(pilot):
        table = app.query_one("#overview")
        assert tuple(str(column.label) for column in table.columns.values()) == COLUMNS
        assert COLUMNS == ("Name", "State", "ID", "Time", "PID", "Version")
        assert app.table_rows() == [
            ("Exchange gateway", "Never started", "user_exch", "-", "-", "-"),
            ("Synchronisation service", "Never started", "user_sync", "-", "-", "-"),
        ]

    drive(app, scenario)


def test_f2_f4_f3_start_restart_and_stop_real_services_and_the_table_follows(home, tmp_path):
    app = app_for(home)

    async def scenario(pilot):
        await press_and_wait(pilot, "f2")  # the gateway: the first row is selected
        gateway = read_status(home, "exchange-gateway")
        assert app.last_message == f"Exchange gateway started (PID {gateway.pid})"
        name, state, ident, heartbeat, pid, version = app.table_rows()[0]
        assert (name, ident, pid, version) == ("Exchange gateway", "user_exch", str(gateway.pid), gateway.version)
        assert state.startswith("Running since ") and heartbeat != "-"
        await until(pilot, lambda: "Listener started" in " ".join(app.log_lines()), what="the gateway's log")

        await pilot.press("down")  # the sync service
        await press_and_wait(pilot, "f2")
        sync = read_status(home, "sync-service")
        assert app.last_message == f"Synchronisation service started (PID {sync.pid})"
        await until(pilot, lambda: any("Connect confirmed" in line for line in app.log_lines()), what="connected")
        assert not any("Listener started" in line for line in app.log_lines())  # the log of the selected one
        app.save_screenshot("manager-overview.svg", str(tmp_path))
        svg = (tmp_path / "manager-overview.svg").read_text()
        for text in ("Service&#160;manager&#160;overview", "user_sync", "Connect&#160;confirmed"):
            assert text in svg
        assert len(re.findall(r"Running&#160;since&#160;\d\d:\d\d:\d\d", svg)) == 2  # not cut short
        if os.environ.get("UPDATE_SCREENSHOTS"):
            shutil.copy(tmp_path / "manager-overview.svg", DOCS / "manager-overview.svg")

        await press_and_wait(pilot, "f4")
        restarted = read_status(home, "sync-service")
        assert restarted.pid != sync.pid
        assert app.last_message == f"Synchronisation service restarted (PID {restarted.pid})"
        assert app.table_rows()[1][4] == str(restarted.pid)

        await press_and_wait(pilot, "f3")
        assert app.last_message == f"Synchronisation service stopped (PID {restarted.pid})"
        assert app.table_rows()[1][1] == "Stopped"
        await press_and_wait(pilot, "f3")
        assert app.last_message == "Synchronisation service is not running"
        await pilot.press("up")
        await press_and_wait(pilot, "f3")
        assert app.last_message == f"Exchange gateway stopped (PID {gateway.pid})"
        assert [row[1] for row in app.table_rows()] == ["Stopped", "Stopped"]

    drive(app, scenario)


def test_f5_refreshes_and_shift_f5_switches_auto_refresh_off_and_on(home):
    app = app_for(home, refresh_seconds=0.05)
    beat = replace(
        read_status(home, "exchange-gateway") or _status(), heartbeat=utc_now(), started=utc_now(), pid=os.getpid()
    )

    async def scenario(pilot):
        await pilot.press("shift+f5")
        assert (app.auto_refreshing, app.last_message) == (False, "Auto refresh off")
        write_status(home, beat)  # this process stands in for a running gateway
        app.auto_refresh_tick()  # what the timer calls
        assert app.table_rows()[0][1] == "Never started"  # no refresh while it is off
        await pilot.press("f5")
        assert app.last_message == "Refreshed Exchange gateway"
        assert app.table_rows()[0][1].startswith("Running since ")
        assert app.table_rows()[0][4] == str(os.getpid())

        write_status(home, replace(beat, state="stopped", stopped=utc_now()))
        await pilot.press("shift+f5")
        assert (app.auto_refreshing, app.last_message) == (True, "Auto refresh on")
        await until(pilot, lambda: app.table_rows()[0][1] == "Stopped", what="the auto refresh")

    drive(app, scenario)


def _status():
    from service_runtime.status import ServiceStatus

    return ServiceStatus("exchange-gateway", os.getpid(), utc_now(), utc_now(), "0.1.0")


def test_the_log_pane_follows_the_selected_service_across_a_rotation(home):
    log = home.log_file("sync-service")
    log.write_text(log_line("Sync started") + "\n", encoding="utf-8")
    app = app_for(home)

    async def scenario(pilot):
        await pilot.press("down")
        await until(pilot, lambda: app.log_lines() == [log_line("Sync started")], what="the last lines")
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(log_line("Sync ended") + "\n")
        log.rename(home.logs_dir / "sync-service.2026-12-02_10-00-00_000000.log")  # as loguru rotates
        log.write_text(log_line("127.0.0.1:3000: Disconnected") + "\n", encoding="utf-8")
        expected = [log_line("Sync started"), log_line("Sync ended"), log_line("127.0.0.1:3000: Disconnected")]
        await until(pilot, lambda: app.log_lines() == expected, what=f"{expected} after the rotation")

        await pilot.press("up")  # the gateway's log, which does not exist yet
        await until(pilot, lambda: app.log_lines() == [], what="the pane cleared")
        home.log_file("exchange-gateway").write_text(log_line("Listener started") + "\n", encoding="utf-8")
        await until(pilot, lambda: app.log_lines() == [log_line("Listener started")], what="the gateway's new log")

    drive(app, scenario)


def test_f6_shows_the_log_archive_and_reads_a_compressed_file(home):
    archived = home.logs_dir / "exchange-gateway.2026-12-01_09-00-00_000000.log.gz"
    with gzip.open(archived, "wt", encoding="utf-8") as handle:
        handle.write(log_line("Listener started") + "\n" + log_line("Client connected: Client IP: 127.0.0.1") + "\n")
    app = app_for(home)

    async def scenario(pilot):
        await pilot.press("f6")
        screen = app.screen
        assert isinstance(screen, ArchiveScreen)
        assert [item.path.name for item in screen.files] == [archived.name]
        await pilot.press("enter")
        assert screen.shown_lines() == [
            log_line("Listener started"),
            log_line("Client connected: Client IP: 127.0.0.1"),
        ]
        await pilot.press("escape")
        assert not isinstance(app.screen, ArchiveScreen)

        await pilot.press("down", "f6")  # the sync service has none
        assert app.screen.files == []
        assert "(no rotated log files yet)" in str(app.screen.query_one("#archives").render())
        await pilot.press("f6")
        assert not isinstance(app.screen, ArchiveScreen)

    drive(app, scenario)


def test_a_refused_control_is_one_line_in_the_window(home):
    reason = "--control windows: the Windows service manager exists only on Windows (sc.exe)"
    app = app_for(home, Refused(reason))

    async def scenario(pilot):
        assert app.last_message == reason
        for key in ("f2", "f3", "f4"):
            await press_and_wait(pilot, key)
            assert app.last_message == reason

    drive(app, scenario)


class Exploding:
    description = "broken"

    def start(self, service):
        raise OSError("no such program")

    stop = restart = start

    def poll(self):
        pass


def test_a_failing_control_is_one_line_not_a_traceback(home):
    app = app_for(home, Exploding())

    async def scenario(pilot):
        await press_and_wait(pilot, "f2")
        assert app.last_message == "start Exchange gateway failed: no such program"
        assert app.is_running

    drive(app, scenario)
