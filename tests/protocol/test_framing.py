import dataclasses
import struct

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.framing import DEFAULT_MAX_FRAME_SIZE, DecodeLimits, FrameDecoder, decode_body, encode_frame

scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text() | st.binary()
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
maps = st.dictionaries(st.text(max_size=10), values, max_size=6)


def decode_all(decoder: FrameDecoder, chunks) -> list:
    frames = []
    for chunk in chunks:
        decoder.feed(chunk)
        while (frame := decoder.next_frame()) is not None:
            frames.append(frame)
    return frames


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points + [len(data)]:
        pieces.append(data[last:point])
        last = point
    return pieces


@given(st.lists(maps, min_size=1, max_size=5))
def test_round_trip_in_one_chunk(messages):
    stream = b"".join(encode_frame(m) for m in messages)
    assert decode_all(FrameDecoder(), [stream]) == messages


@given(st.lists(maps, min_size=1, max_size=5), st.lists(st.integers(0, 10**6), max_size=30))
def test_round_trip_whatever_the_chunking(messages, cuts):
    stream = b"".join(encode_frame(m) for m in messages)
    decoder = FrameDecoder()
    assert decode_all(decoder, split(stream, cuts)) == messages
    decoder.end_of_stream()  # nothing pending


@given(st.lists(maps, min_size=1, max_size=3))
def test_round_trip_one_byte_at_a_time(messages):
    stream = b"".join(encode_frame(m) for m in messages)
    assert decode_all(FrameDecoder(), [stream[i : i + 1] for i in range(len(stream))]) == messages


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=10))
def test_random_bytes_only_ever_raise_protocol_error(data, cuts):
    decoder = FrameDecoder(max_frame_size=256)
    try:
        decode_all(decoder, split(data, cuts))
        decoder.end_of_stream()
    except ProtocolError as exc:
        assert exc.reason


@given(maps, st.integers(0, 200), st.binary(min_size=1, max_size=8))
def test_mutated_frames_only_ever_raise_protocol_error(message, position, garbage):
    frame = bytearray(encode_frame(message))
    position %= len(frame)
    frame[position : position + len(garbage)] = garbage
    decoder = FrameDecoder(max_frame_size=4096)
    try:
        decode_all(decoder, [bytes(frame)])
        decoder.end_of_stream()
    except ProtocolError as exc:
        assert exc.reason


def test_oversized_length_is_refused_before_the_body_arrives():
    decoder = FrameDecoder(max_frame_size=1024)
    decoder.feed(struct.pack(">I", 1025))
    with pytest.raises(ProtocolError, match="exceeds the maximum"):
        decoder.next_frame()


def test_huge_length_prefix_buffers_nothing():
    decoder = FrameDecoder()
    decoder.feed(b"\xff\xff\xff\xff" + b"x" * 100)
    with pytest.raises(ProtocolError):
        decoder.next_frame()
    assert decoder.buffered == 0


def test_frame_of_exactly_the_maximum_is_accepted():
    body = msgpack.packb({"k": "x" * 100})
    decoder = FrameDecoder(max_frame_size=len(body))
    decoder.feed(struct.pack(">I", len(body)) + body)
    assert decoder.next_frame() == {"k": "x" * 100}


def test_zero_length_frame_is_an_error():
    decoder = FrameDecoder()
    decoder.feed(b"\x00\x00\x00\x00")
    with pytest.raises(ProtocolError, match="length 0"):
        decoder.next_frame()


@pytest.mark.parametrize("value", [[1, 2], "text", 5, None, b"bytes", 1.5, True])
def test_body_that_is_not_a_map_is_an_error(value):
    body = msgpack.packb(value)
    decoder = FrameDecoder()
    decoder.feed(struct.pack(">I", len(body)) + body)
    with pytest.raises(ProtocolError, match="must be a msgpack map"):
        decoder.next_frame()


def test_trailing_garbage_inside_a_frame_is_an_error():
    body = msgpack.packb({"op": "ping"}) + b"\xc0"
    with pytest.raises(ProtocolError, match="trailing bytes"):
        decode_body(body)


def test_non_string_keys_are_an_error():
    with pytest.raises(ProtocolError):
        decode_body(msgpack.packb({1: "x"}))


def test_extension_types_are_an_error():
    with pytest.raises(ProtocolError):
        decode_body(msgpack.packb({"x": msgpack.ExtType(5, b"abc")}))


def test_deeply_nested_body_is_an_error_not_a_crash():
    body = b"\x81\xa1k" * 5000 + b"\xc0"  # {"k": {"k": ... nil}}
    with pytest.raises(ProtocolError):
        decode_body(body)


def test_errors_are_sticky():
    decoder = FrameDecoder()
    decoder.feed(b"\x00\x00\x00\x00")
    with pytest.raises(ProtocolError) as first:
        decoder.next_frame()
    with pytest.raises(ProtocolError) as again:
        decoder.feed(encode_frame({"op": "ping"}))
    assert again.value is first.value


def test_end_of_stream_mid_frame_is_an_error():
    frame = encode_frame({"op": "ping"})
    decoder = FrameDecoder()
    decoder.feed(frame[:-1])
    assert decoder.next_frame() is None
    with pytest.raises(ProtocolError, match="middle of a frame"):
        decoder.end_of_stream()


def test_encode_refuses_oversized_and_unencodable():
    with pytest.raises(ProtocolError, match="exceeds"):
        encode_frame({"x": "y" * 100}, max_frame_size=50)
    with pytest.raises(ProtocolError, match="cannot be encoded"):
        encode_frame({"x": object()})
    with pytest.raises(ProtocolError, match="must hold a map"):
        encode_frame([1, 2])  # type: ignore[arg-type]


def test_many_small_frames_in_one_big_chunk():
    messages = [{"op": "ping", "id": i} for i in range(20000)]
    stream = b"".join(encode_frame(m) for m in messages)
    assert decode_all(FrameDecoder(), [stream]) == messages


# -- the first frame's limit (issue 13, defect 9): before the token is checked, a few KiB ------


def test_a_first_frame_over_its_limit_is_refused_at_its_header():
    decoder = FrameDecoder(max_frame_size=DEFAULT_MAX_FRAME_SIZE, first_frame_limit=4096)
    decoder.feed(struct.pack(">I", 4097))  # no body follows: nothing is waited for, nothing buffered
    with pytest.raises(ProtocolError, match="first frame length 4097 exceeds the maximum of 4096 bytes"):
        decoder.next_frame()
    assert decoder.buffered == 0


def test_after_the_first_frame_the_full_maximum_applies():
    decoder = FrameDecoder(max_frame_size=DEFAULT_MAX_FRAME_SIZE, first_frame_limit=64)
    big = {"op": "x", "blob": b"b" * 100_000}
    decoder.feed(encode_frame({"op": "connect"}) + encode_frame(big))
    assert decoder.next_frame() == {"op": "connect"}
    assert decoder.next_frame() == big


def test_the_first_frame_limit_cannot_exceed_the_maximum():
    with pytest.raises(ValueError, match="first_frame_limit"):
        FrameDecoder(max_frame_size=1000, first_frame_limit=1001)


@given(maps, st.integers(1, 600), st.lists(maps, max_size=3), st.lists(st.integers(0, 10**6), max_size=20))
def test_first_frame_limit_decides_by_the_first_length_only(first, limit, later, cuts):
    frames = [encode_frame(first)] + [encode_frame(m) for m in later]
    decoder = FrameDecoder(first_frame_limit=limit)
    if len(frames[0]) - 4 <= limit:
        assert decode_all(decoder, split(b"".join(frames), cuts)) == [first, *later]
    else:
        with pytest.raises(ProtocolError, match="first frame"):
            decode_all(decoder, split(b"".join(frames), cuts))


# -- msgpack's length limits on every decode, sized from the frame's length ---------------------


@given(st.integers(1, DEFAULT_MAX_FRAME_SIZE))
def test_limits_follow_from_the_frame_length(length):
    limits = DecodeLimits.for_body(length)
    # an element takes at least one byte, a map entry two; our wire has no extension types
    assert limits.max_str_len == limits.max_bin_len == limits.max_array_len == length
    assert limits.max_map_len == length // 2
    assert limits.max_ext_len == 0


@pytest.mark.parametrize(
    "value, limit",
    [
        ({"k": "x" * 10}, {"max_str_len": 9}),
        ({"k": b"x" * 10}, {"max_bin_len": 9}),
        ({"k": [1] * 10}, {"max_array_len": 9}),
        ({"k": {str(i): i for i in range(10)}}, {"max_map_len": 9}),
    ],
)
def test_decode_honours_each_length_limit(value, limit):
    body = msgpack.packb(value, use_bin_type=True)
    generous = DecodeLimits.for_body(len(body))
    assert decode_body(body, generous) == value
    with pytest.raises(ProtocolError, match="exceeds max_"):
        decode_body(body, dataclasses.replace(generous, **limit))


@pytest.mark.parametrize(
    "header, reason",
    [
        (b"\xdd\xff\xff\xff\xff", "exceeds max_array_len"),  # an array of 2**32 - 1 elements
        (b"\xdf\xff\xff\xff\xff", "exceeds max_map_len"),  # a map of 2**32 - 1 entries
        (b"\xdb\xff\xff\xff\xff", "not valid msgpack"),  # a str of 4 GiB
        (b"\xc6\xff\xff\xff\xff", "not valid msgpack"),  # a bin of 4 GiB
    ],
)
def test_a_length_the_frame_cannot_hold_is_refused_before_anything_is_allocated(header, reason):
    body = b"\x81\xa1k" + header + b"\x00" * 16
    with pytest.raises(ProtocolError, match=reason):
        decode_body(body)


@given(maps)
def test_the_limits_never_refuse_a_message_the_encoder_made(message):
    frame = encode_frame(message)
    assert decode_body(frame[4:]) == message
