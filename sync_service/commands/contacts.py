"""`sync-service contact add|list|remove`: the persons each user syncs as Exchange contacts."""

from __future__ import annotations

import click

from protocol.addresses import Address
from service_runtime.cli_support import AddressType
from service_runtime.logsetup import configure_logging

from ..admin.exchange_calls import add_chosen_contact, exchange_contacts
from ..admin.exchange_contacts import choose_contact
from ..admin.subscriptions import add_contact, contact_policy, remove_contact, set_contact_policy
from ..admin.views import CONTACT_HEADERS, contact_rows, mailbox_refusal
from ..gateway_calls import with_gateway
from ..service import SERVICE_NAME
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
    configure_logging(club.home, SERVICE_NAME, club.config.logs, stderr=None)
    config = with_gateway(club.config, gateway)
    found = exchange_contacts(club.db, club.home, config, login, wanted, search="@" in wanted, person_id=person_id)
    click.echo(add_chosen_contact(club.db, login, choose_contact(wanted, found), person_id=person_id, new=new))


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
