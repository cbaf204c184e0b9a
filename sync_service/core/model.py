"""What the decision is made from: each side's version of an item, the link between the two
sides as last agreed, and the subscription's options. Frozen values, no I/O."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any, Callable


class Side(enum.Enum):
    PCCADDIE = "pccaddie"
    EXCHANGE = "exchange"

    @property
    def other(self) -> "Side":
        return Side.EXCHANGE if self is Side.PCCADDIE else Side.PCCADDIE


class Policy(enum.Enum):
    """Who wins when both sides changed the same item differently."""

    PCCADDIE_WINS = "pccaddie-wins"
    EXCHANGE_WINS = "exchange-wins"
    NEWEST_WINS = "newest-wins"


@dataclass(frozen=True)
class Version:
    """One side's current version of an item. `content` is what gets written to the other side;
    `digest` identifies the synced fields (equal digests: the same item as far as sync goes)."""

    key: str  # the local id or the Exchange id
    content: Any
    digest: str
    title: str = ""
    private: bool = False
    recurring: bool = False  # a series' master (or an older gateway's series item): not synced itself
    start: dt.datetime | None = None  # UTC, for the sync window
    modified: dt.datetime | None = None  # UTC, for newest-wins
    change_key: str | None = None  # Exchange's, for the Exchange side
    series: tuple[str, str] | None = None  # an occurrence's (series id, original start): its link's key


class Unchanged(enum.Enum):
    """The side reported nothing about the item: it is as last agreed."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED
DELETED = None  # the side reported the item deleted (or it no longer exists there)
Observed = Version | Unchanged | None


@dataclass(frozen=True)
class Link:
    """An item known on both sides, as last agreed."""

    id: int
    local_key: str | None
    remote_key: str | None  # None: the Exchange copy is gone and not to be recreated yet (read only)
    digest: str  # of the synced fields as last agreed (both sides had this)
    origin: Side  # the side the item was first made on; the engine made it on the other
    change_key: str | None = None
    stopped: bool = False
    resent: bool = False  # its create was sent more than once (an answer was lost): a twin may exist
    created_as: tuple[str, ...] = ()  # the digests its creates sent (a twin holds one of them)
    series_id: str | None = None  # an occurrence's: its series (a series' deletion counts once)


@dataclass(frozen=True)
class Observation:
    """What is known of one item this cycle. `copy_of`: an Exchange item not linked yet that
    carries the external id of `copy_of`'s item: our own twin, or a copy a user made in Outlook
    (Outlook copies extended properties)."""

    link: Link | None
    local: Observed = UNCHANGED
    remote: Observed = UNCHANGED
    copy_of: Link | None = None


@dataclass(frozen=True)
class Options:
    read_only: bool = False
    hide_private: bool = False
    policy: Policy = Policy.PCCADDIE_WINS
    excluded: Callable[[str], bool] = field(default=lambda title: False, compare=False)
    window: tuple[dt.datetime, dt.datetime] | None = None  # UTC; new items outside it are left alone
    mass_delete_threshold: int = 20
