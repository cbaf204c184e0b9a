"""sandbox.processes: services watched through their logs, as tests/e2e, bench/, campaigns/ and the
demo watch them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sandbox.processes import (
    NotLogged,
    Service,
    ServiceExited,
    cycle_lock,
    free_port,
    log_messages,
    log_time,
    run_command,
)

LOG = [
    "02.12.26 - 06:00:00.10: Listener started",
    "Traceback (most recent call last):",  # a continuation line: not a message
    "02.12.26 - 06:00:01.20: Sync ended",
    "02.12.26 - 06:00:02.30: Sync ended",
]


def logged(home: Path, name: str, lines: list[str]) -> Service:
    service = Service(name, home, "run")
    service.log_path.parent.mkdir(parents=True, exist_ok=True)
    service.log_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return service


def test_a_log_is_read_as_timestamped_messages(tmp_path):
    service = logged(tmp_path, "sync-service", LOG)
    assert service.log_path == tmp_path / "logs" / "sync-service.log"
    assert service.messages()[0] == ("02.12.26 - 06:00:00.10", "Listener started")
    assert service.lines() == ["Listener started", "Sync ended", "Sync ended"]
    assert service.log_lines() == LOG  # every line as written, for the demo to show
    assert service.count("Sync ended") == 2 and service.count("Sync") == 0  # whole messages only
    assert log_time("02.12.26 - 06:00:01.20").isoformat() == "2026-12-02T06:00:01.200000"


def test_a_missing_log_has_no_messages(tmp_path):
    assert log_messages(tmp_path / "logs" / "nothing.log") == []
    assert Service("sync-service", tmp_path).lines() == []


def test_wait_for_looks_at_least_once_and_calls_back_before_each_look(tmp_path):
    service = logged(tmp_path, "sync-service", LOG)
    looks: list[int] = []
    service.wait_for("Sync ended", count=2, timeout=0, while_waiting=lambda: looks.append(len(looks)))
    assert looks == [0]


def test_wait_for_says_what_was_not_logged(tmp_path):
    service = logged(tmp_path, "sync-service", LOG)
    with pytest.raises(NotLogged) as raised:
        service.wait_for("Sync ended", count=3, timeout=0)
    assert isinstance(raised.value, AssertionError)  # a failed expectation, in a test's report
    assert "'Sync ended' x3 not in sync-service's log within 0 s" in str(raised.value)
    assert "Listener started" in str(raised.value)


@pytest.mark.e2e
def test_wait_for_stops_when_the_process_exits_and_shows_its_console(tmp_path):
    service = Service("sync-service", tmp_path / "home", "run", "--gateway", "not an address").start()
    with pytest.raises(ServiceExited) as raised:
        service.wait_for("Sync started", timeout=120)
    assert raised.value.status == 2  # click's usage error
    assert "not an address" in service.console() and "not an address" in str(raised.value)
    assert not service.running


@pytest.mark.e2e
def test_a_service_without_console_writes_none(tmp_path):
    service = Service("sync-service", tmp_path, "run", "--gateway", "not an address", console=False).start()
    assert service.process is not None and service.process.wait(timeout=120) == 2
    assert service.console() == "" and not (tmp_path / "sync-service.console").exists()


def test_the_cycle_lock_is_the_one_sync_now_takes(tmp_path):
    lock = cycle_lock(tmp_path)
    assert Path(lock.lock_file) == tmp_path / "sync-cycle.lock"
    with lock.acquire(timeout=1):
        assert lock.is_locked


def test_a_free_port_can_be_listened_on():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


@pytest.mark.e2e
def test_run_command_runs_the_console_script():
    result = run_command("sync-service", "--help")
    assert result.returncode == 0 and "Usage" in result.stdout
