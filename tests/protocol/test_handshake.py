import pytest

from protocol.errors import ProtocolError
from protocol.handshake import (
    ClientHandshake,
    ClientState,
    HandshakeRefused,
    ServerHandshake,
    ServerState,
)
from protocol.messages import Confirm, Connect, Refuse, Request, Success


def test_client_happy_path():
    client = ClientHandshake("sync-service", "tok")
    assert client.state is ClientState.IDLE
    assert client.start() == Connect(1, "sync-service", "tok")
    assert client.state is ClientState.AWAITING_CONFIRM
    confirm = Confirm(1, "exchange-gateway", "0.1.0")
    assert client.receive(confirm) == confirm
    assert client.state is ClientState.READY
    assert client.server == confirm


def test_client_refused():
    client = ClientHandshake("c", "tok")
    client.start()
    with pytest.raises(HandshakeRefused) as refused:
        client.receive(Refuse("wrong token"))
    assert refused.value.reason == "wrong token"
    assert client.state is ClientState.REFUSED


@pytest.mark.parametrize("answer", [Success(1, None), Request("ping", 1), Connect(1, "x", "y")])
def test_client_gets_something_else(answer):
    client = ClientHandshake("c", "tok")
    client.start()
    with pytest.raises(ProtocolError, match="expected confirm or refuse"):
        client.receive(answer)
    assert client.state is ClientState.FAILED


def test_client_gets_other_protocol_version():
    client = ClientHandshake("c", "tok")
    client.start()
    with pytest.raises(ProtocolError, match="protocol 2"):
        client.receive(Confirm(2, "exchange-gateway", "9"))
    assert client.state is ClientState.FAILED


def test_client_misuse():
    client = ClientHandshake("c", "tok")
    with pytest.raises(RuntimeError):
        client.receive(Confirm(1, "s", "v"))
    client.start()
    with pytest.raises(RuntimeError):
        client.start()


def test_server_accepts_right_token():
    server = ServerHandshake("tok", "0.1.0")
    answer = server.receive(Connect(1, "sync-service", "tok"))
    assert answer == Confirm(1, "exchange-gateway", "0.1.0")
    assert server.state is ServerState.READY
    assert server.client == "sync-service"


@pytest.mark.parametrize(
    "first, reason",
    [
        (Connect(1, "c", "wrong"), "wrong token"),
        (Connect(1, "c", ""), "wrong token"),
        (Connect(1, "c", "tok "), "wrong token"),
        (Connect(2, "c", "tok"), "unsupported protocol version 2"),
        (Request("ping", 1), "first message must be a connect"),
        (Success(1, None), "first message must be a connect"),
        (Refuse("x"), "first message must be a connect"),
    ],
)
def test_server_refuses(first, reason):
    server = ServerHandshake("tok", "0.1.0")
    answer = server.receive(first)
    assert isinstance(answer, Refuse)
    assert reason in answer.reason
    assert "tok" not in answer.reason.replace("token", "")
    assert server.state is ServerState.CLOSED


def test_server_misuse():
    server = ServerHandshake("tok", "v")
    server.receive(Connect(1, "c", "tok"))
    with pytest.raises(RuntimeError):
        server.receive(Connect(1, "c", "tok"))


def test_the_token_is_compared_in_constant_time(monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    ServerHandshake("tok", "v").receive(Connect(1, "c", "guess"))
    assert calls == [(b"guess", b"tok")]
