"""Run the cycle every `interval` seconds, one at a time, until asked to stop."""

from __future__ import annotations

from typing import Awaitable, Callable

import trio


class CycleScheduler:
    def __init__(self, cycle: Callable[[], Awaitable[object]], interval: float, min_gap: float = 1.0) -> None:
        self.cycle = cycle
        self.interval = interval
        self.min_gap = min_gap  # an early cycle comes at least this long after the last one began
        self._stop = trio.Event()
        self._early = trio.Event()

    def request_early(self) -> None:
        """Something changed: start the next cycle soon (never two at once, never more often than
        every `min_gap` seconds)."""
        self._early.set()

    def request_stop(self) -> None:
        """Stop after the running cycle, if any, or at once while waiting for the next."""
        self._stop.set()

    async def run(self) -> None:
        """A cycle at once, then one every `interval` seconds from the start of the last. A cycle
        that overruns delays the next rather than overlapping it; missed slots are not made up."""
        next_start = trio.current_time()
        while not self._stop.is_set():
            began = trio.current_time()
            self._early = trio.Event()  # a change before this cycle is carried by it
            await self.cycle()
            next_start += self.interval
            now = trio.current_time()
            if next_start < now:
                next_start = now
            with trio.move_on_at(next_start):
                async with trio.open_nursery() as waiting:

                    async def stopped() -> None:
                        await self._stop.wait()
                        waiting.cancel_scope.cancel()

                    async def early(began: float = began) -> None:
                        await self._early.wait()
                        await trio.sleep_until(began + self.min_gap)
                        waiting.cancel_scope.cancel()

                    waiting.start_soon(stopped)
                    waiting.start_soon(early)
            next_start = min(next_start, trio.current_time()) if self._early.is_set() else next_start
