"""The handshake as two small state machines, one per side.

Client: IDLE --start()--> AWAITING_CONFIRM --Confirm--> READY
                                          --Refuse---> REFUSED (raises HandshakeRefused)
Server: AWAITING_CONNECT --good Connect--> READY (answer Confirm)
                         --anything else--> CLOSED (answer Refuse, then close)

They see messages only, never bytes or sockets.
"""

from __future__ import annotations

import enum
import hmac

from . import PROTOCOL_VERSION
from .errors import ProtocolError
from .messages import Confirm, Connect, Message, Refuse

SERVER_NAME = "exchange-gateway"


class HandshakeRefused(Exception):
    """The server refused us; `reason` is what it said."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClientState(enum.Enum):
    IDLE = "idle"
    AWAITING_CONFIRM = "awaiting confirm"
    READY = "ready"
    REFUSED = "refused"
    FAILED = "failed"


class ServerState(enum.Enum):
    AWAITING_CONNECT = "awaiting connect"
    READY = "ready"
    CLOSED = "closed"


class ClientHandshake:
    def __init__(self, client_name: str, token: str, protocol: int = PROTOCOL_VERSION) -> None:
        self.client_name = client_name
        self._token = token
        self.protocol = protocol
        self.state = ClientState.IDLE
        self.server: Confirm | None = None

    def start(self) -> Connect:
        if self.state is not ClientState.IDLE:
            raise RuntimeError(f"handshake already started (state: {self.state.value})")
        self.state = ClientState.AWAITING_CONFIRM
        return Connect(protocol=self.protocol, client=self.client_name, token=self._token)

    def receive(self, message: Message) -> Confirm:
        if self.state is not ClientState.AWAITING_CONFIRM:
            raise RuntimeError(f"no handshake answer expected (state: {self.state.value})")
        if isinstance(message, Refuse):
            self.state = ClientState.REFUSED
            raise HandshakeRefused(message.reason)
        if not isinstance(message, Confirm):
            self.state = ClientState.FAILED
            raise ProtocolError(f"expected confirm or refuse, got {type(message).__name__.lower()}")
        if message.protocol != self.protocol:
            self.state = ClientState.FAILED
            raise ProtocolError(f"server confirmed protocol {message.protocol}, this client speaks {self.protocol}")
        self.state = ClientState.READY
        self.server = message
        return message


class ServerHandshake:
    def __init__(self, token: str, version: str, protocol: int = PROTOCOL_VERSION) -> None:
        self._token = token.encode()
        self.version = version
        self.protocol = protocol
        self.state = ServerState.AWAITING_CONNECT
        self.client: str | None = None
        self.refusal: str | None = None

    def receive(self, message: Message) -> Confirm | Refuse:
        """Answer the client's first message. The caller sends the answer; on Refuse it closes."""
        if self.state is not ServerState.AWAITING_CONNECT:
            raise RuntimeError(f"handshake already done (state: {self.state.value})")
        if not isinstance(message, Connect):
            return self._refuse("the first message must be a connect")
        if message.protocol != self.protocol:
            return self._refuse(
                f"unsupported protocol version {message.protocol} (this gateway speaks {self.protocol})"
            )
        if not hmac.compare_digest(message.token.encode(), self._token):
            return self._refuse("wrong token")
        self.state = ServerState.READY
        self.client = message.client
        return Confirm(protocol=self.protocol, server=SERVER_NAME, version=self.version)

    def _refuse(self, reason: str) -> Refuse:
        self.state = ServerState.CLOSED
        self.refusal = reason
        return Refuse(reason=reason)
