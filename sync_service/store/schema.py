"""The versioned schema: each migration is frozen SQL, applied in one transaction.

`PRAGMA user_version` holds the version of a database. Opening a database applies the migrations
it lacks, in order, after copying it aside (`VACUUM INTO`) if it held data; a database newer than
this program is refused, never touched. An existing home is upgraded, never wiped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import peewee as pw


class SchemaError(Exception):
    """The database cannot be used or upgraded; the message says why."""


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    statements: tuple[str, ...]


def _permission_columns(default_contacts: str, default_mode: str, default_appointments: str) -> str:
    return f"""
    contacts VARCHAR(8) NOT NULL DEFAULT '{default_contacts}' CHECK (contacts IN ('yes', 'no', 'group')),
    address VARCHAR(8) NOT NULL DEFAULT '{default_mode}' CHECK (address IN ('no', 'group', 'export', 'sync')),
    phone VARCHAR(8) NOT NULL DEFAULT '{default_mode}' CHECK (phone IN ('no', 'group', 'export', 'sync')),
    email VARCHAR(8) NOT NULL DEFAULT '{default_mode}' CHECK (email IN ('no', 'group', 'export', 'sync')),
    appointments VARCHAR(8) NOT NULL DEFAULT '{default_appointments}'
        CHECK (appointments IN ('none', 'group', 'all', 'own', 'listed'))"""


CLUB_DATA = Migration(
    1,
    "club data: special parameters, groups, users and their sync permissions, timetable areas, "
    "persons, appointments, bookings",
    (
        "CREATE TABLE special_parameter (name VARCHAR(64) NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE user_group (
            id INTEGER NOT NULL PRIMARY KEY,
            name VARCHAR(255) NOT NULL UNIQUE,
            {_permission_columns("no", "no", "none").strip()})""",
        f"""CREATE TABLE pcc_user (
            id INTEGER NOT NULL PRIMARY KEY,
            login VARCHAR(255) NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            group_id INTEGER REFERENCES user_group (id) ON DELETE SET NULL,
            {_permission_columns("group", "group", "group").strip()})""",
        "CREATE INDEX pcc_user_group_id ON pcc_user (group_id)",
        "CREATE TABLE timetable_area (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL UNIQUE)",
        """CREATE TABLE area_owner (
            area_id INTEGER NOT NULL REFERENCES timetable_area (id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            PRIMARY KEY (area_id, user_id))""",
        "CREATE INDEX area_owner_user_id ON area_owner (user_id)",
        """CREATE TABLE user_listed_area (
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            area_id INTEGER NOT NULL REFERENCES timetable_area (id) ON DELETE CASCADE,
            PRIMARY KEY (user_id, area_id))""",
        """CREATE TABLE group_listed_area (
            group_id INTEGER NOT NULL REFERENCES user_group (id) ON DELETE CASCADE,
            area_id INTEGER NOT NULL REFERENCES timetable_area (id) ON DELETE CASCADE,
            PRIMARY KEY (group_id, area_id))""",
        """CREATE TABLE person (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            street TEXT NOT NULL DEFAULT '',
            postal_code TEXT NOT NULL DEFAULT '',
            city TEXT NOT NULL DEFAULT '',
            country TEXT NOT NULL DEFAULT '',
            phone_home TEXT NOT NULL DEFAULT '',
            phone_business TEXT NOT NULL DEFAULT '',
            phone_mobile TEXT NOT NULL DEFAULT '',
            email1 TEXT NOT NULL DEFAULT '',
            email2 TEXT NOT NULL DEFAULT '',
            email3 TEXT NOT NULL DEFAULT '',
            created DATETIME NOT NULL,
            modified DATETIME NOT NULL)""",
        """CREATE TABLE appointment (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            area_id INTEGER NOT NULL REFERENCES timetable_area (id) ON DELETE RESTRICT,
            title TEXT NOT NULL,
            start DATETIME NOT NULL,
            "end" DATETIME NOT NULL,
            all_day INTEGER NOT NULL DEFAULT 0,
            location TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            private INTEGER NOT NULL DEFAULT 0,
            created DATETIME NOT NULL,
            modified DATETIME NOT NULL,
            CHECK ("end" >= start))""",
        "CREATE INDEX appointment_area_id_start ON appointment (area_id, start)",
        """CREATE TABLE booking (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            appointment_id INTEGER NOT NULL REFERENCES appointment (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE)""",
        "CREATE UNIQUE INDEX booking_appointment_id_person_id ON booking (appointment_id, person_id)",
        "CREATE INDEX booking_person_id ON booking (person_id)",
    ),
)

SYNC_SETTINGS = Migration(
    2,
    "sync settings: Exchange accounts, calendar and contact subscriptions, exclusion filters",
    (
        """CREATE TABLE exchange_account (
            id INTEGER NOT NULL PRIMARY KEY,
            user_id INTEGER NOT NULL UNIQUE REFERENCES pcc_user (id) ON DELETE CASCADE,
            ews_url TEXT NOT NULL,
            mailbox TEXT NOT NULL,
            username TEXT NOT NULL,
            password_encrypted BLOB NOT NULL)""",
        """CREATE TABLE calendar_subscription (
            id INTEGER NOT NULL PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            area_id INTEGER NOT NULL REFERENCES timetable_area (id) ON DELETE CASCADE,
            folder_name TEXT NOT NULL,
            read_only INTEGER NOT NULL DEFAULT 0,
            hide_private INTEGER NOT NULL DEFAULT 0,
            disable_reminders INTEGER NOT NULL DEFAULT 0,
            auto_sync_contacts INTEGER NOT NULL DEFAULT 0,
            paused_reason TEXT,
            created DATETIME NOT NULL)""",
        "CREATE UNIQUE INDEX calendar_subscription_user_id_area_id ON calendar_subscription (user_id, area_id)",
        "CREATE INDEX calendar_subscription_area_id ON calendar_subscription (area_id)",
        """CREATE TABLE contact_subscription (
            id INTEGER NOT NULL PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            source VARCHAR(16) NOT NULL CHECK (source IN ('person', 'exchange', 'auto')),
            exchange_id TEXT,
            created DATETIME NOT NULL)""",
        "CREATE UNIQUE INDEX contact_subscription_user_id_person_id ON contact_subscription (user_id, person_id)",
        "CREATE INDEX contact_subscription_person_id ON contact_subscription (person_id)",
        """CREATE TABLE exclusion_filter (
            id INTEGER NOT NULL PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            pattern TEXT NOT NULL)""",
        "CREATE UNIQUE INDEX exclusion_filter_user_id_pattern ON exclusion_filter (user_id, pattern)",
    ),
)

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
_APPOINTMENT_COLUMNS = ("area_id", "title", "start", '"end"', "all_day", "location", "text", "private")
_PERSON_COLUMNS = (
    "first_name",
    "last_name",
    "street",
    "postal_code",
    "city",
    "country",
    "phone_home",
    "phone_business",
    "phone_mobile",
    "email1",
    "email2",
    "email3",
)


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _journal_insert(
    table: str, row: str, operation: str, area: str, old_area: str, appointment: str, person: str
) -> str:
    return (
        "INSERT INTO change_journal "
        "(table_name, row_id, operation, changed_at, area_id, old_area_id, appointment_id, person_id) "
        f"VALUES ('{table}', {row}, '{operation}', {_NOW}, {area}, {old_area}, {appointment}, {person});"
    )


def _booking_area(row: str) -> str:
    return f"(SELECT area_id FROM appointment WHERE id = {row}.appointment_id)"


CHANGE_JOURNAL = Migration(
    3,
    "change journal: triggers on appointments, persons and bookings; journal cursors",
    (
        """CREATE TABLE change_journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            table_name VARCHAR(16) NOT NULL,
            row_id INTEGER NOT NULL,
            operation VARCHAR(8) NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
            changed_at TEXT NOT NULL,
            area_id INTEGER,
            old_area_id INTEGER,
            appointment_id INTEGER,
            person_id INTEGER)""",
        "CREATE TABLE journal_cursor (name VARCHAR(255) NOT NULL PRIMARY KEY, seq INTEGER NOT NULL)",
        "CREATE TRIGGER appointment_journal_insert AFTER INSERT ON appointment BEGIN "
        + _journal_insert("appointment", "NEW.id", "insert", "NEW.area_id", "NULL", "NEW.id", "NULL")
        + " END",
        f"CREATE TRIGGER appointment_journal_update AFTER UPDATE ON appointment "
        f"WHEN {_changed(_APPOINTMENT_COLUMNS)} BEGIN "
        + _journal_insert("appointment", "NEW.id", "update", "NEW.area_id", "OLD.area_id", "NEW.id", "NULL")
        + " END",
        "CREATE TRIGGER appointment_journal_delete AFTER DELETE ON appointment BEGIN "
        + _journal_insert("appointment", "OLD.id", "delete", "OLD.area_id", "OLD.area_id", "OLD.id", "NULL")
        + " END",
        "CREATE TRIGGER person_journal_insert AFTER INSERT ON person BEGIN "
        + _journal_insert("person", "NEW.id", "insert", "NULL", "NULL", "NULL", "NEW.id")
        + " END",
        f"CREATE TRIGGER person_journal_update AFTER UPDATE ON person WHEN {_changed(_PERSON_COLUMNS)} BEGIN "
        + _journal_insert("person", "NEW.id", "update", "NULL", "NULL", "NULL", "NEW.id")
        + " END",
        "CREATE TRIGGER person_journal_delete AFTER DELETE ON person BEGIN "
        + _journal_insert("person", "OLD.id", "delete", "NULL", "NULL", "NULL", "OLD.id")
        + " END",
        "CREATE TRIGGER booking_journal_insert AFTER INSERT ON booking BEGIN "
        + _journal_insert(
            "booking", "NEW.id", "insert", _booking_area("NEW"), "NULL", "NEW.appointment_id", "NEW.person_id"
        )
        + " END",
        "CREATE TRIGGER booking_journal_update AFTER UPDATE ON booking "
        "WHEN OLD.appointment_id IS NOT NEW.appointment_id OR OLD.person_id IS NOT NEW.person_id BEGIN "
        + _journal_insert(
            "booking",
            "NEW.id",
            "update",
            _booking_area("NEW"),
            _booking_area("OLD"),
            "NEW.appointment_id",
            "NEW.person_id",
        )
        + " END",
        "CREATE TRIGGER booking_journal_delete AFTER DELETE ON booking BEGIN "
        + _journal_insert(
            "booking",
            "OLD.id",
            "delete",
            _booking_area("OLD"),
            _booking_area("OLD"),
            "OLD.appointment_id",
            "OLD.person_id",
        )
        + " END",
    ),
)

SYNC_STATE = Migration(
    4,
    "sync state: links between appointments and Exchange items, folder states, conflicts, statistics, reports",
    (
        "ALTER TABLE calendar_subscription ADD COLUMN policy VARCHAR(16) NOT NULL DEFAULT 'pccaddie-wins' "
        "CHECK (policy IN ('pccaddie-wins', 'exchange-wins', 'newest-wins'))",
        """CREATE TABLE appointment_link (
            id INTEGER NOT NULL PRIMARY KEY,
            subscription_id INTEGER NOT NULL REFERENCES calendar_subscription (id) ON DELETE CASCADE,
            appointment_id INTEGER,
            exchange_id TEXT,
            change_key TEXT,
            digest TEXT NOT NULL,
            origin VARCHAR(16) NOT NULL CHECK (origin IN ('pccaddie', 'exchange')),
            external_id TEXT NOT NULL UNIQUE,
            pending_create INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            stopped INTEGER NOT NULL DEFAULT 0,
            title TEXT NOT NULL DEFAULT '',
            updated DATETIME NOT NULL)""",
        "CREATE UNIQUE INDEX appointment_link_subscription_appointment "
        "ON appointment_link (subscription_id, appointment_id)",
        "CREATE UNIQUE INDEX appointment_link_subscription_exchange ON appointment_link (subscription_id, exchange_id)",
        "CREATE INDEX appointment_link_appointment ON appointment_link (appointment_id)",
        """CREATE TABLE subscription_state (
            subscription_id INTEGER NOT NULL PRIMARY KEY REFERENCES calendar_subscription (id) ON DELETE CASCADE,
            sync_state TEXT,
            journal_seq INTEGER NOT NULL DEFAULT 0,
            initial_done INTEGER NOT NULL DEFAULT 0,
            last_cycle DATETIME,
            last_error TEXT)""",
        """CREATE TABLE sync_conflict (
            id INTEGER NOT NULL PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            kind VARCHAR(16) NOT NULL DEFAULT 'calendar' CHECK (kind IN ('calendar', 'contacts')),
            subscription_id INTEGER REFERENCES calendar_subscription (id) ON DELETE CASCADE,
            appointment_id INTEGER,
            exchange_id TEXT,
            winner VARCHAR(16) NOT NULL,
            loser_content TEXT NOT NULL,
            created DATETIME NOT NULL)""",
        "CREATE INDEX sync_conflict_user ON sync_conflict (user_id, created)",
        """CREATE TABLE sync_statistic (
            id INTEGER NOT NULL PRIMARY KEY,
            cycle_started DATETIME NOT NULL,
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            kind VARCHAR(16) NOT NULL DEFAULT 'calendar' CHECK (kind IN ('calendar', 'contacts')),
            subscription_id INTEGER REFERENCES calendar_subscription (id) ON DELETE CASCADE,
            direction VARCHAR(16) NOT NULL CHECK (direction IN ('to-exchange', 'to-pccaddie')),
            created INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            conflicts INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX sync_statistic_user_cycle ON sync_statistic (user_id, cycle_started)",
        """CREATE TABLE sync_report_line (
            id INTEGER NOT NULL PRIMARY KEY,
            cycle_started DATETIME NOT NULL,
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            kind VARCHAR(16) NOT NULL DEFAULT 'calendar' CHECK (kind IN ('calendar', 'contacts')),
            subscription_id INTEGER REFERENCES calendar_subscription (id) ON DELETE CASCADE,
            action VARCHAR(16) NOT NULL,
            side VARCHAR(16) NOT NULL,
            item TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX sync_report_line_cycle ON sync_report_line (cycle_started)",
        "CREATE INDEX sync_report_line_user ON sync_report_line (user_id, cycle_started)",
        """CREATE TABLE contact_link (
            id INTEGER NOT NULL PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES pcc_user (id) ON DELETE CASCADE,
            person_id INTEGER,
            exchange_id TEXT,
            change_key TEXT,
            origin VARCHAR(16) NOT NULL CHECK (origin IN ('pccaddie', 'exchange')),
            external_id TEXT NOT NULL UNIQUE,
            pending_create INTEGER NOT NULL DEFAULT 0,
            names_digest TEXT NOT NULL DEFAULT '',
            address_digest TEXT NOT NULL DEFAULT '',
            phone_digest TEXT NOT NULL DEFAULT '',
            email_digest TEXT NOT NULL DEFAULT '',
            delete_in_exchange INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            stopped INTEGER NOT NULL DEFAULT 0,
            name TEXT NOT NULL DEFAULT '',
            updated DATETIME NOT NULL)""",
        "CREATE UNIQUE INDEX contact_link_user_person ON contact_link (user_id, person_id)",
        "CREATE UNIQUE INDEX contact_link_user_exchange ON contact_link (user_id, exchange_id)",
        """CREATE TABLE contact_sync_state (
            user_id INTEGER NOT NULL PRIMARY KEY REFERENCES pcc_user (id) ON DELETE CASCADE,
            sync_state TEXT,
            journal_seq INTEGER NOT NULL DEFAULT 0,
            initial_done INTEGER NOT NULL DEFAULT 0,
            paused_reason TEXT,
            last_cycle DATETIME,
            last_error TEXT)""",
    ),
)

_APPOINTMENT_COLUMNS_5 = _APPOINTMENT_COLUMNS + ("start_fold", "end_fold")

SHARED_CALENDARS = Migration(
    5,
    "shared calendars (import area), repeated wall times (fold), links to verify, creates sent, content as last agreed",
    (
        "ALTER TABLE calendar_subscription ADD COLUMN takes_imports INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE appointment ADD COLUMN start_fold INTEGER NOT NULL DEFAULT 0 CHECK (start_fold IN (0, 1))",
        "ALTER TABLE appointment ADD COLUMN end_fold INTEGER NOT NULL DEFAULT 0 CHECK (end_fold IN (0, 1))",
        "DROP TRIGGER appointment_journal_update",
        f"CREATE TRIGGER appointment_journal_update AFTER UPDATE ON appointment "
        f"WHEN {_changed(_APPOINTMENT_COLUMNS_5)} BEGIN "
        + _journal_insert("appointment", "NEW.id", "update", "NEW.area_id", "OLD.area_id", "NEW.id", "NULL")
        + " END",
        "ALTER TABLE appointment_link ADD COLUMN verify INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE appointment_link ADD COLUMN creates_sent INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE appointment_link ADD COLUMN agreed TEXT",
        "ALTER TABLE appointment_link ADD COLUMN sent TEXT",
        "CREATE INDEX appointment_link_verify ON appointment_link (subscription_id) WHERE verify",
        "ALTER TABLE contact_link ADD COLUMN verify INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE contact_link ADD COLUMN creates_sent INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE contact_link ADD COLUMN sent TEXT",
        """CREATE TABLE deferred_item (
            id INTEGER NOT NULL PRIMARY KEY,
            subscription_id INTEGER NOT NULL REFERENCES calendar_subscription (id) ON DELETE CASCADE,
            side VARCHAR(16) NOT NULL CHECK (side IN ('pccaddie', 'exchange')),
            item_key TEXT NOT NULL,
            starts_at DATETIME NOT NULL)""",
        "CREATE UNIQUE INDEX deferred_item_key ON deferred_item (subscription_id, side, item_key)",
        "CREATE INDEX deferred_item_start ON deferred_item (starts_at)",
        "ALTER TABLE contact_sync_state ADD COLUMN policy VARCHAR(16) NOT NULL DEFAULT 'pccaddie-wins' "
        "CHECK (policy IN ('pccaddie-wins', 'exchange-wins', 'newest-wins'))",
    ),
)

SESSION3 = Migration(
    6,
    "session 3",
    (
        # issue 14 (contacts): each field group's values as last agreed (the three-way base), the
        # groups each create of a link sent (a late twin is told by them), the modes last synced
        "ALTER TABLE contact_link ADD COLUMN agreed TEXT",
        "ALTER TABLE contact_link ADD COLUMN creates TEXT",
        "ALTER TABLE contact_sync_state ADD COLUMN modes TEXT",
        # issue 12 (calendars): the digests each create of a link sent (a late twin is told by them)
        "ALTER TABLE appointment_link ADD COLUMN creates TEXT",
        # issue 13, defect 7: a mailbox Exchange refused the password of is left alone until its
        # account is set again (the credentials digest then differs) or `account check` succeeds
        """CREATE TABLE mailbox_block (
            user_id INTEGER NOT NULL PRIMARY KEY REFERENCES pcc_user (id) ON DELETE CASCADE,
            credentials TEXT NOT NULL,
            code VARCHAR(32) NOT NULL,
            reason TEXT NOT NULL,
            since DATETIME NOT NULL)""",
    ),
)

# issue 15, item 3: an account is a tagged union (protocol/accounts.py). The table is rebuilt, since
# SQLite cannot relax NOT NULL in place: a backend, an endpoint (the EWS address; none for a backend
# whose address is the app's), and credentials of a kind: "password" (user name, encrypted password,
# basic|ntlm) or "app" (the club's app registration of issue 16, nothing per account). The CHECKs
# admit exactly the combinations protocol/accounts.py knows, so issue 16 adds code, not a rebuild.
# Existing accounts become EWS with a password and Basic authentication, which is what they were.
ACCOUNT_UNION = Migration(
    7,
    "accounts as a tagged union: backend, endpoint, mailbox and credentials of a kind",
    (
        """CREATE TABLE exchange_account_7 (
            id INTEGER NOT NULL PRIMARY KEY,
            user_id INTEGER NOT NULL UNIQUE REFERENCES pcc_user (id) ON DELETE CASCADE,
            backend VARCHAR(8) NOT NULL CHECK (backend IN ('ews', 'graph')),
            endpoint TEXT,
            mailbox TEXT NOT NULL,
            credential_kind VARCHAR(8) NOT NULL CHECK (credential_kind IN ('password', 'app')),
            username TEXT,
            password_encrypted BLOB,
            auth VARCHAR(8) CHECK (auth IN ('basic', 'ntlm')),
            CHECK ((backend = 'ews') = (endpoint IS NOT NULL)),
            CHECK (backend = 'ews' OR credential_kind = 'app'),
            CHECK (credential_kind != 'password'
                OR (username IS NOT NULL AND password_encrypted IS NOT NULL AND auth IS NOT NULL)),
            CHECK (credential_kind = 'password'
                OR (username IS NULL AND password_encrypted IS NULL AND auth IS NULL)))""",
        """INSERT INTO exchange_account_7
            (id, user_id, backend, endpoint, mailbox, credential_kind, username, password_encrypted, auth)
            SELECT id, user_id, 'ews', ews_url, mailbox, 'password', username, password_encrypted, 'basic'
            FROM exchange_account""",
        "DROP TABLE exchange_account",
        "ALTER TABLE exchange_account_7 RENAME TO exchange_account",
    ),
)

# issue 16: the club's one app registration in Microsoft Entra ID, which the accounts of credential
# kind "app" (EWS with OAuth, Microsoft Graph) use. Its credential is a client secret or a
# client certificate: `credential_kind` says which of the encrypted columns holds it. The secret and
# the certificate's private key are encrypted with the vault's key, as the passwords are.
APP_REGISTRATION = Migration(
    8,
    "the club's app registration (Microsoft Entra ID)",
    (
        """CREATE TABLE app_registration (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            tenant TEXT NOT NULL,
            client_id TEXT NOT NULL,
            credential_kind VARCHAR(12) NOT NULL CHECK (credential_kind IN ('secret', 'certificate')),
            secret_encrypted BLOB,
            certificate_encrypted BLOB,
            thumbprint TEXT,
            authority TEXT NOT NULL,
            graph_url TEXT NOT NULL,
            updated DATETIME NOT NULL,
            CHECK ((credential_kind = 'secret') = (secret_encrypted IS NOT NULL)),
            CHECK ((credential_kind = 'certificate') = (certificate_encrypted IS NOT NULL)),
            CHECK ((credential_kind = 'certificate') = (thumbprint IS NOT NULL)))""",
    ),
)

# issue 16: a refused mailbox's cause, the gateway's machine reason of its auth_failed
# (exchange_gateway/errors.REASONS: mailbox_out_of_reach, app_refused, password_refused); NULL for a
# block recorded before, or from a gateway that names none (its line is then told by its wording).
BLOCK_CAUSE = Migration(
    9,
    "the cause of a refused mailbox",
    ("ALTER TABLE mailbox_block ADD COLUMN cause TEXT",),
)

# issue 17: recurring series. An occurrence's link is keyed by its series (the master's id) and its
# original start (the pattern's start of it, a UTC instant), not by its own Exchange id, which may
# change; and the masters a subscription knows are listed with the window last expanded for them.
SERIES = Migration(
    10,
    "recurring series: an occurrence's link by (series, original start), the known masters",
    (
        "ALTER TABLE appointment_link ADD COLUMN series_id TEXT",
        "ALTER TABLE appointment_link ADD COLUMN original_start TEXT",
        "CREATE UNIQUE INDEX appointment_link_subscription_occurrence "
        "ON appointment_link (subscription_id, series_id, original_start) WHERE series_id IS NOT NULL",
        """CREATE TABLE series_master (
            id INTEGER NOT NULL PRIMARY KEY,
            subscription_id INTEGER NOT NULL REFERENCES calendar_subscription (id) ON DELETE CASCADE,
            master_id TEXT NOT NULL,
            change_key TEXT,
            window_start TEXT,
            window_end TEXT,
            updated DATETIME NOT NULL,
            UNIQUE (subscription_id, master_id))""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    CLUB_DATA,
    SYNC_SETTINGS,
    CHANGE_JOURNAL,
    SYNC_STATE,
    SHARED_CALENDARS,
    SESSION3,
    ACCOUNT_UNION,
    APP_REGISTRATION,
    BLOCK_CAUSE,
    SERIES,
)
LATEST_VERSION = MIGRATIONS[-1].version


def schema_version(db: pw.SqliteDatabase) -> int:
    return int(db.execute_sql("PRAGMA user_version").fetchone()[0])


def migrate(db: pw.SqliteDatabase, target: int = LATEST_VERSION, backup_dir: Path | None = None) -> list[int]:
    """Bring the database to `target`, returning the versions applied.

    Every migration runs inside one IMMEDIATE transaction, so two processes starting at once
    serialise: the second finds the work done. A failed migration leaves the database as it was.
    """
    current = schema_version(db)
    if current > LATEST_VERSION:
        raise SchemaError(
            f"the database has schema version {current}, newer than this program knows "
            f"({LATEST_VERSION}); install the newer version of the program"
        )
    if current >= target:
        return []
    if current > 0 and backup_dir is not None:
        backup = backup_dir / f"before-schema-{target}-from-{current}.sqlite3"
        if not backup.exists():
            db.execute_sql("VACUUM INTO ?", (str(backup),))
    applied = []
    for migration in MIGRATIONS:
        if migration.version > target:
            break
        with db.atomic():  # BEGIN IMMEDIATE: see open_database
            if schema_version(db) >= migration.version:
                continue  # another process got there first
            for statement in migration.statements:
                db.execute_sql(statement)
            db.execute_sql(f"PRAGMA user_version = {migration.version}")
        applied.append(migration.version)
    return applied
