"""What the manager's tests share: a home whose services listen on a free port, the app driven
headless (Textual's pilot needs asyncio; pytest-trio runs only the async tests, so these are plain
tests that call `asyncio.run`), and waiting for what a thread or a process does."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Awaitable, Callable

from textual.pilot import Pilot

from sandbox.processes import free_port
from service_runtime.home import Home
from service_runtime.status import process_alive, read_status
from sync_service.manager.app import ManagerApp

SERVICES = ("exchange-gateway", "sync-service")


def club_home(root: Path) -> Home:
    """A home whose gateway listens on a free loopback port, and whose sync service goes there."""
    home = Home(root).prepare()
    address = f"127.0.0.1:{free_port()}"
    home.config_file.write_text(
        f'[gateway]\nlisten = "{address}"\n\n[sync]\ngateway = "{address}"\ninterval_seconds = 3600\n',
        encoding="utf-8",
    )
    return home


def end_services(home: Home) -> None:
    """After a test: no service of this home is left running (kill -9 whatever still is)."""
    for service in SERVICES:
        status = read_status(home, service)
        if status is not None and status.pid != os.getpid() and process_alive(status.pid):
            os.kill(status.pid, signal.SIGKILL)


def drive(
    app: ManagerApp, scenario: Callable[[Pilot[None]], Awaitable[None]], size: tuple[int, int] = (130, 32)
) -> None:
    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)

    asyncio.run(run())


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Let the app run until `condition()` holds (a follower thread or a process is at work)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        await pilot.pause(0.02)


async def press_and_wait(pilot: Pilot[None], key: str) -> None:
    """Press a key and wait for the action it started (a worker thread) to be done."""
    await pilot.press(key)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
