"""Database work from trio: every call runs in a worker thread, one at a time, in one transaction.

peewee keeps a connection per thread. trio reuses its idle worker threads, so with one call at a
time the same thread, and its open connection, serve call after call; a thread trio retires takes
its connection with it (SQLite closes it when the thread's state is collected)."""

from __future__ import annotations

from typing import Callable, TypeVar

import peewee as pw
import trio

T = TypeVar("T")


class DbRunner:
    def __init__(self, db: pw.SqliteDatabase) -> None:
        self.db = db
        self._limiter = trio.CapacityLimiter(1)

    def _call(self, function: Callable[..., T], *args: object) -> T:
        self.db.connect(reuse_if_open=True)
        with self.db.atomic():
            return function(*args)

    async def run(self, function: Callable[..., T], *args: object) -> T:
        return await trio.to_thread.run_sync(self._call, function, *args, limiter=self._limiter)
