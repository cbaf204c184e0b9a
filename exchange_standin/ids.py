"""Opaque item and folder ids and change keys, base64 like Exchange's.

An id is the base64 of: a two-byte marker, a kind byte (F folder, I item), eight bytes naming the
mailbox, the object's serial number in that mailbox (eight bytes) and eight bytes of this server
instance's salt, so ids of another emulator run are unknown rather than confused with this one's.
A change key is the base64 of a marker and the mailbox's change number at the object's last change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from .errors import EwsError

_MARKER = b"\x00\x03"
_CHANGE_MARKER = b"\x0f\x00\x00\x00"
_ID_LENGTH = 2 + 1 + 8 + 8 + 8
_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")

FOLDER = b"F"
ITEM = b"I"
OCCURRENCE = b"O"  # an occurrence of a recurring calendar item


def mailbox_key(address: str) -> bytes:
    """Eight bytes that name a mailbox inside its ids."""
    return hashlib.sha256(address.strip().lower().encode()).digest()[:8]


def decode_base64(text: str) -> bytes | None:
    """The bytes of strict base64 text (whitespace allowed around it), or None."""
    text = text.strip()
    if not text or len(text) % 4 or not _BASE64_CHARS.match(text):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class ParsedId:
    kind: bytes
    mailbox: bytes
    serial: int
    salt: bytes


class IdCodec:
    """Makes and reads the ids of one emulator instance."""

    def __init__(self, salt: bytes) -> None:
        if len(salt) != 8:
            raise ValueError("the salt must have 8 bytes")
        self.salt = salt

    def make(self, kind: bytes, mailbox: bytes, serial: int) -> str:
        raw = _MARKER + kind + mailbox + serial.to_bytes(8, "big") + self.salt
        return base64.b64encode(raw).decode("ascii")

    def parse(self, text: str | None) -> ParsedId | None:
        """Parse an id. Raises EwsError for an empty or malformed id; None for one that is valid
        base64 but none of this server's (so it names nothing that exists)."""
        if text is None or not text.strip():
            raise EwsError("ErrorInvalidIdEmpty")
        raw = decode_base64(text)
        if raw is None:
            raise EwsError("ErrorInvalidIdMalformed")
        if len(raw) != _ID_LENGTH or not raw.startswith(_MARKER) or raw[-8:] != self.salt:
            return None
        return ParsedId(kind=raw[2:3], mailbox=raw[3:11], serial=int.from_bytes(raw[11:19], "big"), salt=raw[19:])

    @staticmethod
    def raw(text: str) -> bytes:
        """The bytes of a valid id (for ConvertId)."""
        raw = decode_base64(text)
        if raw is None:
            raise EwsError("ErrorInvalidIdMalformed")
        return raw


def make_change_key(change_number: int) -> str:
    return base64.b64encode(_CHANGE_MARKER + change_number.to_bytes(8, "big")).decode("ascii")


def check_change_key(text: str | None) -> str | None:
    """The change key as given, None if absent; EwsError(ErrorInvalidChangeKey) if it is not base64."""
    if text is None:
        return None
    if decode_base64(text) is None:
        raise EwsError("ErrorInvalidChangeKey")
    return text.strip()
