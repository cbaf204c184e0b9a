"""Messages over a `trio.abc.Stream`: the codec and message validation, carried by trio.

Only one task may send at a time; `rpc.RpcPeer` guarantees that with its single writer task.
Only one task may receive at a time (a connection's reader): a frame body over `off_loop_size`
is decoded in a worker thread (through `decode_limiter`) while the event loop serves everyone
else, and the next frame is taken only after it, so messages keep their order.
"""

from __future__ import annotations

from typing import Any

import trio

from .errors import ProtocolError
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, decode_body, encode_frame
from .messages import Message, message_from_wire

RECEIVE_CHUNK = 65536
OFF_LOOP_DECODE_SIZE = 65536  # larger bodies are decoded in a worker thread


class ConnectionClosed(Exception):
    """The peer closed the connection cleanly, between two frames."""


class FramedStream:
    def __init__(
        self,
        stream: trio.abc.Stream,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        *,
        first_frame_limit: int | None = None,
        decode_limiter: trio.CapacityLimiter | None = None,
        off_loop_size: int = OFF_LOOP_DECODE_SIZE,
    ) -> None:
        """`first_frame_limit`: the largest first frame taken (the handshake's, before the peer is
        trusted); `decode_limiter`: the worker threads large decodes share (default: one of this
        stream's own)."""
        self.stream = stream
        self.max_frame_size = max_frame_size
        limit = None if first_frame_limit is None else min(first_frame_limit, max_frame_size)
        self._decoder = FrameDecoder(max_frame_size, limit)
        self._decode_limiter = decode_limiter or trio.CapacityLimiter(1)
        self.off_loop_size = off_loop_size

    def encode(self, message: Message) -> bytes:
        return encode_frame(message.to_wire(), self.max_frame_size)

    async def send_bytes(self, frame: bytes) -> None:
        await self.stream.send_all(frame)

    async def send(self, message: Message) -> None:
        await self.send_bytes(self.encode(message))

    async def receive(self) -> Message:
        """The next message. Raises ConnectionClosed at a clean end, ProtocolError on bad input,
        trio.BrokenResourceError when the connection broke."""
        while True:
            body = self._decoder.next_body()
            if body is not None:
                return message_from_wire(await self._decode(body))
            data = await self.stream.receive_some(RECEIVE_CHUNK)
            if not data:
                self._decoder.end_of_stream()
                raise ConnectionClosed("the peer closed the connection")
            self._decoder.feed(data)

    async def _decode(self, body: bytes) -> dict[str, Any]:
        try:
            if len(body) <= self.off_loop_size:
                return decode_body(body)
            return await trio.to_thread.run_sync(decode_body, body, limiter=self._decode_limiter)
        except ProtocolError as exc:
            self._decoder.fail(exc)
            raise

    async def aclose(self) -> None:
        await self.stream.aclose()


__all__ = ["ConnectionClosed", "FramedStream", "ProtocolError"]
