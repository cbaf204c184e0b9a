"""Messages over an in-memory stream: the first frame's limit, and large frames decoded off the
event loop, in order (issue 13, defect 9)."""

import pytest
import trio
import trio.testing

from protocol.errors import ProtocolError
from protocol.framed_stream import FramedStream
from protocol.framing import encode_frame
from protocol.messages import Connect, Request

SMALL = Request("echo", 1, {"value": "x"})


def big(request_id: int, size: int = 200_000) -> Request:
    return Request("echo", request_id, {"value": b"b" * size})


async def test_a_first_frame_over_the_handshake_limit_ends_the_stream_before_its_body():
    left, right = trio.testing.memory_stream_pair()
    framed = FramedStream(right, first_frame_limit=4096)
    await left.send_all(b"\x00\x00\x10\x01")  # 4097 bytes announced, none sent
    with pytest.raises(ProtocolError, match="first frame length 4097 exceeds the maximum of 4096 bytes"):
        await framed.receive()


async def test_after_the_first_frame_large_frames_are_taken():
    left, right = trio.testing.memory_stream_pair()
    framed = FramedStream(right, first_frame_limit=4096)
    await left.send_all(encode_frame(Connect(1, "sync-service", "token").to_wire()) + encode_frame(big(2).to_wire()))
    assert await framed.receive() == Connect(1, "sync-service", "token")
    assert await framed.receive() == big(2)


async def test_a_large_frame_is_decoded_in_a_worker_thread_through_the_limiter():
    left, right = trio.testing.memory_stream_pair()
    limiter = trio.CapacityLimiter(1)
    framed = FramedStream(right, decode_limiter=limiter, off_loop_size=65536)
    await left.send_all(encode_frame(SMALL.to_wire()) + encode_frame(big(2).to_wire()))
    holder = object()
    await limiter.acquire_on_behalf_of(holder)  # no worker thread may start
    assert await framed.receive() == SMALL  # small: decoded right here, no limiter needed
    got = []

    async def receive_big():
        got.append(await framed.receive())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive_big)
        await trio.testing.wait_all_tasks_blocked()
        assert got == [] and limiter.statistics().tasks_waiting == 1  # waits for a thread of the limiter
        limiter.release_on_behalf_of(holder)
    assert got == [big(2)]


async def test_frames_decoded_off_the_loop_keep_their_order():
    left, right = trio.testing.memory_stream_pair()
    framed = FramedStream(right, decode_limiter=trio.CapacityLimiter(4), off_loop_size=1024)
    sent = [big(i, size=5000 * (i % 3)) for i in range(1, 13)]  # small and large mixed
    await left.send_all(b"".join(encode_frame(m.to_wire()) for m in sent))
    assert [await framed.receive() for _ in sent] == sent


async def test_a_bad_large_frame_is_a_protocol_error_and_sticks():
    left, right = trio.testing.memory_stream_pair()
    framed = FramedStream(right, off_loop_size=16)
    body = b"\x91" + b"\xc0" * 40  # an array, not a map, and trailing bytes
    await left.send_all(len(body).to_bytes(4, "big") + body + encode_frame(SMALL.to_wire()))
    with pytest.raises(ProtocolError, match="trailing bytes|must be a msgpack map"):
        await framed.receive()
    with pytest.raises(ProtocolError):
        await framed.receive()  # the stream is done for; nothing after the bad frame is taken
