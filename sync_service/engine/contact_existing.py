"""An existing contact before a new one: before a person with no link at all is made in Exchange,
its contact is looked for (by its e-mail addresses, else by its name) and, if one is that person,
observed with it, so that the decision adopts it (merged as one picked with +ADD is) instead of
making it again. `core/contact_decide.existing_contact` picks the contact, never a guess.

A few persons are searched for; more are looked up in the folder read once
(`core/contact_candidates`: the same contacts either way). A search or read that fails ends the
cycle as mailbox trouble: nothing is made, and the creates come again next cycle."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from protocol.entries import Change, ContactEntry

from ..core import contact_candidates as candidates
from ..core import remote_feed
from ..core.contact_content import Groups, entry_groups
from ..core.contact_decide import ContactObservation, Existing, to_make
from ..core.model import Side
from . import contact_state as state
from .database import DbRunner
from .exchange_client import ExchangeClient, MailboxTrouble
from .pipeline import Tally, change_pages


async def with_existing(
    db: DbRunner,
    client: ExchangeClient,
    context: state.ContactContext,
    observations: Sequence[ContactObservation],
    feed: remote_feed.Feed,
    tally: Tally,
) -> tuple[ContactObservation, ...]:
    """The observations, each person about to be made whose existing contact was found observed
    with that contact (source `exchange`: the decision adopts it)."""
    creates = [o for o in observations if to_make(o)]
    if not creates:
        return tuple(observations)
    fresh = set(await db.run(state.without_link, context, [o.person_id for o in creates]))
    persons: list[tuple[int, Groups]] = [
        (o.person_id, o.local)
        for o in creates
        if o.person_id is not None and o.person_id in fresh and isinstance(o.local, dict)
    ]
    wanted: list[tuple[int, Groups, list[ContactEntry]]] = []
    if candidates.searches_at_most(local for _, local in persons) <= candidates.FEW_SEARCHES:
        for person_id, local in persons:
            emails, name = candidates.search_texts(local)
            found: list[ContactEntry] = []
            for text in emails:
                found += await client.search_contacts(text)
            if not found and name:
                found += await client.search_contacts(name)
            if found:
                wanted.append((person_id, local, found))
    else:
        index = candidates.index_contacts(context.user_id, await _folder_contacts(client, context, feed))
        for person_id, local in persons:
            if found := candidates.found_in(index, person_id, local):
                wanted.append((person_id, local, found))
    chosen = await db.run(state.choose_existing, context, wanted) if wanted else {}
    return tuple(_observed_with(o, chosen.get(o.person_id or 0), tally) if to_make(o) else o for o in observations)


def _observed_with(observation: ContactObservation, existing: Existing | None, tally: Tally) -> ContactObservation:
    """The person's observation, with its existing contact if one was chosen."""
    person = str(observation.person_id)
    if existing is None or existing.contact is None:
        if existing is not None and existing.alike:
            detail = f"contacts alike, none taken (not told apart): {', '.join(existing.alike)}"
            tally.line("create", Side.EXCHANGE, person, "", detail)
        return observation
    item = existing.contact
    how = "made by an earlier link" if existing.made_by_sync else "its e-mail address and name"
    tally.line("adopt", Side.EXCHANGE, person, "", f"existing contact: {how}")
    return dataclasses.replace(
        observation,
        remote=entry_groups(item),
        source="exchange",
        remote_change_key=item.change_key,
        exchange_id=item.id,
        remote_modified=state.utc(item.last_modified),
        made_by_sync=existing.made_by_sync,
    )


async def _folder_contacts(
    client: ExchangeClient, context: state.ContactContext, feed: remote_feed.Feed
) -> list[ContactEntry]:
    """Every contact of the folder, read once: listed by this cycle's feed when it was read from
    no state (a first sync, or read afresh), else by a feed from no state read for this (its sync
    state is not kept); those this cycle has not read yet are fetched in chunks."""
    changes: Sequence[Change] = feed.listed
    if context.sync_state is not None:
        changes, _ = await change_pages(client, "", None)
    have = {c.id: c.entry for c in feed.changes if c.entry is not None}
    wanted = [c.id for c in changes if c.kind in ("create", "update") and c.id not in have]
    fetched = await remote_feed.fetch(client, wanted) if wanted else {}
    listed = [dataclasses.replace(c, entry=have.get(c.id)) for c in changes]
    try:
        read = remote_feed.complete(listed, {}, (), fetched)
    except remote_feed.FetchError as failure:
        raise MailboxTrouble(failure.code, f"a contact could not be read: {failure.message}") from None
    return [c.entry for c in read.changes if isinstance(c.entry, ContactEntry)]
