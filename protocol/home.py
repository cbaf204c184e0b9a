"""The home folder both services share, and the shared secret that lets them trust each other.

HOME is `--home DIR`, else $CADDIE_SYNC_HOME, else the platform's data folder for the application.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import platformdirs

APP_NAME = "caddie-sync"
HOME_ENVIRONMENT_VARIABLE = "CADDIE_SYNC_HOME"


class HomeError(Exception):
    """The home folder or one of its files cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    @property
    def token_file(self) -> Path:
        return self.root / "gateway.token"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def cycle_lock_file(self) -> Path:
        return self.root / "sync-cycle.lock"

    def log_file(self, service: str) -> Path:
        return self.logs_dir / f"{service}.log"

    def prepare(self) -> "Home":
        """Create the folders if needed (private to this user). Raises HomeError."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.logs_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise HomeError(f"cannot create the home folder {self.root}: {exc.strerror or exc}") from None
        if not os.access(self.root, os.W_OK):
            raise HomeError(f"the home folder {self.root} is not writable by this user")
        return self


def resolve_home(option: str | os.PathLike[str] | None, environ: Mapping[str, str] = os.environ) -> Home:
    if option:
        root = Path(option)
    elif environ.get(HOME_ENVIRONMENT_VARIABLE):
        root = Path(environ[HOME_ENVIRONMENT_VARIABLE])
    else:
        root = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return Home(root.expanduser().absolute())


def create_exclusively(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Create `path` holding `data`, atomically: other processes see no file or the whole file.

    Returns False, writing nothing, if the file already exists. The data is written to a private
    temporary file first and then hard-linked into place, which fails if the name is taken: two
    processes racing get one winner, and both then read the winner's content.
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temporary, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


def check_private(path: Path) -> None:
    """Refuse a secret file that other users could read (POSIX permissions)."""
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if mode & 0o077:
        raise HomeError(
            f"{path} can be read by other users (mode {mode:04o}); make it private with `chmod 600 {path}` "
            "and start again"
        )


def ensure_token(home: Home) -> str:
    """The gateway token, created (mode 0600) by whichever service asks first."""
    create_exclusively(home.token_file, (secrets.token_urlsafe(32) + "\n").encode())
    return read_token(home)


def read_token(home: Home) -> str:
    check_private(home.token_file)
    try:
        token = home.token_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise HomeError(f"{home.token_file} does not exist; start either service once to create it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HomeError(f"cannot read {home.token_file}: {exc}") from None
    if not token:
        raise HomeError(f"{home.token_file} is empty; delete it and restart both services")
    return token
