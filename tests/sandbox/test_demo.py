"""sandbox.demo: how the demo shows the services' logs as it goes (the whole story runs in
tests/e2e/test_command_line.py and, from a wheel, tests/e2e/test_wheel.py)."""

from __future__ import annotations

from pathlib import Path

from sandbox.demo import BORING, _Shown
from sandbox.processes import Service


def shown(home: Path, name: str, lines: list[str], said: list[str]) -> _Shown:
    service = Service(name, home, "run", console=False)
    service.log_path.parent.mkdir(parents=True, exist_ok=True)
    service.log_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return _Shown(service, said.append)


def test_new_lines_of_both_services_are_shown_once_in_time_order(tmp_path):
    said: list[str] = []
    gateway = shown(tmp_path, "exchange-gateway", ["02.12.26 - 06:00:01.00: Listener started"], said)
    sync = shown(
        tmp_path,
        "sync-service",
        ["02.12.26 - 06:00:00.50: Sync started", "02.12.26 - 06:00:02.00: 127.0.0.1:3000: Connect confirmed"],
        said,
    )
    sync.others = [gateway]
    sync.show_new_lines(skip=BORING)
    assert said == [
        "   exchange-gateway | 02.12.26 - 06:00:01.00: Listener started",
        "       sync-service | 02.12.26 - 06:00:02.00: 127.0.0.1:3000: Connect confirmed",
    ]  # "Sync started" is boring
    sync.show_new_lines()
    assert len(said) == 2  # nothing new
