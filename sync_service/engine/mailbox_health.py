"""One login at a time for a mailbox not known to be good (issue 13, defect 7).

A wrong password must cost one failed login, not one per calendar per cycle: Windows locks an
account after a handful. So in each cycle a user's subscriptions (calendars and contacts) pass a
gate: the first goes alone, the probe; when Exchange accepted it (or never got to judge the
login) the others follow, at once; when Exchange refused the login, the mailbox is blocked (and
recorded, see store/mailbox_blocks.py) and the others are skipped; when the probe made no call
at all (paused, no account), the next one probes. A mailbox blocked in the database is skipped
outright.

`verdict` is the pure decision; `MailboxGate` carries it out with trio, for one cycle.
"""

from __future__ import annotations

import enum
from typing import Iterable

import trio

from .calendar_sync import SubscriptionOutcome

AUTH_FAILED = "auth_failed"


class Verdict(enum.Enum):
    OPEN = "open"  # the login was accepted, or the server was not reached: the others may go
    BLOCKED = "blocked"  # Exchange refused the login: leave the mailbox alone
    UNDECIDED = "undecided"  # no call was made: the next subscription probes


def auth_refusal(outcome: SubscriptionOutcome) -> str | None:
    """The refusal's message when the subscription's cycle ended in `auth_failed`, else None
    (the engine words a mailbox's trouble as `CODE: message`)."""
    prefix = f"{AUTH_FAILED}: "
    if outcome.error is not None and outcome.error.startswith(prefix):
        return outcome.error[len(prefix) :]
    return None


def verdict(outcome: SubscriptionOutcome) -> Verdict:
    if auth_refusal(outcome) is not None:
        return Verdict.BLOCKED
    if outcome.mailbox is None:  # the subscription did not get as far as its mailbox
        return Verdict.UNDECIDED
    return Verdict.OPEN


class Pass:
    """What `MailboxGate.enter` gives: whether to go, and whether this one is the probe."""

    def __init__(self, user_id: int, go: bool, probe: bool) -> None:
        self.user_id, self.go, self.probe = user_id, go, probe


class MailboxGate:
    """One cycle's gate for every user's mailbox; `blocked`: users whose mailbox is left alone."""

    def __init__(self, blocked: Iterable[int] = (), open_: Iterable[int] = ()) -> None:
        self._state: dict[int, Verdict] = {user: Verdict.BLOCKED for user in blocked}
        self._state.update({user: Verdict.OPEN for user in open_ if user not in self._state})
        self._probing: dict[int, trio.Event] = {}

    def state(self, user_id: int) -> Verdict:
        return self._state.get(user_id, Verdict.UNDECIDED)

    def set(self, user_id: int, state: Verdict) -> None:
        """A verdict learnt elsewhere (e.g. the prefetch of the calendars' changes)."""
        if self._state.get(user_id) is not Verdict.BLOCKED:
            self._state[user_id] = state

    async def enter(self, user_id: int) -> Pass:
        while True:
            state = self.state(user_id)
            if state is Verdict.BLOCKED:
                return Pass(user_id, go=False, probe=False)
            if state is Verdict.OPEN:
                return Pass(user_id, go=True, probe=False)
            probing = self._probing.get(user_id)
            if probing is None:
                self._probing[user_id] = trio.Event()
                return Pass(user_id, go=True, probe=True)
            await probing.wait()

    def leave(self, ticket: Pass, outcome: Verdict) -> None:
        """After the subscription's cycle: its verdict decides the others' (a failed cycle, say a
        database error, is UNDECIDED: the next one probes)."""
        if outcome is Verdict.BLOCKED or (ticket.probe and outcome is Verdict.OPEN):
            self.set(ticket.user_id, outcome)
        if ticket.probe:
            self._probing.pop(ticket.user_id).set()
