"""The backends the gateway speaks, by the tag an account names in its `backend` field.

A new backend (Microsoft Graph) is one more entry here: a class implementing backend.Backend,
whose mailboxes implement backend.MailboxBackend (docs/architecture.md, "A new Exchange backend").
"""

from __future__ import annotations

from .backend import Backend
from .ews.backend import EwsBackend
from .ews.connection import ExchangeSettings
from .ews.folders import DEFAULT_MAX_AGE
from .graph.backend import GraphBackend
from .tokens import TokenProvider


def backends(
    settings: ExchangeSettings = ExchangeSettings(),
    folder_max_age: float = DEFAULT_MAX_AGE,
    tokens: TokenProvider | None = None,
) -> dict[str, Backend]:
    """One of each backend, keyed by its tag; `settings` are the HTTP settings of them all, `tokens`
    the club's app's tokens (one provider for the gateway: ExchangeOperations gets the same)."""
    tokens = tokens if tokens is not None else TokenProvider(settings)
    return {
        "ews": EwsBackend(settings, folder_max_age, tokens),
        "graph": GraphBackend(settings, tokens, folder_max_age),
    }
