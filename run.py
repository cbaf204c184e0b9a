#!/usr/bin/env python3
"""Set-up and entry point for a fresh machine: only Python 3.11+ is needed.

    python3 run.py demo     the demo (the main job, on embedded defaults)
    python3 run.py test     the test suite
    python3 run.py -- CMD   any command inside the project's environment, e.g. `-- sync-service --help`

The first run creates `.venv/` and installs exactly what `requirements.lock` pins (hash-checked),
then the project itself; later runs reinstall only when the lock file or pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".installed"


def fail(message: str) -> NoReturn:
    print(f"run.py: {message}", file=sys.stderr)
    raise SystemExit(1)


def venv_bin(name: str) -> Path:
    folder = VENV / ("Scripts" if os.name == "nt" else "bin")
    suffix = ".exe" if os.name == "nt" else ""
    return folder / f"{name}{suffix}"


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        fail(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    wanted = fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and venv_bin("python").exists():
        return
    if not venv_bin("python").exists():
        print("run.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    python = str(venv_bin("python"))
    print("run.py: installing the pinned dependencies from requirements.lock", file=sys.stderr)
    steps = [
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes", "-r", str(LOCK)],
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--editable",
            str(ROOT),
        ],
    ]
    for step in steps:
        if subprocess.call(step, cwd=ROOT) != 0:
            fail("installation failed (see above); nothing else was changed")
    STAMP.write_text(wanted + "\n")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "--"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ensure_environment()
    if argv[0] == "demo":
        command = [str(venv_bin("sync-service")), "demo", *argv[1:]]
    elif argv[0] == "test":
        command = [str(venv_bin("python")), "-m", "pytest", *argv[1:]]
    else:
        if len(argv) < 2:
            fail("give a command after --")
        first = venv_bin(argv[1])
        command = [str(first) if first.exists() else argv[1], *argv[2:]]
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
