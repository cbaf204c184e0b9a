"""The `logs` command both services have: last lines, follow, archive, grep."""

from __future__ import annotations

import click

from .cli_support import open_home
from .logview import archives, follow, matching, read_archive, tail


def add_logs_command(group: click.Group, service: str) -> None:
    @group.command("logs")
    @click.option(
        "--lines", "-n", type=click.IntRange(min=0), default=50, show_default=True, help="How many last lines."
    )
    @click.option("--follow", "-f", "keep_following", is_flag=True, help="Keep printing new lines (Ctrl+C stops).")
    @click.option(
        "--archive",
        "archive",
        is_flag=False,
        flag_value="",
        default=None,
        metavar="[FILE]",
        help="List the rotated log files; with FILE, show that one (compressed or not).",
    )
    @click.option("--grep", metavar="TEXT", help="Only lines containing TEXT (case ignored).")
    @click.pass_obj
    def logs(home_value: str | None, lines: int, keep_following: bool, archive: str | None, grep: str | None) -> None:
        """This service's log (HOME/logs), as the original's log window and log archive showed it."""
        home, _ = open_home(home_value)
        path = home.log_file(service)
        if archive == "":
            rotated = archives(home.logs_dir, service)
            if not rotated:
                click.echo("(no rotated log files yet)")
            for item in rotated:
                click.echo(f"{item.path.name}  {item.size:>10} bytes")
            return
        if archive is not None:
            candidate = home.logs_dir / archive
            if candidate.parent != home.logs_dir or not candidate.is_file() or not candidate.name.startswith(service):
                raise click.ClickException(f"no archived log {archive!r} (see `{service} logs --archive`)")
            for line in matching(read_archive(candidate).splitlines()[-lines:] if lines else [], grep):
                click.echo(line)
            return
        if not path.exists() and not keep_following:
            raise click.ClickException(f"{path} does not exist yet: the service has not run with this home")
        for line in matching(tail(path, lines), grep):
            click.echo(line)
        if keep_following:
            try:
                for line in follow(path, home.logs_dir, service):
                    if not grep or grep.casefold() in line.casefold():
                        click.echo(line)
            except KeyboardInterrupt:
                pass
