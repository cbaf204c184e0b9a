"""The admin commands of `sync-service`, one module per subject; `register` adds them all."""

import click

from . import (
    accounts,
    app,
    appointments,
    areas,
    calendars,
    config,
    contacts,
    filters,
    parameters,
    persons,
    sync_info,
    users,
)


def register(main: click.Group) -> None:
    for module in (
        parameters,
        config,
        users,
        areas,
        accounts,
        app,
        calendars,
        filters,
        appointments,
        persons,
        contacts,
        sync_info,
    ):
        for command in module.COMMANDS:
            main.add_command(command)
