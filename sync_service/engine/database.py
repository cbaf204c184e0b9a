"""Database work from trio: every call runs in a worker thread, one at a time, in one transaction.

`run` is for work that writes: its transaction is BEGIN IMMEDIATE (see store/database.py), it
takes the write lock at its start, so it waits while another program (PC CADDIE) is writing.
`read` is for work that only reads: a deferred transaction, which in WAL mode reads a consistent
snapshot and never waits for a writer nor holds one up. The connection is read-only for its
duration, so work that writes after all fails at once ("attempt to write a readonly database")
instead of meeting a lock it did not ask for at its start.

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

    def _read(self, function: Callable[..., T], *args: object) -> T:
        self.db.connect(reuse_if_open=True)
        self.db.execute_sql("PRAGMA query_only = 1")
        try:
            with self.db.atomic("DEFERRED"):
                return function(*args)
        finally:
            self.db.execute_sql("PRAGMA query_only = 0")

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in a transaction that may write (BEGIN IMMEDIATE)."""
        return await trio.to_thread.run_sync(self._call, function, *args, limiter=self._limiter)

    async def read(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in a read-only deferred transaction: one snapshot, no write lock."""
        return await trio.to_thread.run_sync(self._read, function, *args, limiter=self._limiter)
