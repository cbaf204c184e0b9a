"""What a calendar's options changed in place (`calendar set`) leave the next cycle to do, so that
the data stays right without the subscription starting over.

- `read_afresh`: the calendar is read again from no sync state, as when Exchange forgets one: every
  item comes as new and is matched to its link by id (nothing is made twice), read in full (the
  change keys held are forgotten: a change the engine ignored under the old options was taken at
  its change key), and every link is looked up if the full read does not list it. What the
  engine skipped under the old options (an Outlook item while read only, a private one while
  private ones were hidden) is then decided under the new ones.
- `recheck_private_imports`: the links of items that came from Exchange and are private get a
  digest nothing matches and are looked up, so that the next cycle sees them as changed in
  Exchange and applies the engine's rule for an item that became private with `hide_private` on
  (core/decide.py `_linked`): it leaves PC CADDIE and stays in Exchange.
- `forget_calendar_exchange_ids`: another Exchange calendar (a changed folder), as
  store/mailbox_move.py does for a whole mailbox: the Exchange ids, change keys and the sync state
  mean nothing in the other calendar, so every link becomes a create whose outcome is unknown,
  looked up by our external id in the new calendar and made there if it is not found.
"""

from __future__ import annotations

import peewee as pw

from .models import Appointment, AppointmentLink, DeferredItem, SeriesMaster, SubscriptionState

STALE_DIGEST = "options-changed"  # no content's digest: the item looks changed in Exchange


def read_afresh(subscription_id: int) -> int:
    """Forget the calendar's sync state and the change keys its links hold (so that every item is
    read in full, not only those changed since the engine's own writes), and look every link up;
    returns the number of links."""
    SubscriptionState.update(sync_state=None).where(SubscriptionState.subscription == subscription_id).execute()
    return int(
        AppointmentLink.update(verify=True, change_key=None)
        .where((AppointmentLink.subscription == subscription_id) & AppointmentLink.exchange_id.is_null(False))
        .execute()
    )


def recheck_private_imports(subscription_id: int) -> int:
    """Mark the private appointments that came from Exchange for the next cycle; returns how many."""
    private = Appointment.select(Appointment.id).where(Appointment.private)
    return int(
        AppointmentLink.update(verify=True, digest=STALE_DIGEST)
        .where(
            (AppointmentLink.subscription == subscription_id)
            & (AppointmentLink.origin == "exchange")
            & AppointmentLink.exchange_id.is_null(False)
            & ~AppointmentLink.stopped
            & AppointmentLink.appointment_id.in_(private)
        )
        .execute()
    )


def forget_calendar_exchange_ids(subscription_id: int) -> int:
    """Another Exchange calendar: every link's Exchange id and change key and the sync state are
    forgotten, and so are the items of the former calendar waiting for the window to reach them;
    returns the number of links that held an Exchange id."""
    DeferredItem.delete().where(
        (DeferredItem.subscription == subscription_id) & (DeferredItem.side == "exchange")
    ).execute()
    SubscriptionState.update(sync_state=None).where(SubscriptionState.subscription == subscription_id).execute()
    # the former calendar's series are not the new one's: their occurrences go there as single items
    SeriesMaster.delete().where(SeriesMaster.subscription == subscription_id).execute()
    unknown = {"exchange_id": None, "change_key": None, "pending_create": True, "verify": False, "sent": None}
    unknown |= {"series_id": None, "original_start": None}
    return int(
        AppointmentLink.update(creates_sent=pw.fn.MAX(AppointmentLink.creates_sent, 1), **unknown)
        .where((AppointmentLink.subscription == subscription_id) & AppointmentLink.exchange_id.is_null(False))
        .execute()
    )
