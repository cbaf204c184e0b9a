"""`sync-service person add|update|list`: the club's person records."""

from __future__ import annotations

from typing import Any, Callable

import click

from ..admin.persons import PersonInput, add_person, list_persons, update_person
from ..store.models import Person
from .context import Club, club_command, emit_json, emit_table, json_option


def person_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--first-name", metavar="TEXT"),
        click.option("--last-name", metavar="TEXT"),
        click.option("--street", metavar="TEXT"),
        click.option("--zip", "postal_code", metavar="TEXT", help="Postal code."),
        click.option("--city", metavar="TEXT"),
        click.option("--country", metavar="TEXT"),
        click.option("--phone-home", metavar="TEXT"),
        click.option("--phone-business", metavar="TEXT"),
        click.option("--phone-mobile", metavar="TEXT"),
        click.option(
            "--email",
            "emails",
            multiple=True,
            metavar="TEXT",
            help="An e-mail address (up to 3; on update, replaces them all).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def person_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "street": person.street,
        "postal_code": person.postal_code,
        "city": person.city,
        "country": person.country,
        "phone_home": person.phone_home,
        "phone_business": person.phone_business,
        "phone_mobile": person.phone_mobile,
        "emails": [e for e in (person.email1, person.email2, person.email3) if e],
    }


@click.group("person")
def person() -> None:
    """Person records: members, guests, staff."""


@person.command("add")
@person_options
@club_command
def person_add(club: Club, emails: tuple[str, ...], **given: Any) -> None:
    """Add a person; prints the new id."""
    click.echo(add_person(PersonInput(emails=emails, **given)).id)


@person.command("update")
@click.argument("person_id", metavar="ID", type=int)
@person_options
@club_command
def person_update(club: Club, person_id: int, emails: tuple[str, ...], **given: Any) -> None:
    """Change what is given of person ID (an empty value clears a field)."""
    update_person(person_id, PersonInput(emails=emails or None, **given))
    click.echo(f"person {person_id} updated")


@person.command("list")
@json_option
@club_command
def person_list(club: Club, as_json: bool) -> None:
    """Every person, by name."""
    rows = [person_json(p) for p in list_persons()]
    if as_json:
        emit_json(rows)
        return
    emit_table(
        ["ID", "NAME", "CITY", "PHONE", "E-MAIL"],
        [
            (
                r["id"],
                f"{r['last_name']}, {r['first_name']}",
                r["city"] or "-",
                r["phone_mobile"] or r["phone_business"] or r["phone_home"] or "-",
                ", ".join(r["emails"]) or "-",
            )
            for r in rows
        ],
    )


COMMANDS = [person]
