"""Running the admin commands of `sync-service` in-process with click's CliRunner, and checking them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from sync_service.cli import main


class Cli:
    """`run(*args, input=None)` runs `sync-service --home HOME *args`; a few helpers on top."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runner = CliRunner()

    def __call__(self, *args: Any, input: str | None = None) -> Result:
        return self.runner.invoke(main, ["--home", str(self.home), *map(str, args)], input=input)

    def ok(self, *args: Any, input: str | None = None) -> str:
        """Run a command that must succeed; its stdout."""
        result = self(*args, input=input)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        assert result.stderr == ""
        return result.stdout

    def json(self, *args: Any) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def refused(self, *args: Any, input: str | None = None) -> str:
        """Run a command that must be refused: exit 1, one 'Error: ' line on stderr; that line."""
        return assert_refused(self(*args, input=input))

    def usage_error(self, *args: Any) -> Result:
        result = self(*args)
        assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
        assert "Error: " in result.stderr
        assert "Traceback" not in result.stderr
        return result

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        """Read the club database directly (between commands, when no command holds it open)."""
        connection = sqlite3.connect(self.home / "pccaddie.sqlite3")
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def execute(self, sql: str, *params: Any) -> None:
        """Change the club database directly, as PC CADDIE or the sync service would."""
        connection = sqlite3.connect(self.home / "pccaddie.sqlite3")
        try:
            with connection:
                connection.execute(sql, params)
        finally:
            connection.close()

    def count(self, table: str) -> int:
        return self.rows(f"SELECT count(*) FROM {table}")[0][0]


def assert_refused(result: Result) -> str:
    assert isinstance(result.exception, SystemExit), result.exception  # not an unhandled exception
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]
