"""A mailbox as Outlook would see it: a plain exchangelib client (not the product's gateway), and
our external id made visible on its calendar items as any client could read it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from exchangelib import (
    BASIC,
    DELEGATE,
    Account,
    CalendarItem,
    Configuration,
    Credentials,
    EWSTimeZone,
    ExtendedProperty,
    FailFast,
)
from exchangelib.fields import InvalidField

BERLIN = EWSTimeZone("Europe/Berlin")


def outlook(url: str, mailbox: str, password: str, max_connections: int | None = None) -> Account:
    """`mailbox` at the EWS address `url`, with basic auth, no retries, in the club's time zone."""
    config = Configuration(
        service_endpoint=url,
        credentials=Credentials(mailbox, password),
        auth_type=BASIC,
        retry_policy=FailFast(),
        max_connections=max_connections,
    )
    return Account(mailbox, config=config, autodiscover=False, access_type=DELEGATE, default_timezone=BERLIN)


class PcCaddieSyncId(ExtendedProperty):
    """Our external id as any Exchange client sees it (the set id and name are the product's)."""

    property_set_id = "6f0c8a52-3d1e-4b7a-9c55-2e8d41f7b3a9"
    property_name = "PcCaddieSyncId"
    property_type = "String"


@contextmanager
def external_id_visible() -> Iterator[None]:
    """Let plain exchangelib show our external id as `item.pccaddie_sync_id`, as any client could
    (unless this process registered it already, e.g. the gateway's own code in another test)."""
    try:
        CalendarItem.get_field_by_fieldname("pccaddie_sync_id")
        registered_here = False
    except InvalidField:
        CalendarItem.register("pccaddie_sync_id", PcCaddieSyncId)
        registered_here = True
    try:
        yield
    finally:
        if registered_here:
            CalendarItem.deregister("pccaddie_sync_id")
