"""The external ids of creates whose work has not ended yet, per mailbox.

A create abandoned at its deadline may still reach Exchange. Until its work has ended, the
external ids it carries are "in flight": a lookup of one of them answers `busy` (the caller asks
again later instead of concluding that the item was never made), and a create of one of them is
not sent again (that item answers `busy`).
"""

from __future__ import annotations

import collections
import threading
from typing import Callable, Iterable


class InFlight:
    def __init__(self) -> None:
        self._ids: dict[str, collections.Counter[str]] = {}
        self._lock = threading.Lock()

    def begin(self, mailbox: str, external_ids: Iterable[str]) -> Callable[[], None]:
        """Mark them in flight; returns the call that ends that (once, from any thread)."""
        ids = list(external_ids)
        with self._lock:
            self._ids.setdefault(mailbox, collections.Counter()).update(ids)
        ended = False

        def end() -> None:
            nonlocal ended
            with self._lock:
                if ended:
                    return
                ended = True
                counter = self._ids[mailbox]
                counter.subtract(ids)
                for external_id in ids:
                    if counter[external_id] <= 0:
                        del counter[external_id]

        return end

    def has(self, mailbox: str, external_id: str) -> bool:
        with self._lock:
            return self._ids.get(mailbox, collections.Counter())[external_id] > 0
