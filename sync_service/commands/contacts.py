"""`sync-service contact add|list|remove`: the persons each user syncs as Exchange contacts."""

from __future__ import annotations

import click

from protocol.addresses import Address
from service_runtime.cli_support import AddressType
from service_runtime.logsetup import configure_logging

from ..admin.accounts import account_for_gateway
from ..admin.exchange_contacts import add_exchange_contact, check_may_add, choose_contact, contact_names, read_contacts
from ..admin.lookups import person_by_id
from ..admin.subscriptions import add_contact, contact_policy, remove_contact, set_contact_policy
from ..admin.views import CONTACT_HEADERS, contact_rows, mailbox_refusal
from ..gateway_calls import call_gateway, with_gateway
from ..service import SERVICE_NAME
from ..vault import PasswordVault
from .context import Club, club_command, emit_json, emit_table, json_option


@click.group("contact")
def contact() -> None:
    """A user's contact sync list (CONTACTS tab): only these persons are synced."""


@contact.command("add")
@click.argument("login")
@click.option(
    "--person", "person_id", type=int, metavar="ID", help="A PC CADDIE person (with --exchange: the one meant)."
)
@click.option(
    "--exchange",
    "exchange",
    metavar="ID-OR-EMAIL",
    help="A contact that exists in LOGIN's Exchange contacts (+ADD): its id or e-mail address.",
)
@click.option("--new", "new", is_flag=True, help="With --exchange: make a new person of it, whoever else matches.")
@click.option("--gateway", type=AddressType(), default=None, help="The Exchange gateway (default: the config file's).")
@club_command(transaction=False)
def contact_add(
    club: Club, login: str, person_id: int | None, exchange: str | None, new: bool, gateway: Address | None
) -> None:
    """Put a person on LOGIN's contact sync list: a PC CADDIE person, or an Exchange contact
    (matched to the person with its e-mail address and name, never a guess: when several persons or
    none of that name could be meant, choose with --person ID or make a new person with --new)."""
    if person_id is None and exchange is None:
        raise click.UsageError("give exactly one of --person ID or --exchange ID-OR-EMAIL")
    if new and exchange is None:
        raise click.UsageError("--new goes with --exchange ID-OR-EMAIL")
    if new and person_id is not None:
        raise click.UsageError("give --person ID or --new, not both")
    if exchange is None:
        assert person_id is not None
        with club.db.atomic():
            add_contact(login, person_id)
        click.echo(f"person {person_id} added to {login}'s contacts")
        return
    wanted = exchange.strip()
    with club.db.atomic():
        check_may_add(login)
        if person_id is not None:
            person_by_id(person_id)  # an unknown person is refused before Exchange is asked
        wire = account_for_gateway(login, PasswordVault.for_home(club.home))
    configure_logging(club.home, SERVICE_NAME, club.config.logs, stderr=None)
    config = with_gateway(club.config, gateway)
    if "@" in wanted:
        candidates = call_gateway(club.home, config, "exchange.search_contacts", {"account": wire, "text": wanted})
    else:
        answers = call_gateway(club.home, config, "exchange.get", {"account": wire, "ids": [wanted]})
        candidates = [a["item"] for a in answers if a.get("ok") and "given_name" in a["item"]]
    chosen = choose_contact(wanted, read_contacts(candidates))
    with club.db.atomic():
        matched = add_exchange_contact(login, chosen, person_id=person_id, new=new)
    name = chosen.display_name or " ".join(p for p in contact_names(chosen) if p)
    how = {"e-mail": "matched by e-mail", "chosen": "as chosen", "new": "a new person"}[matched.how]
    person = matched.person
    emails = ", ".join(e for e in (person.email1, person.email2, person.email3) if e)
    click.echo(
        f"Exchange contact {name!r} added to {login}'s contacts as person {person.id} ({how}): "
        f"{person.first_name} {person.last_name}" + (f" <{emails}>" if emails else "")
    )


@contact.command("list")
@click.argument("login")
@json_option
@club_command
def contact_list(club: Club, login: str, as_json: bool) -> None:
    """LOGIN's contact sync list."""
    rows = contact_rows(login)
    if as_json:
        emit_json([row.as_json() for row in rows])
    else:
        emit_table(CONTACT_HEADERS, [row.cells() for row in rows])
        refused = mailbox_refusal(login)
        if refused:
            click.echo(f"{login}: {refused}")


@contact.command("remove")
@click.argument("login")
@click.argument("person_id", metavar="PERSON-ID", type=int)
@click.option("--delete-in-exchange", is_flag=True, help="Also delete the Exchange contact (next cycle).")
@club_command
def contact_remove(club: Club, login: str, person_id: int, delete_in_exchange: bool) -> None:
    """Take a person off LOGIN's contact sync list; the Exchange contact stays unless asked."""
    deleting = remove_contact(login, person_id, delete_in_exchange)
    suffix = "; its Exchange contact is deleted in the next cycle" if deleting else ""
    click.echo(f"person {person_id} removed from {login}'s contacts{suffix}")


@contact.command("policy")
@click.argument("login")
@click.argument("policy", type=click.Choice(["pccaddie-wins", "exchange-wins", "newest-wins"]), required=False)
@club_command
def contact_policy_command(club: Club, login: str, policy: str | None) -> None:
    """Who wins when a field group of a contact changed on both sides (the loser is kept: see
    `conflicts`); without POLICY, show it."""
    if policy is None:
        click.echo(f"{login}'s contacts: {contact_policy(login)}")
        return
    former = set_contact_policy(login, policy)
    click.echo(f"{login}'s contacts: {policy} (was {former})")


COMMANDS = [contact]
