"""What the lists of a user's Exchange interface show, as frozen rows: the commands (`calendar list`,
`filter list`, `contact list`, `stats`, `conflicts`, `items`) print them as a table or as JSON, and
the manager window shows the same rows. One place for what a column says."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from ..store.mailbox_blocks import block_of
from ..store.models import ContactLink, ExchangeAccount, User
from .accounts import show_account
from .lookups import user_by_login
from .subscriptions import calendar_mates, import_area_of, list_calendars, list_contacts, list_filters
from .sync_info import conflicts, items, statistics

FLAGS = ("read_only", "hide_private", "disable_reminders", "auto_sync_contacts")
CALENDAR_HEADERS = ("AREA", "FOLDER", "OPTIONS", "STATE")
FILTER_HEADERS = ("PATTERN",)
CONTACT_HEADERS = ("PERSON", "NAME", "ADDED BY", "STATE")
STATS_HEADERS = ("PERIOD", "SYNCHRONISED", "TO EXCHANGE", "TO PC CADDIE", "SKIPPED", "CONFLICTS", "FAILED")
CONFLICT_HEADERS = ("WHEN", "AREA", "APPOINTMENT", "WINNER", "LOST VERSION")
ITEM_HEADERS = ("ID", "USER", "AREA", "APPOINTMENT", "TITLE", "ATTEMPTS", "STATE", "LAST ERROR")


class Row(Protocol):
    """A row of a list: its cells as the table shows them."""

    def cells(self) -> tuple[str, ...]: ...


def text(value: Any) -> str:
    """A cell as the tables print it: nothing for None."""
    return "" if value is None else str(value)


@dataclass(frozen=True)
class UserRow:
    """A user in the window's list: login, name, and the mailbox the user syncs with (if any)."""

    login: str
    name: str
    mailbox: str | None

    def cells(self) -> tuple[str, ...]:
        return (self.login, self.name, self.mailbox or "(no Exchange account)")


def user_rows() -> tuple[UserRow, ...]:
    mailboxes = {row.user_id: row.mailbox for row in ExchangeAccount.select()}
    return tuple(
        UserRow(user.login, user.display_name or user.login, mailboxes.get(user.id))
        for user in User.select().order_by(User.login)
    )


def account_fields(login: str) -> dict[str, str]:
    """LOGIN's Exchange account as `account show` shows it (the password masked), by field."""
    return {name: value for name, value in dataclasses.asdict(show_account(login)).items() if value is not None}


def account_lines(login: str) -> tuple[str, ...]:
    return tuple(f"{name.replace('_', ' ')}: {value}" for name, value in account_fields(login).items())


def mailbox_refusal(login: str) -> str | None:
    """Why the sync leaves LOGIN's mailbox alone (Exchange refused its login), or None."""
    block = block_of(user_by_login(login).id)
    return block.describe() if block is not None else None


@dataclass(frozen=True)
class CalendarRow:
    area: str
    folder: str | None
    read_only: bool
    hide_private: bool
    disable_reminders: bool
    auto_sync_contacts: bool
    policy: str
    paused: str | None
    shares_calendar_with: tuple[str, ...]
    import_area: bool
    mailbox_blocked: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "folder": self.folder,
            "read_only": self.read_only,
            "hide_private": self.hide_private,
            "disable_reminders": self.disable_reminders,
            "auto_sync_contacts": self.auto_sync_contacts,
            "policy": self.policy,
            "paused": self.paused,
            "shares_calendar_with": list(self.shares_calendar_with),
            "import_area": self.import_area,
            "mailbox_blocked": self.mailbox_blocked,
        }

    @property
    def options(self) -> str:
        named = [flag.replace("_", " ") for flag in FLAGS if getattr(self, flag)]
        if self.shares_calendar_with and self.import_area:
            named.append("import area")
        return ", ".join(named) or "-"

    @property
    def state(self) -> str:
        if self.paused:
            return f"paused: {self.paused}"
        return "login refused" if self.mailbox_blocked else "active"

    def cells(self) -> tuple[str, ...]:
        return (self.area, self.folder or "(main calendar)", self.options, self.state)


def calendar_rows(login: str) -> tuple[CalendarRow, ...]:
    """The areas LOGIN syncs (by name), with their options (`calendar list`)."""
    refused = mailbox_refusal(login)
    rows = []
    for subscription, area_name in list_calendars(login):
        mates = calendar_mates(subscription)
        rows.append(
            CalendarRow(
                area=area_name,
                folder=subscription.folder_name or None,
                read_only=subscription.read_only,
                hide_private=subscription.hide_private,
                disable_reminders=subscription.disable_reminders,
                auto_sync_contacts=subscription.auto_sync_contacts,
                policy=subscription.policy,
                paused=subscription.paused_reason,
                shares_calendar_with=tuple(m.area.name for m in mates if m.id != subscription.id),
                import_area=import_area_of(subscription, mates),
                mailbox_blocked=refused,
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class FilterRow:
    pattern: str

    def as_json(self) -> str:
        return self.pattern

    def cells(self) -> tuple[str, ...]:
        return (self.pattern,)


def filter_rows(login: str) -> tuple[FilterRow, ...]:
    return tuple(FilterRow(pattern) for pattern in list_filters(login))


def contact_state(link: ContactLink | None) -> str:
    if link is None:
        return "waiting for the next cycle"
    if link.stopped:
        return f"stopped: {link.last_error}"
    if link.pending_create or link.exchange_id is None:
        return "being created in Exchange"
    return "synchronised" if not link.attempts else f"retrying: {link.last_error}"


@dataclass(frozen=True)
class ContactRow:
    person: int
    name: str
    source: str
    state: str
    exchange_id: str | None
    mailbox_blocked: str | None

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "person": self.person,
            "name": self.name,
            "source": self.source,
            "state": self.state,
            "exchange_id": self.exchange_id,
        }
        if self.mailbox_blocked:
            shown["mailbox_blocked"] = self.mailbox_blocked
        return shown

    def cells(self) -> tuple[str, ...]:
        return (str(self.person), self.name, text(self.source), self.state)


def contact_rows(login: str) -> tuple[ContactRow, ...]:
    """LOGIN's contact sync list (`contact list`)."""
    refused = mailbox_refusal(login)  # issue 13, defect 7: the mailbox left alone after a refused login
    return tuple(
        ContactRow(
            person=person.id,
            name=f"{person.first_name} {person.last_name}",
            source=subscription.source,
            state=contact_state(link),
            exchange_id=link.exchange_id if link else None,
            mailbox_blocked=refused,
        )
        for subscription, person, link in list_contacts(login)
    )


@dataclass(frozen=True)
class StatRow:
    period: str
    to_exchange: int
    to_pccaddie: int
    synchronised: int
    created: int
    updated: int
    deleted: int
    skipped: int
    conflicts: int
    failed: int

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "to_exchange": self.to_exchange,
            "to_pccaddie": self.to_pccaddie,
            "synchronised": self.synchronised,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "conflicts": self.conflicts,
            "failed": self.failed,
        }

    def cells(self) -> tuple[str, ...]:
        values = (self.synchronised, self.to_exchange, self.to_pccaddie, self.skipped, self.conflicts, self.failed)
        return (self.period, *map(str, values))


def stat_rows(login: str, since: dt.date | None, until: dt.date | None, by: str) -> tuple[StatRow, ...]:
    """Synchronised entries per day, week or month (`stats`, the STATISTICS chart)."""
    return tuple(StatRow(**row) for row in statistics(login, since, until, by))


def stats_total(rows: tuple[StatRow, ...]) -> str:
    return f"total: {sum(r.synchronised for r in rows)} synchronised entries"


@dataclass(frozen=True)
class ConflictRow:
    when: str
    kind: str
    area: str
    appointment: int | None
    exchange_id: str | None
    winner: str
    lost: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "when": self.when,
            "kind": self.kind,
            "area": self.area,
            "appointment": self.appointment,
            "exchange_id": self.exchange_id,
            "winner": self.winner,
            "lost": self.lost,
        }

    @property
    def lost_version(self) -> str:
        """The version that lost, as one line: an appointment's title and times; a contact's field
        group with the values that lost (an empty field shown as "–")."""
        lost = self.lost
        if self.kind == "contacts":
            group = next((key for key in lost if key not in ("side", "title", "start", "end")), None)
            values = lost.get(group) if group else None
            shown = ", ".join(str(v) or "–" for v in values) if isinstance(values, list) and any(values) else "(empty)"
            return f"{lost['title']}: {shown} (from {lost['side']})"
        return f"{lost['title']} ({lost['start']} – {lost['end']}, from {lost['side']})"

    def cells(self) -> tuple[str, ...]:
        appointment = text(self.appointment or "-")
        return (self.when[:19].replace("T", " "), self.area, appointment, text(self.winner), self.lost_version)


def conflict_rows(login: str) -> tuple[ConflictRow, ...]:
    """Conflicts met, newest first, with the version that lost (`conflicts`)."""
    return tuple(ConflictRow(**row) for row in conflicts(login))


@dataclass(frozen=True)
class ItemRow:
    id: int
    user: str
    area: str
    appointment: int | None
    title: str
    attempts: int
    stopped: bool
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "area": self.area,
            "appointment": self.appointment,
            "title": self.title,
            "attempts": self.attempts,
            "stopped": self.stopped,
            "error": self.error,
        }

    def cells(self) -> tuple[str, ...]:
        return (
            str(self.id),
            self.user,
            self.area,
            text(self.appointment or "-"),
            text(self.title),
            str(self.attempts),
            "stopped" if self.stopped else "retrying",
            self.error or "",
        )


def item_rows(stopped_only: bool, login: str | None = None) -> tuple[ItemRow, ...]:
    """The active items (`items`): every user's, or LOGIN's only (the window's per-user screen)."""
    rows = tuple(ItemRow(**row) for row in items(stopped_only))
    if login is None:
        return rows
    user_by_login(login)  # an unknown user is refused, not an empty list
    return tuple(row for row in rows if row.user == login)
