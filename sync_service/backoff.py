"""When to try the gateway again: exponential back-off with jitter, as a pure object.

After a healthy connection ends the next attempt comes at once (the link does that); after each
failed attempt the delays double from 1 s up to 60 s, but a delay is never longer than half of how long the trouble
has lasted so far (and never shorter than 1 s). So a gateway that was down for under 10 s is tried
again well within 5 s of being back, while a gateway down for hours is asked once a minute. Jitter
only shortens a delay (by up to a quarter), so that clients do not retry in step and the bounds
above hold. A connection that stayed up for a healthy minute ends the trouble and resets it all;
a gateway that keeps dropping connections sooner keeps the delays growing.
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
    outage_fraction: float = 0.5
    healthy_after: float = 60.0


class ReconnectBackoff:
    def __init__(self, policy: BackoffPolicy = BackoffPolicy(), random: Callable[[], float] = lambda: 0.0) -> None:
        """`random` returns a float in [0, 1); inject `random.Random(seed).random` or a fake."""
        self.policy = policy
        self._random = random
        self.failures = 0
        self.trouble_since: float | None = None

    def next_delay(self, now: float) -> float:
        """Seconds to wait after a failure before the next attempt, `now` being the current time."""
        if self.trouble_since is None:
            self.trouble_since = now
        self.failures += 1
        policy = self.policy
        doubled = policy.initial * policy.factor ** min(self.failures - 1, 64)
        share_of_outage = max(policy.initial, (now - self.trouble_since) * policy.outage_fraction)
        base = min(policy.maximum, doubled, share_of_outage)
        return base * (1.0 - policy.jitter * self._random())

    def connection_ended(self, lasted: float) -> bool:
        """A confirmed connection ended after `lasted` seconds. Returns whether it was healthy
        (then the trouble is over and the next attempt may come at once)."""
        healthy = lasted >= self.policy.healthy_after
        if healthy:
            self.reset()
        return healthy

    def reset(self) -> None:
        self.failures = 0
        self.trouble_since = None
