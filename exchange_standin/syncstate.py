"""Opaque sync states: what a client knew after a SyncFolderItems or SyncFolderHierarchy call.

A state lists the objects the client has been told about, each with the change number of the
version it got, so the next call can collapse all changes since then per object. It is signed
with the store's secret and gzipped (so it starts with "H4sI", like Exchange's own).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import zlib

from .errors import EwsError
from .ids import decode_base64

_VERSION = 1
_MAC_LENGTH = 16


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def encode(secret: bytes, kind: bytes, mailbox: bytes, folder: int, known: dict[int, int]) -> str:
    payload = bytearray([_VERSION]) + kind + mailbox + folder.to_bytes(8, "big") + _varint(len(known))
    previous = 0
    for serial in sorted(known):
        payload += _varint(serial - previous) + _varint(known[serial])
        previous = serial
    mac = hmac.new(secret, bytes(payload), hashlib.sha256).digest()[:_MAC_LENGTH]
    return base64.b64encode(gzip.compress(bytes(payload) + mac, mtime=0)).decode("ascii")


def decode(secret: bytes, text: str | None, kind: bytes, mailbox: bytes, folder: int) -> dict[int, int]:
    """The known objects of a state (empty for no state). EwsError(ErrorInvalidSyncStateData) if the
    state is not one of this server's for this folder."""
    if text is None or not text.strip():
        return {}
    invalid = EwsError("ErrorInvalidSyncStateData")
    raw = decode_base64(text)
    if raw is None:
        raise invalid
    try:
        blob = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, binascii.Error):
        raise invalid from None
    payload, mac = blob[:-_MAC_LENGTH], blob[-_MAC_LENGTH:]
    if not hmac.compare_digest(hmac.new(secret, payload, hashlib.sha256).digest()[:_MAC_LENGTH], mac):
        raise invalid
    if len(payload) < 18 or payload[0] != _VERSION or payload[1:2] != kind or payload[2:10] != mailbox:
        raise invalid
    if int.from_bytes(payload[10:18], "big") != folder:
        raise invalid
    try:
        count, position = _read_varint(payload, 18)
        known = {}
        serial = 0
        for _ in range(count):
            delta, position = _read_varint(payload, position)
            change, position = _read_varint(payload, position)
            serial += delta
            known[serial] = change
    except ValueError:
        raise invalid from None
    return known
