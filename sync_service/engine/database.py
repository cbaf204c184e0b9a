"""Database work from trio: every call runs in a worker thread, one at a time, in one transaction.

peewee keeps a connection per thread; trio's worker threads come and go, so each call opens the
connection it needs and closes it again (opening SQLite costs microseconds)."""

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
        try:
            with self.db.atomic():
                return function(*args)
        finally:
            self.db.close()

    async def run(self, function: Callable[..., T], *args: object) -> T:
        return await trio.to_thread.run_sync(self._call, function, *args, limiter=self._limiter)
