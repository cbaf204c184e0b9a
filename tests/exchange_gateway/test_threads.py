"""A call's worker threads: failures as stable codes, the overall slot held until a thread really
ends, and `done` once the call is over and every thread it started has ended."""

from __future__ import annotations

import threading

import pytest
import trio

from exchange_gateway.errors import SERVER_ERROR, GatewayError
from exchange_gateway.threads import Threads


def failure(exc: Exception) -> GatewayError:
    return GatewayError(SERVER_ERROR, f"mapped: {exc}")


class Done:
    def __init__(self) -> None:
        self.calls = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.event.set()


async def test_work_runs_in_a_thread_and_its_failure_is_mapped():
    done = Done()
    threads = Threads(trio.CapacityLimiter(1), failure, done)
    assert await threads.run(lambda: threading.current_thread() is not threading.main_thread())
    with pytest.raises(GatewayError, match="mapped: invalid literal") as failed:
        await threads.run(lambda: int("no"))
    assert failed.value.code == SERVER_ERROR
    assert done.calls == 0  # the call is not over yet
    threads.finish()
    assert done.calls == 1


async def test_an_abandoned_thread_keeps_its_slot_and_the_call_open_until_it_ends():
    limiter, done = trio.CapacityLimiter(1), Done()
    threads = Threads(limiter, failure, done)
    started, release = threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        release.wait()

    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(threads.run, work)
            await trio.to_thread.run_sync(started.wait)
            scope.cancel()  # the deadline: the caller stops waiting
    threads.finish()
    assert done.calls == 0 and limiter.borrowed_tokens == 1  # the thread still runs, in its slot
    release.set()
    await trio.to_thread.run_sync(done.event.wait)
    assert done.calls == 1
    while limiter.borrowed_tokens:  # trio gives the slot back on the loop, once the thread has ended
        await trio.sleep(0)


async def test_a_thread_that_never_had_a_slot_holds_nothing_back():
    limiter, done = trio.CapacityLimiter(1), Done()
    await limiter.acquire_on_behalf_of("another call")
    threads = Threads(limiter, failure, done)
    ran = []
    with trio.move_on_after(0):  # cancelled while it waits for the slot
        await threads.run(lambda: ran.append(True))
    threads.finish()
    assert done.calls == 1 and ran == []
    limiter.release_on_behalf_of("another call")
