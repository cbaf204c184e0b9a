"""The frame codec: a 4-byte unsigned big-endian length N, then N bytes holding one msgpack map.

`encode_frame` turns a map into bytes; `FrameDecoder` is fed arbitrary chunks of a byte stream and
hands back complete frame bodies (`next_body`) or maps (`next_frame`) one at a time; `decode_body`
turns a body into its map, within msgpack's length limits sized from the body's length. None of
them does any I/O.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Mapping

import msgpack

from .errors import ProtocolError

DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024
HANDSHAKE_MAX_FRAME_SIZE = 4096  # the first frame, before the token is checked: a connect is ~100 bytes
HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class DecodeLimits:
    """msgpack's length limits for one decode: no string, array or map may claim more than its
    frame can hold, so that a lying length is refused before anything is allocated for it."""

    max_str_len: int
    max_bin_len: int
    max_array_len: int
    max_map_len: int
    max_ext_len: int

    @classmethod
    def for_body(cls, length: int) -> DecodeLimits:
        """Every element takes at least one byte of the body and every map entry two; the wire
        has no extension types."""
        return cls(max_str_len=length, max_bin_len=length, max_array_len=length, max_map_len=length // 2, max_ext_len=0)


def encode_frame(message: Mapping[str, Any], max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """Encode one map as a frame. Raises ProtocolError if it cannot be sent as one."""
    if not isinstance(message, Mapping):
        raise ProtocolError(f"a frame must hold a map, not {type(message).__name__}")
    try:
        body = msgpack.packb(dict(message), use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(f"message cannot be encoded as msgpack: {exc}") from None
    if len(body) > max_frame_size:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds the maximum of {max_frame_size} bytes")
    return HEADER.pack(len(body)) + body


def _reject_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack extension type {code} is not allowed")


def decode_body(body: bytes, limits: DecodeLimits | None = None) -> dict[str, Any]:
    """Decode a frame body that must be exactly one msgpack map with string keys, within `limits`
    (by default those of its length)."""
    bounds = limits or DecodeLimits.for_body(len(body))
    try:
        value = msgpack.unpackb(
            body,
            raw=False,
            strict_map_key=True,
            ext_hook=_reject_ext,
            max_str_len=bounds.max_str_len,
            max_bin_len=bounds.max_bin_len,
            max_array_len=bounds.max_array_len,
            max_map_len=bounds.max_map_len,
            max_ext_len=bounds.max_ext_len,
        )
    except msgpack.ExtraData:
        raise ProtocolError("frame body has trailing bytes after its msgpack value") from None
    except (ValueError, TypeError, OverflowError, RecursionError, msgpack.UnpackException) as exc:
        raise ProtocolError(f"frame body is not valid msgpack: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"frame body must be a msgpack map, not {type(value).__name__}")
    return value


class FrameDecoder:
    """Incremental, bounded decoder.

    Call `feed(data)` with whatever the socket gave, then `next_frame()` (or `next_body()`, to
    decode elsewhere) until it returns None (it needs more bytes). A length over `max_frame_size`
    is refused as soon as its 4-byte header is complete, before any of its body is waited for;
    so is a first frame over `first_frame_limit` (the handshake's, before a peer is trusted).
    Errors are sticky: once the decoder has raised ProtocolError it raises the same error on every
    later call.
    """

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, first_frame_limit: int | None = None) -> None:
        if max_frame_size < 1:
            raise ValueError("max_frame_size must be at least 1")
        if first_frame_limit is not None and not 1 <= first_frame_limit <= max_frame_size:
            raise ValueError("first_frame_limit must be at least 1 and at most max_frame_size")
        self.max_frame_size = max_frame_size
        self.first_frame_limit = first_frame_limit
        self._frames = 0
        self._buffer = bytearray()
        self._offset = 0
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer) - self._offset

    def feed(self, data: bytes | bytearray) -> None:
        if self._error is not None:
            raise self._error
        self._buffer += data

    def next_frame(self) -> dict[str, Any] | None:
        """The next complete frame's map, or None."""
        body = self.next_body()
        if body is None:
            return None
        try:
            return decode_body(body)
        except ProtocolError as exc:
            self.fail(exc)
            raise

    def next_body(self) -> bytes | None:
        """The next complete frame's body, not decoded yet (see `decode_body`), or None."""
        if self._error is not None:
            raise self._error
        try:
            return self._next_body()
        except ProtocolError as exc:
            self.fail(exc)
            raise

    def fail(self, error: ProtocolError) -> None:
        """Make `error` sticky (e.g. a body decoded elsewhere was bad) and drop what is buffered."""
        self._error = error
        self._buffer = bytearray()
        self._offset = 0

    def _next_body(self) -> bytes | None:
        available = self.buffered
        if available < HEADER.size:
            return None
        (length,) = HEADER.unpack_from(self._buffer, self._offset)
        if length == 0:
            raise ProtocolError("frame of length 0")
        if self._frames == 0 and self.first_frame_limit is not None and length > self.first_frame_limit:
            raise ProtocolError(f"first frame length {length} exceeds the maximum of {self.first_frame_limit} bytes")
        if length > self.max_frame_size:
            raise ProtocolError(f"frame length {length} exceeds the maximum of {self.max_frame_size} bytes")
        if available < HEADER.size + length:
            return None
        start = self._offset + HEADER.size
        body = bytes(self._buffer[start : start + length])
        self._offset = start + length
        self._frames += 1
        self._compact()
        return body

    def _compact(self) -> None:
        if self._offset == len(self._buffer):
            self._buffer = bytearray()
            self._offset = 0
        elif self._offset > 65536 and self._offset * 2 > len(self._buffer):
            del self._buffer[: self._offset]
            self._offset = 0

    def end_of_stream(self) -> None:
        """The peer closed its side. Raises ProtocolError if it stopped in the middle of a frame."""
        if self._error is not None:
            raise self._error
        if self.buffered:
            self._error = ProtocolError(f"connection closed in the middle of a frame ({self.buffered} bytes pending)")
            raise self._error
