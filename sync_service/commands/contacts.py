"""`sync-service contact add|list|remove`: the persons each user syncs as Exchange contacts."""

from __future__ import annotations

import click

from ..admin.subscriptions import add_contact, list_contacts, remove_contact
from .context import Club, club_command, emit_json, emit_table, json_option


@click.group("contact")
def contact() -> None:
    """A user's contact sync list (CONTACTS tab): only these persons are synced."""


@contact.command("add")
@click.argument("login")
@click.option("--person", "person_id", type=int, required=True, metavar="ID", help="A PC CADDIE person.")
@club_command
def contact_add(club: Club, login: str, person_id: int) -> None:
    """Put a person on LOGIN's contact sync list."""
    add_contact(login, person_id)
    click.echo(f"person {person_id} added to {login}'s contacts")


@contact.command("list")
@click.argument("login")
@json_option
@club_command
def contact_list(club: Club, login: str, as_json: bool) -> None:
    """LOGIN's contact sync list."""
    rows = [
        {"person": p.id, "name": f"{p.first_name} {p.last_name}", "source": s.source} for s, p in list_contacts(login)
    ]
    if as_json:
        emit_json(rows)
    else:
        emit_table(["PERSON", "NAME", "ADDED BY"], [(r["person"], r["name"], r["source"]) for r in rows])


@contact.command("remove")
@click.argument("login")
@click.argument("person_id", metavar="PERSON-ID", type=int)
@club_command
def contact_remove(club: Club, login: str, person_id: int) -> None:
    """Take a person off LOGIN's contact sync list."""
    remove_contact(login, person_id)
    click.echo(f"person {person_id} removed from {login}'s contacts")


COMMANDS = [contact]
