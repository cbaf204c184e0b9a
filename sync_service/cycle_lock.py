"""Never two sync cycles at once, even from two processes (`run` and `sync-now`): a lock file."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import filelock
import trio

POLL_SECONDS = 0.1


class CycleBusy(Exception):
    """Another process kept the cycle lock for longer than we were willing to wait."""


@asynccontextmanager
async def cycle_lock(path: Path, wait: float) -> AsyncIterator[None]:
    """Hold the cycle lock for the body, waiting (without blocking trio) at most `wait` seconds."""
    lock = filelock.FileLock(str(path))
    with trio.move_on_after(wait):
        while True:
            try:
                lock.acquire(timeout=0)
                break
            except filelock.Timeout:
                await trio.sleep(POLL_SECONDS)
    if not lock.is_locked:
        raise CycleBusy(f"another sync cycle has held {path} for over {wait:g} s")
    try:
        yield
    finally:
        lock.release()
