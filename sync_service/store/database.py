"""Opening the club database: SQLite in the home, with the settings a shared database needs.

- WAL: readers never block the writer and the writer never blocks readers, so PC CADDIE, the
  admin commands and the sync service can all use the database at once.
- foreign_keys: SQLite leaves them off unless asked; our ON DELETE rules depend on them.
- busy_timeout: a writer waits up to 10 s for another writer instead of failing at once.
- synchronous=FULL: in WAL mode NORMAL never corrupts the database but may lose the last commits
  on a power cut; FULL loses none. The sync state must survive a power cut (a lost link means a
  duplicate in Exchange or a lost deletion), and the service commits once per batch, not per item,
  so the extra fsync per commit costs little.
- BEGIN IMMEDIATE for every transaction that may write: it takes the write lock at its start, so
  two writers queue (busy_timeout) rather than deadlock on upgrading a read lock. Work that only
  reads asks for a deferred transaction (`db.atomic("DEFERRED")`, as engine.database.DbRunner.read
  does): it reads a snapshot and neither waits for PC CADDIE's writers nor holds them up.

peewee keeps one connection per thread; the service runs database work in a worker thread.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import peewee as pw

from .models import ALL_MODELS
from .schema import SchemaError, migrate

DATABASE_FILE = "pccaddie.sqlite3"
BUSY_TIMEOUT_MS = 10_000
PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "synchronous": "full",
}


def open_database(
    path: Path, *, upgrade: bool = True, synchronous: str = "full", busy_timeout: int = BUSY_TIMEOUT_MS
) -> pw.SqliteDatabase:
    """Open (creating if need be) the database at `path`, bind the models, bring the schema up to
    date. Raises SchemaError with a readable reason. (`synchronous` other than full is for tests
    and benchmarks that do not care about power cuts; so is a `busy_timeout` in ms other than 10 s.)"""
    pragmas = {**PRAGMAS, "synchronous": synchronous, "busy_timeout": busy_timeout}
    db = pw.SqliteDatabase(str(path), pragmas=pragmas, lock_type="IMMEDIATE")
    try:
        db.connect()
        if upgrade:
            migrate(db, backup_dir=path.parent)
    except (pw.DatabaseError, sqlite3.DatabaseError) as exc:
        db.close()
        raise SchemaError(f"cannot open the database {path}: {exc}") from None
    except SchemaError:
        db.close()
        raise
    db.bind(ALL_MODELS, bind_refs=False, bind_backrefs=False)
    return db
