import subprocess
from pathlib import Path

import pytest

from service_runtime.home import Home
from service_runtime.overview import overview
from service_runtime.status import process_alive, read_status
from sync_service.manager.control import (
    UNITS,
    ProcessControl,
    Refused,
    SystemdControl,
    WindowsControl,
    choose_control,
)

from .support import club_home, end_services


@pytest.fixture
def home(tmp_path):
    home = club_home(tmp_path / "home")
    yield home
    end_services(home)


def test_process_control_starts_and_stops_real_services_that_overview_shows(home):
    control = ProcessControl(home)
    started = control.start("exchange-gateway")
    assert started.ok, started.message
    pid = read_status(home, "exchange-gateway").pid
    assert started.message == f"Exchange gateway started (PID {pid})"
    assert overview(home)[0].state.startswith("Running since ")
    assert overview(home)[0].pid == str(pid)

    again = control.start("exchange-gateway")
    assert (again.ok, again.message) == (False, f"Exchange gateway is already running (PID {pid})")

    assert control.start("sync-service").ok
    sync_pid = read_status(home, "sync-service").pid

    stopped = control.stop("exchange-gateway")
    assert (stopped.ok, stopped.message) == (True, f"Exchange gateway stopped (PID {pid})")
    assert not process_alive(pid)
    assert overview(home)[0].state == "Stopped"
    assert overview(home)[1].state.startswith("Running since ")  # the other one is left alone

    assert control.stop("exchange-gateway").message == "Exchange gateway is not running"
    restarted = control.restart("sync-service")
    assert restarted.message == f"Synchronisation service restarted (PID {read_status(home, 'sync-service').pid})"
    assert read_status(home, "sync-service").pid != sync_pid
    assert not process_alive(sync_pid), Path(f"/proc/{sync_pid}/stat").read_text()


def test_processes_outlive_the_control_that_started_them(home):
    assert ProcessControl(home).start("exchange-gateway").ok
    pid = read_status(home, "exchange-gateway").pid
    # another window (a new control, as after closing the first) sees it and stops it by its PID
    later = ProcessControl(home)
    assert later.start("exchange-gateway").message == f"Exchange gateway is already running (PID {pid})"
    assert later.stop("exchange-gateway").ok
    assert overview(home)[0].state == "Stopped"  # (the process is gone; the first control has not reaped it)


def test_a_service_that_ends_at_start_is_one_line_with_its_reason(home):
    home.config_file.write_text("[sync]\ninterval_seconds = -1\n", encoding="utf-8")
    outcome = ProcessControl(home).start("sync-service")
    assert not outcome.ok
    assert outcome.message.startswith("Synchronisation service ended at start (exit status 1): ")
    assert "interval_seconds" in outcome.message
    assert "\n" not in outcome.message


def test_a_reused_pid_is_not_taken_for_the_service(home):
    control = ProcessControl(home)
    assert control.start("exchange-gateway").ok
    status = read_status(home, "exchange-gateway")
    other = subprocess.Popen(["sleep", "30"])
    try:
        text = home.root.joinpath("status", "exchange-gateway.json").read_text()
        home.root.joinpath("status", "exchange-gateway.json").write_text(
            text.replace(f'"pid": {status.pid}', f'"pid": {other.pid}')
        )
        assert control.stop("exchange-gateway").message == "Exchange gateway is not running"
        assert other.poll() is None  # not signalled
    finally:
        other.kill()
        other.wait()
        import os
        import signal

        os.kill(status.pid, signal.SIGTERM)


def test_choose_control_refuses_what_cannot_work_here_in_one_line(home):
    assert isinstance(choose_control("process", home), ProcessControl)
    windows = choose_control("windows", home, platform="linux")
    assert isinstance(windows, Refused)
    assert windows.start("sync-service").message == (
        "--control windows: the Windows service manager exists only on Windows (sc.exe)"
    )
    none = choose_control("systemd", home, which=lambda name: None)
    assert isinstance(none, Refused)
    assert none.reason == "--control systemd: there is no systemctl on this machine"
    assert isinstance(choose_control("auto", home, which=lambda name: None), ProcessControl)
    with pytest.raises(ValueError):
        choose_control("launchd", home)


def test_auto_is_process_where_the_units_are_not_installed(home):
    # this machine's own systemctl (if any): the product's units are not installed here
    systemd = choose_control("systemd", home)
    assert isinstance(systemd, Refused)
    assert systemd.reason.startswith("--control systemd: ")
    assert isinstance(choose_control("auto", home), ProcessControl)


class Recorder:
    """Answers systemctl/sc.exe calls as given and records them."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        code, out, err = self.answers.get(tuple(argv[:2]), (0, "", ""))
        return subprocess.CompletedProcess(argv, code, out, err)


def test_systemd_control_runs_systemctl_on_the_units_and_says_why_it_failed():
    recorder = Recorder({("systemctl", "stop"): (1, "", "Failed to stop caddie-sync-service.service: Access denied\n")})
    systemd = SystemdControl(recorder)
    assert systemd.start("exchange-gateway").message == "Exchange gateway started (caddie-exchange-gateway.service)"
    failed = systemd.stop("sync-service")
    assert (failed.ok, failed.message) == (
        False,
        "systemctl stop caddie-sync-service.service failed: Failed to stop caddie-sync-service.service: Access denied",
    )
    assert systemd.restart("sync-service").ok
    assert recorder.calls == [
        ["systemctl", "start", UNITS["exchange-gateway"]],
        ["systemctl", "stop", UNITS["sync-service"]],
        ["systemctl", "restart", UNITS["sync-service"]],
    ]


def test_systemd_units_count_as_installed_only_when_both_are_loaded():
    loaded = Recorder({("systemctl", "show"): (0, "loaded\n", "")})
    assert SystemdControl(loaded).installed() is None
    missing = Recorder({("systemctl", "show"): (0, "not-found\n", "")})
    assert SystemdControl(missing).installed() == (
        "the systemd unit caddie-exchange-gateway.service is not installed (see docs/install.md)"
    )


def test_windows_control_uses_sc_exe_on_the_winsw_services():
    recorder = Recorder({("sc.exe", "query"): (0, "        STATE              : 1  STOPPED\n", "")})
    windows = WindowsControl(recorder)
    assert windows.installed() is None
    assert windows.restart("sync-service").message == "Synchronisation service restarted (caddie-sync-service)"
    assert ["sc.exe", "stop", "caddie-sync-service"] in recorder.calls
    assert recorder.calls[-1] == ["sc.exe", "start", "caddie-sync-service"]
    absent = WindowsControl(Recorder({("sc.exe", "query"): (1060, "", "[SC] OpenService FAILED 1060\n")}))
    assert absent.installed() == (
        "the Windows service caddie-exchange-gateway is not installed (see deploy/windows/README.md)"
    )


def test_systemd_units_with_another_home_are_named_in_one_line(tmp_path):
    environment = "CADDIE_SYNC_HOME=/var/lib/caddie-sync LANG=C.UTF-8\n"
    systemd = SystemdControl(Recorder({("systemctl", "show"): (0, environment, "")}))
    assert systemd.home_notice(Home(tmp_path)) == (
        f"caddie-exchange-gateway.service runs with home /var/lib/caddie-sync, this window reads {tmp_path}: "
        "start it with --home /var/lib/caddie-sync"
    )
    assert systemd.home_notice(Home(Path("/var/lib/caddie-sync"))) == ""
