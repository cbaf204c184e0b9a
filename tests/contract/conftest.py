"""Every contract test runs against each implementation of the ExchangeClient interface
(tests/contract/mailboxes.py): the in-memory fake and the gateway on the stand-in EWS server."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from tests.contract.mailboxes import IMPLEMENTATIONS, Mailbox, open_mailbox


@pytest.fixture(params=IMPLEMENTATIONS)
async def mailbox(request: pytest.FixtureRequest) -> AsyncIterator[Mailbox]:
    """A calendar."""
    async with open_mailbox(request.param, "calendar") as opened:
        yield opened


@pytest.fixture(params=IMPLEMENTATIONS)
async def contacts(request: pytest.FixtureRequest) -> AsyncIterator[Mailbox]:
    """A contacts folder."""
    async with open_mailbox(request.param, "contacts") as opened:
        yield opened
