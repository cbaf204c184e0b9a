"""The contact decision, as data (the calendars' is `decision_table.py`). Four tables:

- `NEW`: an entry of the user's list with no link: made in Exchange, adopted, or nothing yet;
- `LINKED`: a linked contact as a whole: merged group by group, taken off the list, deleted in
  Exchange, forgotten, or left until its create is done;
- `BASIS`: what one field group of a merged contact is compared against, by what is known of the
  values both sides last agreed on and which sides this cycle read;
- `FIELDS`: one field of a group (or, compared against a digest only, the whole group), by its
  field mode and the state of each side (a conflict: the policy decides, under `export` PC CADDIE).

`contact_decide.decide_contact` and `contact_merge.merge_group` look each case up here and carry
it out; `tests/sync_service/core/test_contact_decision_table.py` enumerates every row through
`decide_contact`; `docs/sync.md` shows `render_*()` of each table, and a test fails when the page
differs. What comes before the tables is in `decide_contact`: a stopped link is skipped; a group
whose mode is `no` (no rows here) is never touched; names always follow `sync`.
"""

from __future__ import annotations

import enum
import itertools
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

from .permissions import FieldMode

# -- an entry with no link -------------------------------------------------------------------------


class Source(enum.Enum):
    """What put the entry on the user's list."""

    PERSON = "a person"  # listed by hand or by auto sync
    EXCHANGE = "picked with +ADD"  # an Exchange contact


class Read(enum.Enum):
    """Which sides this cycle read (a person deleted counts as not read)."""

    BOTH = "both"
    PERSON = "PC CADDIE's only"
    CONTACT = "Exchange's only"
    NEITHER = "neither"


class NewOutcome(enum.Enum):
    """The value is the phrase docs/sync.md shows; `action` the decision's."""

    CREATE = "make it in Exchange"  # its names and exported groups
    ADOPT = "adopt it, both merged"  # as with no agreed values
    NOTHING = "—"

    @property
    def action(self) -> str:
        return {NewOutcome.CREATE: "create", NewOutcome.ADOPT: "adopt", NewOutcome.NOTHING: "none"}[self]


NewKey = tuple[Source, bool, Read]  # (source, on the list, which sides read)


_CR, _AD, _NO = NewOutcome.CREATE, NewOutcome.ADOPT, NewOutcome.NOTHING
_NEW_ROWS = {  # columns: Read's order (both, PC CADDIE's only, Exchange's only, neither)
    (Source.PERSON, True): (_CR, _CR, _NO, _NO),
    (Source.PERSON, False): (_NO, _NO, _NO, _NO),
    (Source.EXCHANGE, True): (_AD, _NO, _NO, _NO),  # the contact is what was picked: the list is not asked
    (Source.EXCHANGE, False): (_AD, _NO, _NO, _NO),
}
NEW: Mapping[NewKey, NewOutcome] = MappingProxyType(
    {(source, listed, r): row[i] for (source, listed), row in _NEW_ROWS.items() for i, r in enumerate(Read)}
)


# -- a linked contact as a whole ---------------------------------------------------------------------


class Listing(enum.Enum):
    LISTED = "on the list"
    OFF = "taken off the list"
    OFF_WITH_CONTACT = "taken off with its contact"  # contact remove --delete-in-exchange; auto sync, no booking


class Person(enum.Enum):
    THERE = "person there"
    DELETED = "person deleted"


class Owner(enum.Enum):
    """Whose the Exchange contact is."""

    SYNC = "the sync's"  # the sync made it (or an earlier link of the person did)
    USER = "the user's"  # picked with +ADD, or the user's own adopted
    OWED = "none yet"  # no Exchange id: its create is still owed


class Contact(enum.Enum):
    THERE = "there"
    DELETED = "deleted in Exchange"


class ItemOutcome(enum.Enum):
    MERGE = "merge its groups"
    UNLIST = "person off the list"
    DELETE_IN_EXCHANGE = "delete in Exchange"
    FORGET_LINK = "forget the link"  # the contact stays
    WAIT = "wait for its create"

    @property
    def action(self) -> str | None:
        """The decision's action (None for a merge: `update`, or `none` when it changes nothing)."""
        return {
            ItemOutcome.MERGE: None,
            ItemOutcome.UNLIST: "unlist",
            ItemOutcome.DELETE_IN_EXCHANGE: "delete-remote",
            ItemOutcome.FORGET_LINK: "unlink",
            ItemOutcome.WAIT: "skip",
        }[self]


LinkedKey = tuple[Listing, Person, Owner, Contact]


_COLUMNS = tuple(itertools.product(Owner, Contact))  # the sync's there, the sync's deleted, the user's ...
_ME, _UL, _DE, _FO, _WA = (
    ItemOutcome.MERGE,
    ItemOutcome.UNLIST,
    ItemOutcome.DELETE_IN_EXCHANGE,
    ItemOutcome.FORGET_LINK,
    ItemOutcome.WAIT,
)
_LINKED_ROWS = {  # a contact deleted in Exchange never deletes the person; with no Exchange id nothing is deleted
    (Listing.LISTED, Person.THERE): (_ME, _UL, _ME, _UL, _WA, _UL),
    (Listing.LISTED, Person.DELETED): (_DE, _DE, _FO, _FO, _FO, _FO),  # the sync's own contact goes with its person
    (Listing.OFF, Person.THERE): (_FO, _FO, _FO, _FO, _FO, _FO),
    (Listing.OFF, Person.DELETED): (_DE, _DE, _FO, _FO, _FO, _FO),
    (Listing.OFF_WITH_CONTACT, Person.THERE): (_DE, _DE, _DE, _DE, _FO, _FO),  # asked for
    (Listing.OFF_WITH_CONTACT, Person.DELETED): (_DE, _DE, _DE, _DE, _FO, _FO),
}
LINKED: Mapping[LinkedKey, ItemOutcome] = MappingProxyType(
    {
        (listing, person, *column): row[i]
        for (listing, person), row in _LINKED_ROWS.items()
        for i, column in enumerate(_COLUMNS)
    }
)


# -- a field group of a merged contact --------------------------------------------------------------


class Known(enum.Enum):
    """What is known of the values both sides last agreed on for the group."""

    VALUES = "values"  # recorded, or the side read whose values match the agreed digest
    DIGEST = "a digest only"  # a link from before values were recorded, no side read matching it
    NOTHING = "nothing"  # never agreed: picked with +ADD, a group that was `no` until now


class Basis(enum.Enum):
    AGREED = "against the agreed values"  # field by field; a side not read is as agreed
    DIGEST = "as one field against the digest"  # the side not read is as agreed
    MERGED = "both merged"  # field by field, with no agreed values
    LATER = "— (when read)"


BasisKey = tuple[Known, Read]


_BA, _BD, _BM, _BL = Basis.AGREED, Basis.DIGEST, Basis.MERGED, Basis.LATER
_BASIS_ROWS = {  # columns: Read's order (both, PC CADDIE's only, Exchange's only, neither)
    Known.VALUES: (_BA, _BA, _BA, _BA),
    Known.DIGEST: (_BM, _BD, _BD, _BL),
    Known.NOTHING: (_BM, _BL, _BL, _BL),
}
BASIS: Mapping[BasisKey, Basis] = MappingProxyType(
    {(known, r): row[i] for known, row in _BASIS_ROWS.items() for i, r in enumerate(Read)}
)


class Field(enum.Enum):
    """One side's field: against the agreed value (AS_AGREED, CHANGED), or with no agreed value
    (EMPTY, FILLED: a value is a change of its own)."""

    AS_AGREED = "as agreed"
    CHANGED = "changed"
    EMPTY = "empty"
    FILLED = "filled"


class FieldOutcome(enum.Enum):
    NOTHING = "—"
    UPDATE_PCCADDIE = "update PC CADDIE"
    UPDATE_EXCHANGE = "update Exchange"
    POLICY = "same: —; else the policy decides"  # the loser kept
    OVERWRITE = "same: —; else update Exchange, Outlook's value the loser"
    IGNORED = "ignored; overwritten, as the loser, once PC CADDIE changes the group"
    KEPT = "kept in Exchange"  # not taken in


FieldKey = tuple[FieldMode, Field, Field]  # (mode, PC CADDIE's field, Exchange's field)
MERGED_MODES = (FieldMode.SYNC, FieldMode.EXPORT)  # `no`: never touched, either way
AGAINST_AGREED = (Field.AS_AGREED, Field.CHANGED)
WITHOUT_AGREED = (Field.EMPTY, Field.FILLED)

_F, _A, _C, _E = Field.FILLED, Field.AS_AGREED, Field.CHANGED, Field.EMPTY
_SYNC = {  # with no agreed value a filled field counts as changed, an empty one as unchanged
    (_A, _A): FieldOutcome.NOTHING,
    (_A, _C): FieldOutcome.UPDATE_PCCADDIE,
    (_C, _A): FieldOutcome.UPDATE_EXCHANGE,
    (_C, _C): FieldOutcome.POLICY,
    (_E, _E): FieldOutcome.NOTHING,
    (_E, _F): FieldOutcome.UPDATE_PCCADDIE,  # an empty field never wipes the other
    (_F, _E): FieldOutcome.UPDATE_EXCHANGE,
    (_F, _F): FieldOutcome.POLICY,
}
_EXPORT = {  # PC CADDIE is the only source; what PC CADDIE holds is what is agreed
    (_A, _A): FieldOutcome.NOTHING,
    (_A, _C): FieldOutcome.IGNORED,
    (_C, _A): FieldOutcome.UPDATE_EXCHANGE,
    (_C, _C): FieldOutcome.OVERWRITE,
    (_E, _E): FieldOutcome.NOTHING,
    (_E, _F): FieldOutcome.KEPT,
    (_F, _E): FieldOutcome.UPDATE_EXCHANGE,
    (_F, _F): FieldOutcome.OVERWRITE,
}

FIELDS: Mapping[FieldKey, FieldOutcome] = MappingProxyType(
    {
        **{(FieldMode.SYNC, mine, theirs): outcome for (mine, theirs), outcome in _SYNC.items()},
        **{(FieldMode.EXPORT, mine, theirs): outcome for (mine, theirs), outcome in _EXPORT.items()},
    }
)


def field_state(agreed: str | None, value: str) -> Field:
    """One side's field against the agreed value (None: none agreed)."""
    if agreed is None:
        return Field.FILLED if value else Field.EMPTY
    return Field.AS_AGREED if value == agreed else Field.CHANGED


def read(person: bool, contact: bool) -> Read:
    """Which sides were read: PC CADDIE's (the person), Exchange's (the contact)."""
    return {
        (True, True): Read.BOTH,
        (True, False): Read.PERSON,
        (False, True): Read.CONTACT,
        (False, False): Read.NEITHER,
    }[(person, contact)]


# -- as docs/sync.md shows them --------------------------------------------------------------------


def _table(corner: str, columns: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]]) -> str:
    lines = ["| " + " | ".join([corner, *columns]) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += ["| " + " | ".join([label, *cells]) + " |" for label, cells in rows]
    return "\n".join(lines) + "\n"


def render_new() -> str:
    """`NEW`: rows the entry's source and whether it is listed, columns which sides were read."""
    return _table(
        "new entry \\ read",
        [r.value for r in Read],
        (
            (f"{source.value}, {'listed' if listed else 'not listed'}", [NEW[(source, listed, r)].value for r in Read])
            for source in Source
            for listed in (True, False)
        ),
    )


def render_linked() -> str:
    """`LINKED`: rows the listing and the person, columns whose the contact is and whether it is
    there."""
    return _table(
        "list, person \\ Exchange's contact",
        [f"{owner.value}, {contact.value}" for owner, contact in _COLUMNS],
        (
            (f"{listing.value}, {person.value}", [LINKED[(listing, person, *c)].value for c in _COLUMNS])
            for listing in Listing
            for person in Person
        ),
    )


def render_basis() -> str:
    """`BASIS`: rows what is known of the agreed values, columns which sides were read."""
    return _table(
        "agreed \\ read",
        [r.value for r in Read],
        ((known.value, [BASIS[(known, r)].value for r in Read]) for known in Known),
    )


def render_fields() -> str:
    """`FIELDS`: one row per pair of field states, a column per mode."""
    pairs = [*itertools.product(AGAINST_AGREED, AGAINST_AGREED), *itertools.product(WITHOUT_AGREED, WITHOUT_AGREED)]
    lines = [
        "| PC CADDIE's field | Exchange's field | " + " | ".join(mode.value for mode in MERGED_MODES) + " |",
        "|---" * (len(MERGED_MODES) + 2) + "|",
    ]
    for mine, theirs in pairs:
        cells = [FIELDS[(mode, mine, theirs)].value for mode in MERGED_MODES]
        lines.append(f"| {mine.value} | {theirs.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render() -> list[str]:
    """Every table, in the order docs/sync.md shows them."""
    return [render_new(), render_linked(), render_basis(), render_fields()]
