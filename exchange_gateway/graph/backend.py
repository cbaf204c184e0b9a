"""The Microsoft Graph backend: natively async (httpx under trio), no worker threads.

Registered as "graph" (backends.py). It keeps one httpx client (its connection pool) for the
gateway's trio run, with TLS verified against the system's CAs and, besides them, the configured
CA bundle (ews/connection.trust_context); each call asks the TokenProvider for the app's Graph token
(cached and renewed there), and an auth failure drops the app's tokens. Each mailbox's list of
sub-folders is kept for `folder_max_age` seconds (folders.FolderListings).

The httpx client belongs to the trio run that made it: with it a system task of that run is started
(trio cancels those when the run's main task returns, i.e. when the gateway has shut down) that
closes the client, its connections with it, before the run ends; `aclose` closes it earlier.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import trio
from loguru import logger

from protocol.accounts import GRAPH_SCOPE, AccountError, GraphAccount, account_from_wire

from ..errors import AUTH_FAILED, UNSUPPORTED, GatewayError
from ..ews.connection import ExchangeSettings, trust_context
from ..ews.folders import DEFAULT_MAX_AGE
from ..threads import Threads
from ..tokens import TokenProvider
from .client import GraphClient, http_client
from .errors import map_exception
from .folders import FolderListings
from .mailbox import GraphMailbox


class GraphBackend:
    def __init__(
        self,
        settings: ExchangeSettings = ExchangeSettings(),
        tokens: TokenProvider | None = None,
        folder_max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        self.settings = settings
        self.tokens = tokens if tokens is not None else TokenProvider(settings)
        self.folders = FolderListings(folder_max_age)  # seconds a mailbox's list of sub-folders is trusted
        self._http: tuple[object, httpx.AsyncClient] | None = None  # the trio run it was made in, and it

    def _verify(self) -> bool | ssl.SSLContext:
        if self.settings.ca_bundle:
            return trust_context(self.settings.ca_bundle)
        return self.settings.verify_tls

    def http(self) -> httpx.AsyncClient:
        """The one httpx client of this trio run (made on first use: its connections belong to the
        run, which closes it as it ends)."""
        run = trio.lowlevel.current_root_task()
        if self._http is None or self._http[0] is not run or self._http[1].is_closed:
            client = http_client(self.settings.request_timeout, self._verify())
            self._http = (run, client)
            trio.lowlevel.spawn_system_task(_close_at_the_end, client, name="graph-http-client-closer")
        return self._http[1]

    async def aclose(self) -> None:
        """Close this run's httpx client now (a later call makes a new one)."""
        if self._http is not None and self._http[0] is trio.lowlevel.current_root_task():
            await self._http[1].aclose()

    def account(self, wire: Any) -> GraphAccount:
        try:
            account = account_from_wire(wire)
        except AccountError as exc:
            raise GatewayError(exc.code, exc.message) from None
        if not isinstance(account, GraphAccount):
            raise GatewayError(UNSUPPORTED, "the Microsoft Graph backend serves accounts of the backend 'graph' only")
        return account

    def mailbox(self, account: GraphAccount, threads: Threads) -> GraphMailbox:
        app = account.credentials

        async def token() -> str:
            return (await self.tokens.token_async(app, GRAPH_SCOPE)).value

        client = GraphClient(self.http(), app.graph_url, account.mailbox, token, lambda: self.tokens.forget(app))
        return GraphMailbox(client, account.mailbox, self.folders)

    def failure(self, account: GraphAccount, exc: Exception) -> GatewayError:
        error = map_exception(exc, account.mailbox)
        if error.code == AUTH_FAILED:
            self.tokens.forget(account.credentials)
        return error


async def _close_at_the_end(client: httpx.AsyncClient) -> None:
    """Waits until the run's main task has returned (trio then cancels its system tasks), and
    closes `client` (shielded: the close itself must not be cancelled)."""
    try:
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            try:
                await client.aclose()
            except Exception as exc:  # a system task's exception would crash the run: said, not raised
                logger.debug(f"Closing the Microsoft Graph client: {type(exc).__name__}: {exc}")
