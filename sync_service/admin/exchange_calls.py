"""The admin actions that ask Exchange, through the gateway: `account check` and `contact add
--exchange` (+ADD, with a search of the mailbox's contacts). The commands and the manager window
both call these; `call_gateway` blocks (a trio run of its own), so the window calls them from a
worker thread. The database is held only in short transactions, never while the gateway is asked."""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from protocol.entries import ContactEntry
from service_runtime.config import Config
from service_runtime.home import Home

from ..gateway_calls import GatewayCallFailed, call_gateway
from ..store.mailbox_blocks import clear_block, record_block
from ..vault import PasswordVault
from .accounts import account_for_gateway
from .exchange_contacts import add_exchange_contact, check_may_add, contact_names, read_contacts
from .lookups import person_by_id, user_by_login


@dataclass(frozen=True)
class Checked:
    """What `account check` says: the server's answer, and whether a refused login was lifted."""

    login: str
    mailbox: str
    server_version: str
    calendar: str
    lifted: bool

    def lines(self) -> tuple[str, ...]:
        said = [
            f"{self.login}: OK, mailbox {self.mailbox} on Exchange {self.server_version} (calendar: {self.calendar})"
        ]
        if self.lifted:
            said.append(
                f"{self.login}: the login works again: the sync takes this mailbox up again with its next cycle"
            )
        return tuple(said)


def check_account(db: pw.Database, home: Home, config: Config, login: str) -> Checked:
    """Log in to LOGIN's mailbox through the gateway. A refused login (`auth_failed`) is recorded
    (the sync leaves the mailbox alone) and raised; an accepted one lifts such a record."""
    with db.atomic():
        wire = account_for_gateway(login, PasswordVault.for_home(home))
        user_id = user_by_login(login).id
    try:
        result = call_gateway(home, config, "exchange.check", {"account": wire})
    except GatewayCallFailed as failure:
        if failure.code == "auth_failed":
            with db.atomic():
                record_block(user_id, failure.code, str(failure), failure.reason)
        raise
    with db.atomic():
        lifted = clear_block(user_id)
    return Checked(
        login,
        str(result.get("mailbox")),
        result.get("server_version") or "unknown version",
        str(result.get("calendar")),
        lifted,
    )


def exchange_contacts(
    db: pw.Database, home: Home, config: Config, login: str, wanted: str, *, search: bool, person_id: int | None = None
) -> list[ContactEntry]:
    """The contacts of LOGIN's mailbox that `wanted` names: those a search finds (a name or an
    e-mail address), or the one of that Exchange id. Refused before Exchange is asked when the user
    may not sync contacts, has no account, or `person_id` is unknown."""
    with db.atomic():
        check_may_add(login)
        if person_id is not None:
            person_by_id(person_id)  # an unknown person is refused before Exchange is asked
        wire = account_for_gateway(login, PasswordVault.for_home(home))
    if search:
        return read_contacts(call_gateway(home, config, "exchange.search_contacts", {"account": wire, "text": wanted}))
    answers = call_gateway(home, config, "exchange.get", {"account": wire, "ids": [wanted]})
    return read_contacts([a["item"] for a in answers if a.get("ok") and "given_name" in a["item"]])


def add_chosen_contact(
    db: pw.Database, login: str, chosen: ContactEntry, person_id: int | None = None, new: bool = False
) -> str:
    """Put the Exchange contact on LOGIN's list (see exchange_contacts.add_exchange_contact); what
    it became, as one line."""
    with db.atomic():
        matched = add_exchange_contact(login, chosen, person_id=person_id, new=new)
    name = chosen.display_name or " ".join(p for p in contact_names(chosen) if p)
    how = {"e-mail": "matched by e-mail", "chosen": "as chosen", "new": "a new person"}[matched.how]
    person = matched.person
    emails = ", ".join(e for e in (person.email1, person.email2, person.email3) if e)
    return (
        f"Exchange contact {name!r} added to {login}'s contacts as person {person.id} ({how}): "
        f"{person.first_name} {person.last_name}" + (f" <{emails}>" if emails else "")
    )
