"""Worker threads for one call's blocking work (a backend whose library blocks: exchangelib).

Each thread takes a slot of the operations' overall limiter and keeps it until it has really
ended: a call abandoned at its deadline answers `timeout` at once, and its thread, which the
library's own HTTP timeout bounds, finishes unseen. What the work raises is turned into a stable
code in the thread itself (`failure`), so that even an abandoned thread's auth failure drops the
account it cached.

`done` is called once, from whichever thread gets there last, when the call is over (`finish`)
and every thread it started has ended: until then the external ids the call creates are in
flight. A thread that never started (the call was cancelled while it waited for a slot) holds
nothing back.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar, cast

import trio

from .errors import GatewayError

T = TypeVar("T")


class _Slot:
    """The overall limiter, for one thread, noting whether the slot was taken (and so whether
    trio started the thread, or will)."""

    def __init__(self, limiter: trio.CapacityLimiter) -> None:
        self.limiter = limiter
        self.taken = False

    async def acquire_on_behalf_of(self, borrower: object) -> None:
        await self.limiter.acquire_on_behalf_of(borrower)
        self.taken = True

    def release_on_behalf_of(self, borrower: object) -> None:
        self.limiter.release_on_behalf_of(borrower)


class Threads:
    def __init__(
        self,
        limiter: trio.CapacityLimiter,
        failure: Callable[[Exception], GatewayError],
        done: Callable[[], None] = lambda: None,
    ) -> None:
        self._limiter = limiter
        self._failure = failure
        self._done = done
        self._lock = threading.Lock()
        self._running = 0
        self._finished = False
        self._ended = False

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` in a worker thread; its failure raised as a GatewayError."""

        def call() -> T:
            try:
                return work()
            except Exception as exc:  # every failure leaves as a stable code
                raise self._failure(exc) from None
            finally:
                self._leave()  # even when the caller stopped waiting long ago

        slot = _Slot(self._limiter)
        with self._lock:
            self._running += 1
        try:
            return await trio.to_thread.run_sync(
                call, limiter=cast(Any, slot), abandon_on_cancel=True
            )  # trio takes any CapacityLimiter-like object
        except BaseException:
            if not slot.taken:  # cancelled before it had a slot: the thread never starts
                self._leave()
            raise

    def finish(self) -> None:
        """The call is over (answered, failed or abandoned)."""
        with self._lock:
            self._finished = True
            last = self._running == 0 and not self._ended
            self._ended = self._ended or last
        if last:
            self._done()

    def _leave(self) -> None:
        with self._lock:
            self._running -= 1
            last = self._finished and self._running == 0 and not self._ended
            self._ended = self._ended or last
        if last:
            self._done()
