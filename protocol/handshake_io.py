"""Running the handshake state machines over a FramedStream, each side bounded in time."""

from __future__ import annotations

import trio

from .framed_stream import FramedStream
from .handshake import ClientHandshake, ServerHandshake
from .messages import Confirm, Refuse


async def client_handshake(framed: FramedStream, handshake: ClientHandshake, timeout: float) -> Confirm:
    """Send connect and wait for the answer. Raises HandshakeRefused, ProtocolError,
    ConnectionClosed, trio.TooSlowError or a broken-stream error."""
    with trio.fail_after(timeout):
        await framed.send(handshake.start())
        return handshake.receive(await framed.receive())


async def server_handshake(framed: FramedStream, handshake: ServerHandshake, timeout: float) -> Confirm | Refuse:
    """Wait for the client's first message and send our answer (the caller closes on Refuse)."""
    with trio.fail_after(timeout):
        answer = handshake.receive(await framed.receive())
        await framed.send(answer)
        return answer
