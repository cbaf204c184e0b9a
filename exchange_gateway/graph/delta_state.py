"""The sync state of a Graph delta feed, and whether a change it reports is a create or an update.

Graph's delta says only that an item changed since the token's snapshot, not whether it was made
since. The state therefore carries, besides Graph's token, the second (the server's Date) at which
the round that made the token began, and the items it already knew that were made within
`SLACK` seconds of it (only those can be ambiguous, Graph's createdDateTime having whole seconds):
an item made later than that is a create, one made earlier an update, and one made within that
second a create unless the state knew it. The state crosses the wire as one opaque string.

What must be kept of the recent items, and no more (a burst of creates just before a round would
otherwise put every one of them into the state): a round's changes are fixed when it starts, so
every item it reports existed at its snapshot, and so did every item made in an earlier second than
the latest one it saw made (M). `through` = M - 1 says that at once for all of them: only the ids
made in the second M are kept. Should there be more than MAX_RECENT of those, `through` becomes M
itself and none is kept: the only item then told wrongly is one made in that very second after the
snapshot (told as an update, not a create); no change is lost either way.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace

from ..errors import SYNC_STATE_INVALID, GatewayError

PREFIX = "graph1."
SLACK = 1  # seconds between the round's snapshot and its Date header, at most
SKIP, DELTA = "skip", "delta"
MAX_RECENT = 100  # ids of recent items a state keeps, at most (~75 bytes each on the wire)
MAX_SERIES_KNOWN = 200  # series masters a state keeps with their change keys, at most (~200 bytes each)


@dataclass(frozen=True)
class Known:
    """What a finished round knew: its start second, the recent items it knew (id → made at), and
    `through`: every item made at or before that second existed at its snapshot (None: not known)."""

    second: int
    recent: tuple[tuple[str, int], ...] = ()
    through: int | None = None

    def is_new(self, item_id: str, created: int) -> bool:
        if created > self.second:
            return True
        if created < self.second - SLACK or (self.through is not None and created <= self.through):
            return False
        return item_id not in dict(self.recent)


@dataclass(frozen=True)
class DeltaState:
    """`mode` skip (a page of a round follows) or delta (the round is done); `base` what the round
    started from knew (None: a first round, everything is new); `round` what this round knows so far;
    `series` the series masters the feed has told (id, change key): calendarView's delta reports a
    deleted occurrence (or every occurrence of a deleted series) by the occurrence's id alone, so
    a round with removals asks these masters whether they changed (MAX_SERIES_KNOWN, the latest)."""

    mode: str
    token: str
    round: Known
    base: Known | None = None
    series: tuple[tuple[str, str], ...] = ()

    def with_series(self, series: dict[str, str]) -> DeltaState:
        kept = list(series.items())[-MAX_SERIES_KNOWN:]
        return replace(self, series=tuple(kept))

    def knowing(self, seen: dict[str, int], removed: set[str]) -> Known:
        """This round's knowledge after a page: the items seen made recently, those removed dropped,
        and only the ids `through` does not already cover (at most MAX_RECENT)."""
        floor = self.round.second - SLACK
        recent = dict(self.round.recent)
        recent.update({i: c for i, c in seen.items() if c >= floor})
        carried = dict(self.base.recent) if self.base is not None else {}
        recent.update({i: c for i, c in carried.items() if c >= floor and i not in recent})
        # every item seen, carried or covered before existed at this round's snapshot
        bounds = [c - 1 for c in [*seen.values(), *recent.values()]]
        bounds += [k.through for k in (self.round, self.base) if k is not None and k.through is not None]
        through = min(max(bounds), self.round.second) if bounds else None
        kept = {i: c for i, c in recent.items() if i not in removed and (through is None or c > through)}
        if len(kept) > MAX_RECENT:
            through, kept = max(kept.values()), {}
        return Known(self.round.second, tuple(sorted(kept.items())), through)

    def to_text(self) -> str:
        data: dict[str, object] = {
            "m": self.mode,
            "t": self.token,
            "r": _known(self.round),
            "b": _known(self.base) if self.base else None,
        }
        if self.series:
            data["s"] = [list(pair) for pair in self.series]
        return PREFIX + base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()

    @classmethod
    def from_text(cls, text: str) -> DeltaState:
        try:
            if not text.startswith(PREFIX):
                raise ValueError("not ours")
            data = json.loads(base64.urlsafe_b64decode(text[len(PREFIX) :].encode()))
            mode, token = data["m"], data["t"]
            if mode not in (SKIP, DELTA) or not isinstance(token, str) or not token:
                raise ValueError("no token")
            base = _read_known(data["b"]) if data.get("b") is not None else None
            series = tuple((str(i), str(k)) for i, k in data.get("s") or ())
            return cls(mode, token, _read_known(data["r"]), base, series)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GatewayError(
                SYNC_STATE_INVALID, f"the sync state is not one of Microsoft Graph's feeds ({exc}): read afresh"
            ) from None

    def next_round(self, second: int) -> DeltaState:
        """The first page of the round that starts from this finished one (at the server's `second`)."""
        return replace(self, mode=SKIP, base=self.round, round=Known(second))


def _known(known: Known) -> list[object]:
    data: list[object] = [known.second, [list(pair) for pair in known.recent]]
    return data if known.through is None else [*data, known.through]


def _read_known(data: object) -> Known:
    """[second, recent] (as states were before `through`) or [second, recent, through]."""
    if not isinstance(data, list) or len(data) not in (2, 3) or not isinstance(data[0], int):
        raise ValueError("malformed")
    recent = tuple((str(i), int(c)) for i, c in data[1])
    through = data[2] if len(data) == 3 else None
    if through is not None and not isinstance(through, int):
        raise ValueError("malformed")
    return Known(data[0], recent, through)
