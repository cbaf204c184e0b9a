"""A service's log as a technician reads it: the last lines, the archive of rotated files, and
following it live across rotations. The live file is opened, read and closed on each look, never
held open, so that rotation (a rename) is never blocked, not even on Windows."""

from __future__ import annotations

import gzip
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

BLOCK = 64 * 1024


@dataclass(frozen=True)
class Position:
    """Where a reader of the live file stands: the file (inode, device; None when there was no
    file: then whatever file comes is read from its start) and the offset read up to."""

    identity: tuple[int, int] | None
    offset: int


@dataclass(frozen=True)
class Tail:
    """The last lines of the file, and where they end: following from `position` misses no line
    written after them."""

    lines: list[str]
    position: Position


def tail_at(path: Path, lines: int) -> Tail:
    """The last `lines` complete lines of a text file, reading from its end, and the position
    after them (a last line still being written is left to whoever follows from there)."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            end = stat.st_size
            data = b""
            while end > 0 and data.count(b"\n") <= lines:
                start = max(0, end - BLOCK)
                handle.seek(start)
                data = handle.read(end - start) + data
                end = start
    except FileNotFoundError:
        return Tail([], Position(None, 0))
    complete = data.rfind(b"\n") + 1  # what follows the last newline is not a line yet
    position = Position((stat.st_ino, stat.st_dev), end + complete)
    text = data[:complete].decode("utf-8", errors="replace").splitlines()
    return Tail(text[-lines:] if lines else [], position)


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of a text file, reading from its end (a last line without its
    newline included)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            data = b""
            while end > 0 and data.count(b"\n") <= lines:
                start = max(0, end - BLOCK)
                handle.seek(start)
                data = handle.read(end - start) + data
                end = start
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    return text[-lines:] if lines else []


@dataclass(frozen=True)
class Archive:
    path: Path
    size: int
    modified: float


def archives(logs_dir: Path, service: str) -> list[Archive]:
    """The rotated files of a service's log, oldest first."""
    found = []
    for path in logs_dir.glob(f"{service}.*.log*"):
        if path.name != f"{service}.log":
            stat = path.stat()
            found.append(Archive(path, stat.st_size, stat.st_mtime))
    return sorted(found, key=lambda a: (a.modified, a.path.name))


def read_archive(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return handle.read().decode("utf-8", errors="replace")


def matching(lines: list[str], grep: str | None) -> list[str]:
    if not grep:
        return lines
    needle = grep.casefold()
    return [line for line in lines if needle in line.casefold()]


def follow(
    path: Path,
    logs_dir: Path,
    service: str,
    *,
    poll: float = 0.5,
    running: Callable[[], bool] = lambda: True,
    sleep: Callable[[float], None] = time.sleep,
    start: Position | None = None,
) -> Iterator[str]:
    """New lines as they come, from `start` on (a `tail_at`'s position), else from the end of the
    file as it is at the first look. When the file is rotated (a new file under the name, or a
    shorter one), the rest of the old file is read from its archive, then the new file from its
    start."""
    identity: tuple[int, int] | None
    if start is not None:
        identity, position = start.identity, start.offset
    else:
        try:
            stat = path.stat()
            identity, position = (stat.st_ino, stat.st_dev), stat.st_size
        except FileNotFoundError:
            identity, position = None, 0
    pending = b""
    while running():
        try:
            stat = path.stat()
        except FileNotFoundError:
            sleep(poll)
            continue
        if identity is not None and ((stat.st_ino, stat.st_dev) != identity or stat.st_size < position):
            rest = _rest_of_rotated(logs_dir, service, position)
            pending += rest
            position = 0
        identity = (stat.st_ino, stat.st_dev)
        if stat.st_size > position:
            with open(path, "rb") as handle:
                handle.seek(position)
                chunk = handle.read()
            position += len(chunk)
            pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
        if not complete:
            sleep(poll)


def _rest_of_rotated(logs_dir: Path, service: str, position: int) -> bytes:
    """What was written to the file after we last read it and before it was rotated."""
    rotated = archives(logs_dir, service)
    if not rotated:
        return b""
    newest = rotated[-1].path
    opener = gzip.open if newest.suffix == ".gz" else open
    try:
        with opener(newest, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError):
        return b""
    return data[position:] if len(data) >= position else b""
