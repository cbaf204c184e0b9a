import sqlite3
import subprocess
import sys
from datetime import datetime

import peewee as pw
import pytest

from sync_service.store.database import open_database
from sync_service.store.models import ALL_MODELS, Appointment, Person, TimetableArea
from sync_service.store.schema import LATEST_VERSION, MIGRATIONS, SchemaError, migrate, schema_version

NOW = datetime(2026, 6, 1, 9, 30)


def test_fresh_database_gets_every_migration(tmp_path):
    db = open_database(tmp_path / "club.sqlite3")
    assert schema_version(db) == LATEST_VERSION == MIGRATIONS[-1].version
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    pragmas = {
        name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
    }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2, "busy_timeout": 10000}
    assert not list(tmp_path.glob("before-schema-*"))  # nothing to back up
    db.close()


def test_models_match_the_migrated_schema(tmp_path):
    db = open_database(tmp_path / "club.sqlite3")
    for model in ALL_MODELS:
        table = model._meta.table_name
        columns = {row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")')}
        assert columns, f"no table {table}"
        assert columns == {field.column_name for field in model._meta.sorted_fields}, table
    db.close()


def test_a_home_made_by_the_previous_version_is_upgraded_not_wiped(tmp_path):
    path = tmp_path / "club.sqlite3"
    old = pw.SqliteDatabase(str(path), pragmas={"foreign_keys": 1}, lock_type="IMMEDIATE")
    migrate(old, target=LATEST_VERSION - 1)
    old.execute_sql("INSERT INTO timetable_area (name) VALUES ('Tee times')")
    old.execute_sql(
        'INSERT INTO appointment (area_id, title, start, "end", created, modified) '
        "VALUES (1, 'Monthly medal', '2026-06-01 09:30:00', '2026-06-01 14:00:00', ?, ?)",
        (NOW, NOW),
    )
    old.close()

    db = open_database(path)
    assert schema_version(db) == LATEST_VERSION
    assert [a.title for a in Appointment.select()] == ["Monthly medal"]
    backup = tmp_path / f"before-schema-{LATEST_VERSION}-from-{LATEST_VERSION - 1}.sqlite3"
    assert backup.exists()
    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION - 1
        assert copy.execute("SELECT title FROM appointment").fetchall() == [("Monthly medal",)]
    Appointment.create(area=TimetableArea.get(), title="New", start=NOW, end=NOW, created=NOW, modified=NOW)
    assert Appointment.select().count() == 2
    db.close()


def test_a_newer_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "club.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(SchemaError, match="newer than this program knows"):
        open_database(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION + 1
        assert raw.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "club.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SchemaError, match="cannot open the database"):
        open_database(path)


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    from sync_service.store import schema

    path = tmp_path / "club.sqlite3"
    db = pw.SqliteDatabase(str(path), lock_type="IMMEDIATE")
    migrate(db, target=1)
    broken = schema.Migration(2, "broken", ("CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL"))
    monkeypatch.setattr(schema, "MIGRATIONS", (schema.MIGRATIONS[0], broken))
    with pytest.raises(pw.OperationalError):
        schema.migrate(db, target=2)
    assert schema_version(db) == 1
    assert db.execute_sql("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    db.close()


def test_processes_opening_a_new_database_together(tmp_path):
    path = tmp_path / "club.sqlite3"
    code = (
        "import sys, pathlib; from sync_service.store.database import open_database; "
        "open_database(pathlib.Path(sys.argv[1])).close()"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE, text=True) for _ in range(6)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    db = open_database(path)
    assert schema_version(db) == LATEST_VERSION
    Person.create(first_name="A", last_name="B", created=NOW, modified=NOW)
    db.close()


def test_foreign_keys_are_enforced(tmp_path):
    db = open_database(tmp_path / "club.sqlite3")
    with pytest.raises(pw.IntegrityError):
        Appointment.create(area=99, title="x", start=NOW, end=NOW, created=NOW, modified=NOW)
    area = TimetableArea.create(name="Rooms")
    Appointment.create(area=area, title="x", start=NOW, end=NOW, created=NOW, modified=NOW)
    with pytest.raises(pw.IntegrityError):
        area.delete_instance()  # an area with appointments cannot vanish under them
    db.close()


def test_migration_10_keys_an_occurrences_link_by_series_and_original_start(tmp_path):
    path = tmp_path / "club.sqlite3"
    old = pw.SqliteDatabase(str(path), pragmas={"foreign_keys": 1}, lock_type="IMMEDIATE")
    migrate(old, target=9)
    old.execute_sql("INSERT INTO pcc_user (id, login, display_name) VALUES (1, 'anna', 'Anna')")
    old.execute_sql("INSERT INTO timetable_area (id, name) VALUES (1, 'Tee times')")
    old.execute_sql(
        "INSERT INTO calendar_subscription (id, user_id, area_id, folder_name, created) VALUES (1, 1, 1, '', ?)", (NOW,)
    )
    old.execute_sql(
        "INSERT INTO appointment_link (subscription_id, exchange_id, digest, origin, external_id, updated) "
        "VALUES (1, 'AAMk1', 'd', 'exchange', 'x1', ?)",
        (NOW,),
    )
    old.close()
    db = open_database(path)
    assert schema_version(db) == 10
    link = "INSERT INTO appointment_link (subscription_id, exchange_id, digest, origin, external_id, updated"
    # a single item's link has no series key, and many of them may be without one
    db.execute_sql(f"{link}) VALUES (1, 'AAMk2', 'd', 'exchange', 'x2', ?)", (NOW,))
    occurrence = (
        f"{link}, series_id, original_start) VALUES (1, ?, 'd', 'exchange', ?, ?, 'M1', '2026-06-01T16:00:00Z')"
    )
    db.execute_sql(occurrence, ("AAMk3", "x3", NOW))
    with pytest.raises(pw.IntegrityError):  # one link per occurrence, whatever its own id became
        db.execute_sql(occurrence, ("AAMk4", "x4", NOW))
    db.execute_sql(
        "INSERT INTO series_master (subscription_id, master_id, change_key, window_start, window_end, updated) "
        "VALUES (1, 'M1', 'ck1', '2026-05-02', '2027-07-06', ?)",
        (NOW,),
    )
    with pytest.raises(pw.IntegrityError):  # a master once per subscription
        db.execute_sql("INSERT INTO series_master (subscription_id, master_id, updated) VALUES (1, 'M1', ?)", (NOW,))
    rows = db.execute_sql("SELECT exchange_id, series_id FROM appointment_link ORDER BY id").fetchall()
    assert rows == [("AAMk1", None), ("AAMk2", None), ("AAMk3", "M1")]
    db.close()
