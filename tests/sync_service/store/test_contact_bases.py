"""Migration 6 (issue 14): contact links get their three-way base, their creates and the modes
synced; a link from schema 5 keeps its digests and has none of them until synced."""

import peewee as pw

from sync_service.store.database import open_database
from sync_service.store.schema import migrate, schema_version


def test_a_contact_link_of_schema_5_is_upgraded_with_its_digests(tmp_path):
    path = tmp_path / "club.sqlite3"
    old = pw.SqliteDatabase(str(path), pragmas={"foreign_keys": 1}, lock_type="IMMEDIATE")
    migrate(old, target=5)
    old.execute_sql("INSERT INTO pcc_user (login, display_name) VALUES ('anna', 'Anna')")
    old.execute_sql(
        "INSERT INTO contact_link (user_id, person_id, exchange_id, origin, external_id, names_digest, updated) "
        "VALUES (1, 7, 'AAMk1', 'pccaddie', 'pccaddie-contact:1:x', 'abc', '2026-01-01 00:00:00')"
    )
    old.execute_sql("INSERT INTO contact_sync_state (user_id) VALUES (1)")
    old.close()
    db = open_database(path)
    assert schema_version(db) >= 6
    row = db.execute_sql("SELECT names_digest, agreed, creates FROM contact_link").fetchone()
    assert row == ("abc", None, None)
    assert db.execute_sql("SELECT modes FROM contact_sync_state").fetchone() == (None,)
    db.close()
