"""The linters pass: `ruff check`, `ruff format --check` and mypy, as CI runs them.

Each tool runs from the project root with the executable next to the interpreter running the
tests (the project's `.venv`), on the settings in pyproject.toml. mypy keeps its cache in the
project's `.mypy_cache/` (ignored by git), so only the first run is slow.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TIMEOUT = 600


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        pytest.fail(f"{name} is not installed next to {sys.executable} (install the dev extras)")
    return found


def _run(*command: str) -> None:
    result = subprocess.run(
        command,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    shown = " ".join([Path(command[0]).stem, *command[1:]])
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        pytest.fail(f"`{shown}` failed with exit code {result.returncode}:\n{output}", pytrace=False)


def test_ruff_check() -> None:
    _run(_tool("ruff"), "check", ".")


def test_ruff_format() -> None:
    _run(_tool("ruff"), "format", "--check", ".")


def test_mypy() -> None:
    _run(_tool("mypy"), "--cache-dir", str(ROOT / ".mypy_cache"))
