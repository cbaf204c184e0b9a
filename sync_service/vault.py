"""Exchange passwords encrypted at rest with Fernet; the key is HOME/secret.key, made on first use
private to this user (mode 0600; on Windows an access list of this user, SYSTEM and the
Administrators) and refused if others can read it (service_runtime.home.check_private). The database
alone reveals no password; the key alone reveals nothing either."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from service_runtime.home import Home, HomeError, check_private, create_exclusively


class VaultError(Exception):
    """The key is missing, unreadable or not the one the password was encrypted with."""


class PasswordVault:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise VaultError("the key file is damaged (not a Fernet key)") from None

    @classmethod
    def for_home(cls, home: Home) -> "PasswordVault":
        return cls.from_key_file(home.root / "secret.key")

    @classmethod
    def from_key_file(cls, path: Path) -> "PasswordVault":
        create_exclusively(path, Fernet.generate_key() + b"\n", mode=0o600)
        try:
            check_private(path)
        except HomeError as exc:
            raise VaultError(str(exc)) from None
        try:
            return cls(path.read_bytes().strip())
        except OSError as exc:
            raise VaultError(f"cannot read the key file {path}: {exc.strerror or exc}") from None

    def encrypt(self, password: str) -> bytes:
        return self._fernet.encrypt(password.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken:
            raise VaultError(
                "a stored password cannot be decrypted with this home's key (was secret.key replaced?); "
                "set the password again with `sync-service account set`"
            ) from None
