"""Some admin changes must not fall inside a running sync cycle: one that forgets Exchange ids
(another folder, an account removed) would be undone by the cycle's own writes of the ids it was
handed meanwhile. `between_cycles` holds the cycle lock (sync_service/cycle_lock.py: the same file,
HOME/sync-cycle.lock) around the change's transaction, waiting for a running cycle to end."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import filelock

from . import AdminError

WAIT_SECONDS = 60.0


@contextmanager
def between_cycles(lock_file: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the cycle lock for the body; AdminError if a cycle holds it for longer than `wait`
    (default WAIT_SECONDS)."""
    wait = WAIT_SECONDS if wait is None else wait
    lock = filelock.FileLock(str(lock_file))
    try:
        lock.acquire(timeout=wait)
    except filelock.Timeout:
        raise AdminError(f"a sync cycle has been running for over {wait:g} s; try again when it has ended") from None
    try:
        yield
    finally:
        lock.release()
