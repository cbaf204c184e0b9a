"""The home folder both services share, and the shared secret that lets them trust each other.

HOME is `--home DIR`, else $CADDIE_SYNC_HOME, else the platform's data folder for the application.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import platformdirs

from .acl import refusal

if sys.platform == "win32":  # the ctypes calls, on Windows only
    from . import windows_acl

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
    processes racing get one winner, and both then read the winner's content. Private means
    `mode` on POSIX; on Windows (where the mode means nothing) the file is made with an access
    list of its own from the start: this user, SYSTEM and the Administrators, nothing inherited.
    """
    fd, temporary = _private_temporary(path)
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


def _private_temporary(path: Path) -> tuple[int, str]:
    """A new temporary file beside `path`, private to this user: (descriptor open for writing, name)."""
    prefix = f".{path.name}."
    if sys.platform == "win32":
        while True:
            candidate = path.parent / f"{prefix}{secrets.token_hex(8)}"
            try:
                return windows_acl.create_private_file(candidate), str(candidate)
            except FileExistsError:
                continue
    return tempfile.mkstemp(prefix=prefix, dir=path.parent)


def check_private(path: Path) -> None:
    """Refuse a secret file that other users could read: on POSIX by its permission bits, on
    Windows by its access list (service_runtime.acl says what passes)."""
    if sys.platform == "win32":
        try:
            owner, dacl = windows_acl.file_security(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise HomeError(f"cannot read the permissions of {path}: {exc.strerror or exc}") from None
        reason = refusal(str(path), dacl, owner)
        if reason is not None:
            raise HomeError(reason)
        return
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


MAX_TOKEN_LENGTH = 1024  # a connect frame with it stays well within framing.HANDSHAKE_MAX_FRAME_SIZE


def ensure_token(home: Home) -> str:
    """The gateway token, created private (see create_exclusively) by whichever service asks first."""
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
    if len(token) > MAX_TOKEN_LENGTH:
        raise HomeError(
            f"{home.token_file} holds a token longer than {MAX_TOKEN_LENGTH} characters (the connect frame must "
            "stay within the gateway's few KiB before the token is checked); delete it and restart both services"
        )
    return token
