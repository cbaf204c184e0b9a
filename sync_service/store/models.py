"""The PC CADDIE tables, as peewee models.

The schema itself is made by the migrations in `schema.py` (frozen SQL, so that an old home is
upgraded exactly); these models must match it, which a test checks. Times of appointments are the
club's local wall time, stored without an offset, as PC CADDIE itself stores them.
"""

from __future__ import annotations

from typing import Any

import peewee as pw


class BaseModel(pw.Model):
    # peewee makes these at run time: the primary key and each foreign key's `<name>_id` column
    # (declared for the type checker only; annotations without a value are no fields to peewee)
    id: Any
    user_id: Any
    area_id: Any
    group_id: Any
    person_id: Any
    appointment_id: Any
    subscription_id: Any

    class Meta:
        legacy_table_names = False


class SpecialParameter(BaseModel):
    """PC CADDIE's special parameters (tab LOCAL), e.g. SYNC_EXCH and SYNC_EXCH_ATTEMPTS."""

    name = pw.CharField(primary_key=True)
    value = pw.TextField()


class PermissionColumns(BaseModel):
    """The SYNC tab of the password management: what a user (or a group) may synchronise."""

    contacts = pw.CharField()  # yes | no | group
    address = pw.CharField()  # no | group | export | sync
    phone = pw.CharField()
    email = pw.CharField()
    appointments = pw.CharField()  # none | group | all | own | listed


class UserGroup(PermissionColumns):
    name = pw.CharField(unique=True)

    class Meta:
        table_name = "user_group"


class User(PermissionColumns):
    login = pw.CharField(unique=True)
    display_name = pw.TextField()
    group = pw.ForeignKeyField(UserGroup, null=True, backref="users", on_delete="SET NULL")

    class Meta:
        table_name = "pcc_user"


class TimetableArea(BaseModel):
    name = pw.CharField(unique=True)

    class Meta:
        table_name = "timetable_area"


class AreaOwner(BaseModel):
    area = pw.ForeignKeyField(TimetableArea, backref="owners", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, backref="owned_areas", on_delete="CASCADE")

    class Meta:
        table_name = "area_owner"
        primary_key = pw.CompositeKey("area", "user")


class UserListedArea(BaseModel):
    """'Only the following areas' of a user."""

    user = pw.ForeignKeyField(User, backref="listed_areas", on_delete="CASCADE")
    area = pw.ForeignKeyField(TimetableArea, on_delete="CASCADE")

    class Meta:
        table_name = "user_listed_area"
        primary_key = pw.CompositeKey("user", "area")


class GroupListedArea(BaseModel):
    """'Only the following areas' of a group."""

    group = pw.ForeignKeyField(UserGroup, backref="listed_areas", on_delete="CASCADE")
    area = pw.ForeignKeyField(TimetableArea, on_delete="CASCADE")

    class Meta:
        table_name = "group_listed_area"
        primary_key = pw.CompositeKey("group", "area")


class Person(BaseModel):
    """A person record of the club: member, guest, staff."""

    first_name = pw.TextField()
    last_name = pw.TextField()
    street = pw.TextField(default="")
    postal_code = pw.TextField(default="")
    city = pw.TextField(default="")
    country = pw.TextField(default="")
    phone_home = pw.TextField(default="")
    phone_business = pw.TextField(default="")
    phone_mobile = pw.TextField(default="")
    email1 = pw.TextField(default="")
    email2 = pw.TextField(default="")
    email3 = pw.TextField(default="")
    created = pw.DateTimeField()
    modified = pw.DateTimeField()


class Appointment(BaseModel):
    """An entry of a timetable area. `start` and `end` are local wall time; for an all-day entry
    they are midnights and `end` is exclusive (the day after the last day)."""

    area = pw.ForeignKeyField(TimetableArea, backref="appointments", on_delete="RESTRICT")
    title = pw.TextField()
    start = pw.DateTimeField()
    end = pw.DateTimeField()
    all_day = pw.BooleanField(default=False)
    location = pw.TextField(default="")
    text = pw.TextField(default="")
    private = pw.BooleanField(default=False)
    created = pw.DateTimeField()
    modified = pw.DateTimeField()
    start_fold = pw.IntegerField(default=0)  # 1: the second of a wall time that occurs twice (clocks go back)
    end_fold = pw.IntegerField(default=0)


class Booking(BaseModel):
    """A person booked into an appointment."""

    appointment = pw.ForeignKeyField(Appointment, backref="bookings", on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, backref="bookings", on_delete="CASCADE")

    class Meta:
        indexes = ((("appointment", "person"), True),)


class ExchangeAccount(BaseModel):
    """A user's mailbox account as a tagged union (protocol/accounts.py; schema migration 7): the
    backend and credential kind say which of the other columns hold something. Read it through
    store/accounts.py, which builds the protocol value, rather than column by column."""

    user = pw.ForeignKeyField(User, unique=True, backref="exchange_accounts", on_delete="CASCADE")
    backend = pw.CharField()  # ews (graph: issue 16)
    endpoint = pw.TextField(null=True)  # the EWS address; none where the backend's address is the app's
    mailbox = pw.TextField()
    credential_kind = pw.CharField()  # password (app: issue 16)
    username = pw.TextField(null=True)  # password credentials only, as are the next two
    password_encrypted = pw.BlobField(null=True)
    auth = pw.CharField(null=True)  # basic | ntlm

    class Meta:
        table_name = "exchange_account"


class AppRegistration(BaseModel):
    """The club's one app registration in Microsoft Entra ID (schema migration 8), which accounts
    of credential kind "app" use. Read it through store/app_registration.py."""

    tenant = pw.TextField()
    client_id = pw.TextField()
    credential_kind = pw.CharField()  # secret | certificate (its private key encrypted, its thumbprint)
    secret_encrypted = pw.BlobField(null=True)
    certificate_encrypted = pw.BlobField(null=True)
    thumbprint = pw.TextField(null=True)
    authority = pw.TextField()
    graph_url = pw.TextField()
    updated = pw.DateTimeField()

    class Meta:
        table_name = "app_registration"


class CalendarSubscription(BaseModel):
    """A timetable area that a user syncs with an Exchange calendar (APPOINTMENTS tab, +ADD)."""

    user = pw.ForeignKeyField(User, backref="calendar_subscriptions", on_delete="CASCADE")
    area = pw.ForeignKeyField(TimetableArea, backref="subscriptions", on_delete="CASCADE")
    folder_name = pw.TextField()
    read_only = pw.BooleanField(default=False)
    hide_private = pw.BooleanField(default=False)
    disable_reminders = pw.BooleanField(default=False)
    auto_sync_contacts = pw.BooleanField(default=False)
    paused_reason = pw.TextField(null=True)
    created = pw.DateTimeField()
    policy = pw.CharField(default="pccaddie-wins")  # pccaddie-wins | exchange-wins | newest-wins
    takes_imports = pw.BooleanField(default=False)  # the import area of its Exchange calendar (else the first)

    class Meta:
        table_name = "calendar_subscription"
        indexes = ((("user", "area"), True),)


class ContactSubscription(BaseModel):
    """A person on a user's contact sync list (CONTACTS tab)."""

    user = pw.ForeignKeyField(User, backref="contact_subscriptions", on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, backref="contact_subscriptions", on_delete="CASCADE")
    source = pw.CharField()  # person | exchange | auto
    exchange_id = pw.TextField(null=True)  # the Exchange contact it was matched with (+ADD from Exchange)
    created = pw.DateTimeField()

    class Meta:
        table_name = "contact_subscription"
        indexes = ((("user", "person"), True),)


class ExclusionFilter(BaseModel):
    """A title filter: appointments whose title matches are not synchronised for this user."""

    user = pw.ForeignKeyField(User, backref="exclusion_filters", on_delete="CASCADE")
    pattern = pw.TextField()

    class Meta:
        table_name = "exclusion_filter"
        indexes = ((("user", "pattern"), True),)


class JournalEntry(BaseModel):
    """One change to appointments, persons or bookings, appended by triggers in the database."""

    seq = pw.AutoField()
    table_name = pw.CharField()
    row_id = pw.IntegerField()
    operation = pw.CharField()  # insert | update | delete
    changed_at = pw.TextField()
    area_id = pw.IntegerField(null=True)
    old_area_id = pw.IntegerField(null=True)
    appointment_id = pw.IntegerField(null=True)
    person_id = pw.IntegerField(null=True)

    class Meta:
        table_name = "change_journal"


class JournalCursor(BaseModel):
    """How far a consumer has read the journal; entries below every cursor may be pruned."""

    name = pw.CharField(primary_key=True)
    seq = pw.IntegerField()

    class Meta:
        table_name = "journal_cursor"


class AppointmentLink(BaseModel):
    """An appointment known on both sides, as last agreed (the sync's status table)."""

    subscription = pw.ForeignKeyField(CalendarSubscription, backref="links", on_delete="CASCADE")
    appointment_id = pw.IntegerField(null=True)  # no foreign key: the link outlives a deletion until handled
    exchange_id = pw.TextField(null=True)
    change_key = pw.TextField(null=True)
    digest = pw.TextField()
    origin = pw.CharField()  # pccaddie | exchange: where the item was first made
    external_id = pw.TextField(unique=True)  # ours, in the Exchange item's extended property
    pending_create = pw.BooleanField(default=False)  # owed to Exchange: a create failed or its outcome is unknown
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(null=True)
    stopped = pw.BooleanField(default=False)
    title = pw.TextField(default="")
    updated = pw.DateTimeField()
    verify = pw.BooleanField(default=False)  # unsure what Exchange holds: look the item up next cycle
    creates_sent = pw.IntegerField(default=0)  # how often a create was sent (more than once: a twin may exist)
    agreed = pw.TextField(null=True)  # JSON of the content as last agreed (only changed fields are written)
    sent = pw.TextField(null=True)  # JSON of the content of an update sent and not answered yet
    creates = pw.TextField(null=True)  # JSON list of the digests each create sent (a late twin holds one)
    series_id = pw.TextField(null=True)  # an occurrence's: its master's id (the link's key with original_start)
    original_start = pw.TextField(null=True)  # an occurrence's start as its pattern puts it, UTC 'YYYY-MM-DDTHH:MM:SSZ'

    class Meta:
        table_name = "appointment_link"


class SeriesMaster(BaseModel):
    """A recurring series' master in a subscription's calendar: its change key as last expanded,
    and the sync window (first and last day, UTC) its occurrences were last expanded for."""

    subscription = pw.ForeignKeyField(CalendarSubscription, on_delete="CASCADE")
    master_id = pw.TextField()
    change_key = pw.TextField(null=True)
    window_start = pw.TextField(null=True)  # 'YYYY-MM-DD'
    window_end = pw.TextField(null=True)
    updated = pw.DateTimeField()

    class Meta:
        table_name = "series_master"
        indexes = ((("subscription", "master_id"), True),)


class DeferredItem(BaseModel):
    """A new item beyond the sync window's end: looked at again once the window reaches it."""

    subscription = pw.ForeignKeyField(CalendarSubscription, on_delete="CASCADE")
    side = pw.CharField()  # pccaddie | exchange: where the item is
    item_key = pw.TextField()  # the appointment id or the Exchange id
    starts_at = pw.DateTimeField()  # UTC

    class Meta:
        table_name = "deferred_item"


class SubscriptionState(BaseModel):
    subscription = pw.ForeignKeyField(CalendarSubscription, primary_key=True, on_delete="CASCADE")
    sync_state = pw.TextField(null=True)  # Exchange's SyncFolderItems state
    journal_seq = pw.IntegerField(default=0)  # how far PC CADDIE's change journal has been handled
    initial_done = pw.BooleanField(default=False)
    last_cycle = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)

    class Meta:
        table_name = "subscription_state"


class SyncConflict(BaseModel):
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    kind = pw.CharField(default="calendar")  # calendar | contacts
    subscription = pw.ForeignKeyField(CalendarSubscription, backref="conflicts", null=True, on_delete="CASCADE")
    appointment_id = pw.IntegerField(null=True)
    exchange_id = pw.TextField(null=True)
    winner = pw.CharField()
    loser_content = pw.TextField()  # JSON of the version that lost
    created = pw.DateTimeField()

    class Meta:
        table_name = "sync_conflict"


class SyncStatistic(BaseModel):
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    kind = pw.CharField(default="calendar")  # calendar | contacts
    cycle_started = pw.DateTimeField()
    subscription = pw.ForeignKeyField(CalendarSubscription, null=True, on_delete="CASCADE")
    direction = pw.CharField()  # to-exchange | to-pccaddie
    created = pw.IntegerField(default=0)
    updated = pw.IntegerField(default=0)
    deleted = pw.IntegerField(default=0)
    skipped = pw.IntegerField(default=0)
    conflicts = pw.IntegerField(default=0)
    failed = pw.IntegerField(default=0)

    class Meta:
        table_name = "sync_statistic"


class SyncReportLine(BaseModel):
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    kind = pw.CharField(default="calendar")  # calendar | contacts
    cycle_started = pw.DateTimeField()
    subscription = pw.ForeignKeyField(CalendarSubscription, null=True, on_delete="CASCADE")
    action = pw.CharField()  # create | update | delete | skip | conflict | fail
    side = pw.CharField()  # pccaddie | exchange: where it happened (or would have)
    item = pw.TextField()
    title = pw.TextField(default="")
    detail = pw.TextField(default="")

    class Meta:
        table_name = "sync_report_line"


class ContactLink(BaseModel):
    """A person on a user's contact list, known on both sides, as last agreed per field group."""

    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    person_id = pw.IntegerField(null=True)  # no foreign key: the link outlives a deletion until handled
    exchange_id = pw.TextField(null=True)
    change_key = pw.TextField(null=True)
    origin = pw.CharField()  # pccaddie (the sync made the Exchange contact) | exchange (+ADD)
    external_id = pw.TextField(unique=True)
    pending_create = pw.BooleanField(default=False)
    names_digest = pw.TextField(default="")
    address_digest = pw.TextField(default="")
    phone_digest = pw.TextField(default="")
    email_digest = pw.TextField(default="")
    delete_in_exchange = pw.BooleanField(default=False)  # `contact remove --delete-in-exchange`: owed to Exchange
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(null=True)
    stopped = pw.BooleanField(default=False)
    name = pw.TextField(default="")
    updated = pw.DateTimeField()
    verify = pw.BooleanField(default=False)
    creates_sent = pw.IntegerField(default=0)
    sent = pw.TextField(null=True)  # JSON of the field groups an update sent, not answered yet
    agreed = pw.TextField(null=True)  # JSON: per field group, the values last agreed (issue 14)
    creates = pw.TextField(null=True)  # JSON: the field groups each create of it sent (issue 14)

    class Meta:
        table_name = "contact_link"


class ContactSyncState(BaseModel):
    user = pw.ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    sync_state = pw.TextField(null=True)
    journal_seq = pw.IntegerField(default=0)
    initial_done = pw.BooleanField(default=False)
    paused_reason = pw.TextField(null=True)
    last_cycle = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
    policy = pw.CharField(default="pccaddie-wins")  # who wins when both sides changed a field group
    modes = pw.TextField(null=True)  # JSON: the field groups' modes the last saved cycle synced with (issue 14)

    class Meta:
        table_name = "contact_sync_state"


class MailboxBlock(BaseModel):
    """A mailbox Exchange refused the password of (issue 13, defect 7): no call is made for it while
    `credentials` (a digest of the account as it was refused) still matches the account."""

    user = pw.ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    credentials = pw.TextField()
    code = pw.CharField()
    reason = pw.TextField()
    since = pw.DateTimeField()
    cause = pw.TextField(null=True)  # the gateway's reason code (schema 9); None: told by the reason's wording

    class Meta:
        table_name = "mailbox_block"


ALL_MODELS: list[type[BaseModel]] = [
    SpecialParameter,
    UserGroup,
    User,
    TimetableArea,
    AreaOwner,
    UserListedArea,
    GroupListedArea,
    Person,
    Appointment,
    Booking,
    ExchangeAccount,
    AppRegistration,
    CalendarSubscription,
    ContactSubscription,
    ExclusionFilter,
    JournalEntry,
    JournalCursor,
    AppointmentLink,
    DeferredItem,
    SeriesMaster,
    SubscriptionState,
    SyncConflict,
    SyncStatistic,
    SyncReportLine,
    ContactLink,
    ContactSyncState,
    MailboxBlock,
]
