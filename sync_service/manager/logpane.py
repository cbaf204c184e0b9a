"""The log below the overview: the last lines of the selected service's log, then its new lines as
they come, across rotations (service_runtime.logview's `tail` and `follow`, in a thread of its own,
so that the window never waits on a file)."""

from __future__ import annotations

import threading
from typing import Callable

from service_runtime.home import Home
from service_runtime.logview import follow, tail_at

TAIL_LINES = 200


class LogFollower:
    """Follows one service's log until `stop()`; `deliver(lines)` is called with the last lines
    first, then with each new line (from the follower's thread)."""

    def __init__(self, home: Home, service: str, deliver: Callable[[list[str]], None], *, poll: float = 0.25) -> None:
        self.home = home
        self.service = service
        self.deliver = deliver
        self.poll = poll
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"log of {service}", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def _pause(self, seconds: float) -> None:
        self._stopped.wait(seconds)  # ends at once on stop()

    def _run(self) -> None:
        path = self.home.log_file(self.service)
        last = tail_at(path, TAIL_LINES)
        lines = follow(  # from where the last lines end: a line written meanwhile is not missed
            path,
            self.home.logs_dir,
            self.service,
            poll=self.poll,
            running=lambda: not self._stopped.is_set(),
            sleep=self._pause,
            start=last.position,
        )
        try:
            self.deliver(last.lines)
            for line in lines:
                if self._stopped.is_set():
                    break
                self.deliver([line])
        except RuntimeError:  # the window closed while a line was on its way
            self._stopped.set()
