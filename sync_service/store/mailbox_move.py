"""A user's mailbox reached another way: another backend (EWS → Microsoft Graph), another EWS
endpoint, or another mailbox address. The Exchange ids, change keys and sync states the old way
handed out mean nothing on the new one (Graph and EWS name the same item differently), so they
are forgotten, and every link becomes a create whose outcome is unknown: the next cycle looks each
one up by our external id, which the item carries whichever API reads it (`find_external`), takes
the item found, and reads it in full. Nothing is made twice; an item that is not found (another
mailbox, or deleted in Outlook meanwhile) is made again, as any create whose answer was lost."""

from __future__ import annotations

import peewee as pw

from .models import AppointmentLink, CalendarSubscription, ContactLink, ContactSyncState, SubscriptionState

WHERE = ("backend", "endpoint", "mailbox")  # the account's columns that say how its items are named


def moved(old: dict[str, object] | None, new: dict[str, object]) -> bool:
    """Whether the account's items are reached another way (not on a first account, nor on a new
    password)."""
    if old is None:
        return False
    return any(_same(old.get(column)) != _same(new.get(column)) for column in WHERE)


def _same(value: object) -> object:
    """Addresses and URLs as Exchange compares them: case does not matter."""
    return value.casefold() if isinstance(value, str) else value


def forget_exchange_ids(user_id: int) -> int:
    """Forget every Exchange id, change key and sync state of the user's calendars and contacts;
    their links are looked up by external id next cycle. Returns the number of links."""
    subscriptions = CalendarSubscription.select(CalendarSubscription.id).where(CalendarSubscription.user == user_id)
    SubscriptionState.update(sync_state=None).where(SubscriptionState.subscription.in_(subscriptions)).execute()
    ContactSyncState.update(sync_state=None).where(ContactSyncState.user == user_id).execute()
    unknown = {"exchange_id": None, "change_key": None, "pending_create": True, "verify": False, "sent": None}
    calendars = (
        AppointmentLink.update(creates_sent=pw.fn.MAX(AppointmentLink.creates_sent, 1), **unknown)
        .where(AppointmentLink.subscription.in_(subscriptions), AppointmentLink.exchange_id.is_null(False))
        .execute()
    )
    contacts = (
        ContactLink.update(creates_sent=pw.fn.MAX(ContactLink.creates_sent, 1), **unknown)
        .where(ContactLink.user == user_id, ContactLink.exchange_id.is_null(False))
        .execute()
    )
    return int(calendars) + int(contacts)
