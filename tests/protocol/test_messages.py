import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.framing import FrameDecoder, encode_frame
from protocol.messages import (
    Confirm,
    Connect,
    ErrorDetail,
    Failure,
    Refuse,
    Request,
    Success,
    message_from_wire,
)

ids = st.integers(0, 2**63 - 1)
results = st.none() | st.integers(-1000, 1000) | st.text() | st.lists(st.integers(-(2**63), 2**64 - 1), max_size=3)
messages = st.one_of(
    st.builds(Connect, protocol=st.integers(0, 5), client=st.text(), token=st.text()),
    st.builds(Confirm, protocol=st.integers(0, 5), server=st.text(), version=st.text()),
    st.builds(Refuse, reason=st.text()),
    st.builds(
        Request,
        op=st.text(min_size=1).filter(lambda op: op not in {"connect", "confirm", "refuse", "reply"}),
        id=ids,
        args=st.dictionaries(st.text(max_size=5), results, max_size=3),
    ),
    st.builds(Success, id=ids, result=results),
    st.builds(Failure, id=ids, error=st.builds(ErrorDetail, code=st.text(), message=st.text())),
)


@given(messages)
def test_every_message_survives_the_wire(message):
    decoder = FrameDecoder()
    decoder.feed(encode_frame(message.to_wire()))
    assert message_from_wire(decoder.next_frame()) == message


def test_contract_shapes():
    assert Connect(1, "sync", "t").to_wire() == {"op": "connect", "protocol": 1, "client": "sync", "token": "t"}
    assert Confirm(1, "exchange-gateway", "0.1").to_wire() == {
        "op": "confirm",
        "protocol": 1,
        "server": "exchange-gateway",
        "version": "0.1",
    }
    assert Refuse("wrong token").to_wire() == {"op": "refuse", "reason": "wrong token"}
    assert Request("ping", 7).to_wire() == {"op": "ping", "id": 7, "args": {}}
    assert Success(7, "pong").to_wire() == {"op": "reply", "id": 7, "ok": True, "result": "pong"}
    assert Failure(7, ErrorDetail("unknown-op", "no")).to_wire() == {
        "op": "reply",
        "id": 7,
        "ok": False,
        "error": {"code": "unknown-op", "message": "no"},
    }


def test_token_is_not_in_the_repr():
    assert "s3cret" not in repr(Connect(1, "sync", "s3cret"))


def test_request_without_args_has_empty_args():
    assert message_from_wire({"op": "ping", "id": 1}) == Request("ping", 1, {})


def test_unknown_keys_are_ignored():
    assert message_from_wire({"op": "refuse", "reason": "x", "later": 1}) == Refuse("x")


@pytest.mark.parametrize(
    "wire, complaint",
    [
        ({}, "lacks the field 'op'"),
        ({"op": 5}, "wrong type"),
        ({"op": ""}, "empty"),
        ({"op": "connect", "protocol": 1, "client": "x"}, "'token'"),
        ({"op": "connect", "protocol": "1", "client": "x", "token": "t"}, "'protocol'"),
        ({"op": "connect", "protocol": True, "client": "x", "token": "t"}, "'protocol'"),
        ({"op": "confirm", "protocol": 1, "server": "x"}, "'version'"),
        ({"op": "refuse"}, "'reason'"),
        ({"op": "ping"}, "'id'"),
        ({"op": "ping", "id": "1"}, "'id'"),
        ({"op": "ping", "id": True}, "'id'"),
        ({"op": "ping", "id": -1}, "out of range"),
        ({"op": "ping", "id": 1, "args": [1]}, "'args'"),
        ({"op": "reply", "id": 1}, "'ok'"),
        ({"op": "reply", "id": 1, "ok": 1}, "'ok'"),
        ({"op": "reply", "id": 1, "ok": False}, "'error'"),
        ({"op": "reply", "id": 1, "ok": False, "error": {"code": "x"}}, "'message'"),
    ],
)
def test_malformed_messages_name_their_fault(wire, complaint):
    with pytest.raises(ProtocolError, match=complaint):
        message_from_wire(wire)


@given(
    st.dictionaries(
        st.sampled_from(
            ["op", "id", "args", "ok", "error", "result", "protocol", "client", "token", "server", "version", "reason"]
        ),
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=5)
        | st.lists(st.integers(), max_size=2)
        | st.dictionaries(st.sampled_from(["code", "message"]), st.text(max_size=3) | st.integers()),
    )
)
def test_arbitrary_maps_give_a_message_or_a_protocol_error(wire):
    try:
        message_from_wire(wire)
    except ProtocolError as exc:
        assert exc.reason
