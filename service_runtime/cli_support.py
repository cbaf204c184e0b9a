"""What both command-line programs share: --home, HOST:PORT values, one-line errors."""

from __future__ import annotations

from typing import Any

import click

from protocol.addresses import Address, parse_address

from .config import Config, ConfigError, load_config
from .home import Home, HomeError, resolve_home
from .version import product_version


class AddressType(click.ParamType):
    name = "HOST:PORT"

    def __init__(self, allow_port_zero: bool = False) -> None:
        self.allow_port_zero = allow_port_zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Address:
        if isinstance(value, Address):
            return value
        try:
            return parse_address(str(value), allow_port_zero=self.allow_port_zero)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


home_option = click.option(
    "--home",
    "home",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="The folder holding configuration, database, token and logs "
    "(default: $CADDIE_SYNC_HOME, else the platform's data folder).",
)


def open_home(home_option_value: str | None) -> tuple[Home, Config]:
    """Resolve, create and read the home, turning every problem into a one-line error."""
    try:
        home = resolve_home(home_option_value).prepare()
        return home, load_config(home)
    except (HomeError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None


def service_group(service_name: str, help_text: str) -> click.Group:
    """The top-level command of a service: --home, --version, -h; the home reaches commands as obj."""

    @click.group(service_name, help=help_text, context_settings={"help_option_names": ["-h", "--help"]})
    @home_option
    @click.version_option(product_version(), prog_name=service_name)
    @click.pass_context
    def group(ctx: click.Context, home: str | None) -> None:
        ctx.obj = home

    return group
