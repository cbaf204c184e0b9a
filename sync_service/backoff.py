"""When to try the gateway again: exponential back-off with jitter, as a pure object.

After a connection ends (or an attempt fails) the next attempt comes at once the first time, then
after 1 s, 2 s, 4 s … up to 60 s. Jitter only shortens a delay (by up to a quarter), so that many
clients do not retry in step while the worst case stays known: a gateway that was down for under
10 s is tried again at most 5 s after it is back. A connection that stayed up for a healthy minute
resets the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class BackoffPolicy:
    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0
    jitter: float = 0.25
    healthy_after: float = 60.0


class ReconnectBackoff:
    def __init__(self, policy: BackoffPolicy = BackoffPolicy(), random: Callable[[], float] = lambda: 1.0) -> None:
        """`random` returns a float in [0, 1); inject `random.Random(seed).random` or a fake."""
        self.policy = policy
        self._random = random
        self.failures = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call counts one more failure."""
        failures = self.failures
        self.failures += 1
        if failures == 0:
            return 0.0
        policy = self.policy
        base = min(policy.maximum, policy.initial * policy.factor ** (failures - 1))
        return base * (1.0 - policy.jitter * self._random())

    def connection_ended(self, lasted: float) -> None:
        """A confirmed connection ended after `lasted` seconds."""
        if lasted >= self.policy.healthy_after:
            self.reset()

    def reset(self) -> None:
        self.failures = 0
