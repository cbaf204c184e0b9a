"""Messages over a `trio.abc.Stream`: the codec and message validation, carried by trio.

Only one task may send at a time; `rpc.RpcPeer` guarantees that with its single writer task.
"""

from __future__ import annotations

import trio

from .errors import ProtocolError
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, encode_frame
from .messages import Message, message_from_wire

RECEIVE_CHUNK = 65536


class ConnectionClosed(Exception):
    """The peer closed the connection cleanly, between two frames."""


class FramedStream:
    def __init__(self, stream: trio.abc.Stream, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.stream = stream
        self.max_frame_size = max_frame_size
        self._decoder = FrameDecoder(max_frame_size)

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
            wire = self._decoder.next_frame()
            if wire is not None:
                return message_from_wire(wire)
            data = await self.stream.receive_some(RECEIVE_CHUNK)
            if not data:
                self._decoder.end_of_stream()
                raise ConnectionClosed("the peer closed the connection")
            self._decoder.feed(data)

    async def aclose(self) -> None:
        await self.stream.aclose()


__all__ = ["ConnectionClosed", "FramedStream", "ProtocolError"]
