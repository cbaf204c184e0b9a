"""A person in Outlook, for the contract: one small interface, two drivers.

`FakeOutlook` drives the in-memory fake's user methods; `ExchangelibOutlook` writes to the stand-in
with plain exchangelib, as a mail client would (never through the gateway). Fields are named as the
wire's entries name them (subject, start, end, timezone, location, body, categories, private; for
contacts given_name, surname, display_name, emails); `html_body` is a formatted body the user
writes, which Exchange keeps as HTML.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import trio
from exchangelib import Account, CalendarItem, Contact, DistributionList, EWSDateTime, EWSTimeZone, Message
from exchangelib.indexed_properties import EmailAddress
from exchangelib.items import SEND_TO_NONE
from exchangelib.properties import Body, HTMLBody, OccurrenceItemId
from exchangelib.recurrence import Recurrence, WeeklyPattern

from exchange_gateway.ews.convert import EXTERNAL_ID_FIELD, register_external_id
from exchange_standin.graph_model import ews_id, graph_id
from tests.sync_service.engine.fake_exchange import FakeExchange

COPIED_FIELDS = (
    "subject",
    "start",
    "end",
    "is_all_day",
    "location",
    "body",
    "categories",
    "sensitivity",
    "reminder_is_set",
    "reminder_minutes_before_start",
    "_start_timezone",
    "_end_timezone",
    EXTERNAL_ID_FIELD,
)


class Outlook(Protocol):
    async def create(self, **fields: Any) -> str: ...

    async def update(self, item_id: str, **fields: Any) -> None: ...

    async def delete(self, item_id: str) -> None: ...

    async def copy(self, item_id: str) -> str:
        """Outlook's copy of an item: every property, the sync's extended property included."""
        ...

    async def create_group(self, name: str) -> str:
        """A contact group in the contacts folder."""
        ...

    async def create_message(self, subject: str) -> str:
        """A message (e.g. a meeting request) lying in the calendar."""
        ...

    async def create_series(self, count: int, **fields: Any) -> str:
        """A weekly series of `count` occurrences, the first at `start`-`end` (on that weekday, at
        that wall time in `timezone`): its master's id."""
        ...

    async def update_occurrence(self, master_id: str, index: int, **fields: Any) -> None:
        """Change occurrence `index` (1-based) of the series alone: it becomes an exception."""
        ...

    async def delete_occurrence(self, master_id: str, index: int) -> None:
        """Delete occurrence `index` (1-based) of the series alone."""
        ...


class FakeOutlook:
    def __init__(self, exchange: FakeExchange) -> None:
        self.exchange = exchange

    @staticmethod
    def _fields(fields: dict[str, Any]) -> dict[str, Any]:
        if "html_body" in fields:
            fields = {**fields, "body": fields.pop("html_body"), "body_html": True}
        return fields

    async def create(self, **fields: Any) -> str:
        return self.exchange.user_create(**self._fields(fields))

    async def update(self, item_id: str, **fields: Any) -> None:
        self.exchange.user_update(item_id, **self._fields(fields))

    async def delete(self, item_id: str) -> None:
        self.exchange.user_delete(item_id)

    async def copy(self, item_id: str) -> str:
        return self.exchange.user_copy(item_id)

    async def create_group(self, name: str) -> str:
        return self.exchange.user_create_group(name)

    async def create_message(self, subject: str) -> str:
        return self.exchange.user_create_message(subject)

    # the fake's series: its user methods name an occurrence by its original start
    async def create_series(self, count: int, **fields: Any) -> str:
        return self.exchange.user_create_series(every="weekly", count=count, **self._fields(fields))

    def _nth_start(self, master_id: str, index: int) -> str:
        starts = self.exchange._pattern_starts(master_id, "9999-12-31T00:00:00Z")
        return starts[index - 1]

    async def update_occurrence(self, master_id: str, index: int, **fields: Any) -> None:
        self.exchange.user_update_occurrence(master_id, self._nth_start(master_id, index), **self._fields(fields))

    async def delete_occurrence(self, master_id: str, index: int) -> None:
        self.exchange.user_delete_occurrence(master_id, self._nth_start(master_id, index))


def _moment(text: str, zone: EWSTimeZone) -> EWSDateTime:
    instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return EWSDateTime.from_datetime(instant).astimezone(zone)


class ExchangelibOutlook:
    """Plain exchangelib on the user's own mailbox; each call in a worker thread (it blocks)."""

    def __init__(self, account: Account, kind: str = "calendar") -> None:
        register_external_id()  # the sync's extended property, as Outlook carries it along
        self.account = account
        self.kind = kind

    def _folder(self) -> Any:
        return self.account.calendar if self.kind == "calendar" else self.account.contacts

    def _values(self, fields: dict[str, Any], item: Any = None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        zone = EWSTimeZone(fields.get("timezone", "UTC"))
        for name, value in fields.items():
            if name in ("start", "end"):
                values[name] = _moment(value, zone)
            elif name == "timezone":
                values["_start_timezone"] = values["_end_timezone"] = zone
            elif name == "body":
                values["body"] = Body(value)
            elif name == "html_body":
                values["body"] = HTMLBody(value)
            elif name == "private":
                values["sensitivity"] = "Private" if value else "Normal"
            elif name == "emails":
                values["email_addresses"] = [
                    EmailAddress(label=f"EmailAddress{n}", email=e) for n, e in enumerate(value, start=1)
                ]
            elif name == "external_id":
                values[EXTERNAL_ID_FIELD] = value
            else:
                values[name] = value
        return values

    def _item(self, item_id: str) -> Any:
        (item,) = self.account.fetch(ids=[(item_id, None)])
        assert not isinstance(item, Exception), item
        return item

    async def _run(self, work: Any, *args: Any) -> Any:
        return await trio.to_thread.run_sync(work, *args)

    async def create(self, **fields: Any) -> str:
        def work() -> str:
            item_class = CalendarItem if self.kind == "calendar" else Contact
            item = item_class(account=self.account, folder=self._folder(), **self._values(fields))
            item.save()
            return item.id

        return await self._run(work)

    async def update(self, item_id: str, **fields: Any) -> None:
        def work() -> None:
            item = self._item(item_id)
            values = self._values(fields)
            for name, value in values.items():
                setattr(item, name, value)
            item.save(update_fields=list(values))

        await self._run(work)

    async def delete(self, item_id: str) -> None:
        await self._run(lambda: self._item(item_id).move_to_trash())  # as Outlook deletes

    async def copy(self, item_id: str) -> str:
        def work() -> str:
            original = self._item(item_id)
            copy = CalendarItem(
                account=self.account, folder=self._folder(), **{name: getattr(original, name) for name in COPIED_FIELDS}
            )
            copy.save()
            return copy.id

        return await self._run(work)

    async def create_group(self, name: str) -> str:
        def work() -> str:
            group = DistributionList(account=self.account, folder=self.account.contacts, display_name=name)
            group.save()
            return group.id

        return await self._run(work)

    async def create_message(self, subject: str) -> str:
        def work() -> str:
            message = Message(
                account=self.account,
                folder=self.account.calendar,
                subject=subject,
                item_class="IPM.Schedule.Meeting.Request",
            )
            message.save()
            return message.id

        return await self._run(work)

    async def create_series(self, count: int, **fields: Any) -> str:
        def work() -> str:
            values = self._values(fields)
            first = values["start"].astimezone(values.get("_start_timezone", EWSTimeZone("UTC")))
            pattern = WeeklyPattern(interval=1, weekdays=[first.isoweekday()])
            values["recurrence"] = Recurrence(pattern=pattern, start=first.date(), number=count)
            item = CalendarItem(account=self.account, folder=self.account.calendar, **values)
            item.save(send_meeting_invitations=SEND_TO_NONE)
            return item.id

        return await self._run(work)

    def _occurrence(self, master_id: str, index: int) -> Any:
        (item,) = self.account.fetch(ids=[OccurrenceItemId(id=master_id, instance_index=index)])
        assert not isinstance(item, Exception), item
        return item

    async def update_occurrence(self, master_id: str, index: int, **fields: Any) -> None:
        def work() -> None:
            item = self._occurrence(master_id, index)
            values = self._values(fields)
            for name, value in values.items():
                setattr(item, name, value)
            item.save(update_fields=list(values), send_meeting_invitations=SEND_TO_NONE)

        await self._run(work)

    async def delete_occurrence(self, master_id: str, index: int) -> None:
        await self._run(lambda: self._occurrence(master_id, index).delete(send_meeting_cancellations=SEND_TO_NONE))


class GraphIdsOutlook:
    """An Outlook that names items by their Graph ids (the EWS ids in REST form), for a mailbox the
    gateway reaches through Microsoft Graph while the person writes through the same store's EWS."""

    def __init__(self, outlook: Outlook) -> None:
        self.outlook = outlook

    async def create(self, **fields: Any) -> str:
        return graph_id(await self.outlook.create(**fields))

    async def update(self, item_id: str, **fields: Any) -> None:
        await self.outlook.update(ews_id(item_id), **fields)

    async def delete(self, item_id: str) -> None:
        await self.outlook.delete(ews_id(item_id))

    async def copy(self, item_id: str) -> str:
        return graph_id(await self.outlook.copy(ews_id(item_id)))

    async def create_group(self, name: str) -> str:
        return graph_id(await self.outlook.create_group(name))

    async def create_message(self, subject: str) -> str:
        return graph_id(await self.outlook.create_message(subject))

    async def create_series(self, count: int, **fields: Any) -> str:
        return graph_id(await self.outlook.create_series(count, **fields))

    async def update_occurrence(self, master_id: str, index: int, **fields: Any) -> None:
        await self.outlook.update_occurrence(ews_id(master_id), index, **fields)

    async def delete_occurrence(self, master_id: str, index: int) -> None:
        await self.outlook.delete_occurrence(ews_id(master_id), index)
