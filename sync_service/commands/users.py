"""`sync-service group …` and `user …`: who may sync what (password management, tab SYNC)."""

from __future__ import annotations

from typing import Any, Callable

import click
import peewee as pw

from ..admin.lookups import group_by_name, user_by_login
from ..admin.users import (
    PermissionChange,
    add_group,
    add_user,
    remove_user,
    set_group_permissions,
    set_user_permissions,
)
from ..core.permissions import (
    Appointments,
    Contacts,
    FieldGroup,
    FieldMode,
    appointment_scope,
    field_mode,
    may_sync_contacts,
)
from ..store.models import TimetableArea, User, UserGroup
from ..store.read_model import stored_permissions, subject_for
from .context import Club, club_command, emit_json, emit_table, json_option

MODES = [m.value for m in FieldMode]


def permission_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--contacts", type=click.Choice([c.value for c in Contacts]), help="May sync contacts at all."),
        click.option("--address", type=click.Choice(MODES), help="Street, postal code, city, country."),
        click.option("--phone", type=click.Choice(MODES), help="Home, business and mobile phone."),
        click.option("--email", type=click.Choice(MODES), help="Up to three e-mail addresses."),
        click.option(
            "--appointments",
            type=click.Choice([a.value for a in Appointments]),
            help="none, as group, all areas, only own areas, or only the --area ones.",
        ),
        click.option(
            "--area",
            "areas",
            multiple=True,
            metavar="NAME",
            help="An area for 'listed' (repeat for more; replaces the list).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _change(contacts, address, phone, email, appointments, areas) -> PermissionChange:
    return PermissionChange(
        contacts=Contacts(contacts) if contacts else None,
        address=FieldMode(address) if address else None,
        phone=FieldMode(phone) if phone else None,
        email=FieldMode(email) if email else None,
        appointments=Appointments(appointments) if appointments else None,
        listed_areas=tuple(areas) if areas else None,
    )


def _area_names(ids: frozenset[int]) -> list[str]:
    if not ids:
        return []
    return [a.name for a in TimetableArea.select().where(TimetableArea.id.in_(list(ids))).order_by(TimetableArea.name)]


def _stored(row: User | UserGroup) -> dict[str, Any]:
    stored = stored_permissions(row)
    return {
        "contacts": stored.contacts.value,
        "address": stored.address.value,
        "phone": stored.phone.value,
        "email": stored.email.value,
        "appointments": stored.appointments.value,
        "areas": _area_names(stored.listed_areas),
    }


def _effective(user: User) -> dict[str, Any]:
    subject = subject_for(user)
    scope, listed = appointment_scope(subject)
    return {
        "contacts": "yes" if may_sync_contacts(subject) else "no",
        **{group.value: field_mode(subject, group).value for group in FieldGroup},
        "appointments": scope.value,
        "areas": _area_names(
            listed
            if scope is Appointments.LISTED
            else subject.owned_areas
            if scope is Appointments.OWN
            else frozenset()
        ),
    }


def _show(settings: dict[str, Any]) -> str:
    areas = ", ".join(settings["areas"]) or "-"
    return (
        f"contacts {settings['contacts']}; address {settings['address']}, phone {settings['phone']}, "
        f"e-mail {settings['email']}; appointments {settings['appointments']} (areas: {areas})"
    )


@click.group("group")
def group() -> None:
    """User groups, whose permissions users set to 'group' follow."""


@group.command("add")
@click.argument("name")
@club_command
def group_add(club: Club, name: str) -> None:
    """Add a group (it may sync nothing until its permissions are set)."""
    click.echo(f"group {add_group(name).name} added")


@group.command("permissions")
@click.argument("name")
@permission_options
@club_command
def group_permissions(club: Club, name: str, **options: Any) -> None:
    """Set what members of the group whose settings say 'group' may sync; without options, show it."""
    row = set_group_permissions(name, _change(**options)) if any(options.values()) else group_by_name(name)
    click.echo(f"{row.name}: {_show(_stored(row))}")


@group.command("list")
@json_option
@club_command
def group_list(club: Club, as_json: bool) -> None:
    """Every group with its permissions."""
    rows = [{"name": g.name, **_stored(g)} for g in UserGroup.select().order_by(UserGroup.name)]
    if as_json:
        emit_json(rows)
    else:
        emit_table(["GROUP", "PERMISSIONS"], [(r["name"], _show(r)) for r in rows])


@click.group("user")
def user() -> None:
    """PC CADDIE users and what each may sync."""


@user.command("add")
@click.argument("login")
@click.option("--group", "group_name", metavar="NAME", help="The user's group.")
@click.option("--name", "display_name", metavar="TEXT", help="Display name (default: the login).")
@club_command
def user_add(club: Club, login: str, group_name: str | None, display_name: str | None) -> None:
    """Add a user (every permission 'as group')."""
    row = add_user(login, display_name, group_name)
    click.echo(f"user {row.login} added" + (f" to group {group_name}" if group_name else ""))


@user.command("permissions")
@click.argument("login")
@permission_options
@club_command
def user_permissions(club: Club, login: str, **options: Any) -> None:
    """Set what the user may sync; without options, show it. 'group' follows the user's group."""
    row = set_user_permissions(login, _change(**options)) if any(options.values()) else user_by_login(login)
    click.echo(f"{row.login}: {_show(_stored(row))}")
    click.echo(f"effective: {_show(_effective(row))}")


@user.command("remove")
@click.argument("login")
@click.option(
    "--force", is_flag=True, help="Remove the user even while it syncs calendars or contacts (they go with it)."
)
@club_command
def user_remove(club: Club, login: str, force: bool) -> None:
    """Remove a user and everything the sync keeps for them (refused while it syncs calendars or
    contacts, unless --force). Nothing is deleted in Exchange."""
    for sentence in remove_user(login, force):
        click.echo(sentence)


@user.command("list")
@json_option
@club_command
def user_list(club: Club, as_json: bool) -> None:
    """Every user with their group and effective permissions."""
    users = list(
        User.select(User, UserGroup)
        .join(UserGroup, on=(User.group == UserGroup.id), join_type=pw.JOIN.LEFT_OUTER)
        .order_by(User.login)
    )
    rows: list[dict[str, Any]] = [
        {
            "login": u.login,
            "name": u.display_name,
            "group": u.group.name if u.group_id and u.group is not None else None,
            "permissions": _stored(u),
            "effective": _effective(u),
        }
        for u in users
    ]
    if as_json:
        emit_json(rows)
    else:
        emit_table(
            ["LOGIN", "NAME", "GROUP", "EFFECTIVE PERMISSIONS"],
            [(r["login"], r["name"], r["group"] or "-", _show(r["effective"])) for r in rows],
        )


COMMANDS = [group, user]
