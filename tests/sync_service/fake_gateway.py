"""A gateway in memory, that can be taken down and brought back, for the link's tests."""

import errno

import trio
import trio.testing

from protocol.framed_stream import FramedStream
from protocol.handshake import ServerHandshake
from protocol.handshake_io import server_handshake
from protocol.messages import Refuse
from protocol.rpc import PeerSettings, RpcPeer


class FakeGateway:
    def __init__(
        self, nursery: trio.Nursery, token: str = "tok", settings: PeerSettings = PeerSettings(heartbeat=None)
    ):
        self.nursery = nursery
        self.token = token
        self.settings = settings
        self.up = True
        self.hang_after_confirm = False
        self.attempts: list[float] = []
        self.sessions: list[RpcPeer] = []
        self._streams: list[trio.abc.Stream] = []

    async def open_stream(self, host: str, port: int) -> trio.abc.Stream:
        self.attempts.append(trio.current_time())
        if not self.up:
            raise OSError(errno.ECONNREFUSED, "Connection refused")
        client, server = trio.testing.memory_stream_pair()
        self._streams.append(server)
        self.nursery.start_soon(self._serve, server)
        return client

    async def _serve(self, stream):
        framed = FramedStream(stream)
        answer = await server_handshake(framed, ServerHandshake(self.token, "test"), 10)
        if isinstance(answer, Refuse):
            await stream.aclose()
            return
        if self.hang_after_confirm:
            await trio.sleep_forever()  # confirmed, then reads nothing and answers nothing
        peer = RpcPeer(framed, settings=self.settings)
        self.sessions.append(peer)
        await peer.run()

    async def kill(self):
        """Like kill -9: every connection drops, new ones are refused."""
        self.up = False
        for stream in self._streams:
            await trio.aclose_forcefully(stream)
        self._streams.clear()
