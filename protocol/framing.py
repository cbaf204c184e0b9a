"""The frame codec: a 4-byte unsigned big-endian length N, then N bytes holding one msgpack map.

`encode_frame` turns a map into bytes; `FrameDecoder` is fed arbitrary chunks of a byte stream and
hands back complete maps one at a time. Neither does any I/O.
"""

from __future__ import annotations

import struct
from typing import Any, Mapping

import msgpack

from .errors import ProtocolError

DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024
HEADER = struct.Struct(">I")


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


def decode_body(body: bytes) -> dict[str, Any]:
    """Decode a frame body that must be exactly one msgpack map with string keys."""
    try:
        value = msgpack.unpackb(body, raw=False, strict_map_key=True, ext_hook=_reject_ext)
    except msgpack.ExtraData:
        raise ProtocolError("frame body has trailing bytes after its msgpack value") from None
    except (ValueError, TypeError, OverflowError, RecursionError, msgpack.UnpackException) as exc:
        raise ProtocolError(f"frame body is not valid msgpack: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"frame body must be a msgpack map, not {type(value).__name__}")
    return value


class FrameDecoder:
    """Incremental, bounded decoder.

    Call `feed(data)` with whatever the socket gave, then `next_frame()` until it returns None
    (it needs more bytes). A length over `max_frame_size` is refused as soon as its 4-byte header
    is complete, before any of its body is waited for. Errors are sticky: once the decoder has
    raised ProtocolError it raises the same error on every later call.
    """

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if max_frame_size < 1:
            raise ValueError("max_frame_size must be at least 1")
        self.max_frame_size = max_frame_size
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
        if self._error is not None:
            raise self._error
        try:
            return self._next_frame()
        except ProtocolError as exc:
            self._error = exc
            self._buffer = bytearray()
            self._offset = 0
            raise

    def _next_frame(self) -> dict[str, Any] | None:
        available = self.buffered
        if available < HEADER.size:
            return None
        (length,) = HEADER.unpack_from(self._buffer, self._offset)
        if length == 0:
            raise ProtocolError("frame of length 0")
        if length > self.max_frame_size:
            raise ProtocolError(f"frame length {length} exceeds the maximum of {self.max_frame_size} bytes")
        if available < HEADER.size + length:
            return None
        start = self._offset + HEADER.size
        body = bytes(self._buffer[start : start + length])
        self._offset = start + length
        self._compact()
        return decode_body(body)

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
