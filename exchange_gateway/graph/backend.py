"""The Microsoft Graph backend: natively async (httpx under trio), no worker threads.

Registered as "graph" (backends.py). It keeps one httpx client (its connection pool) while it
runs, with TLS verified against the system's CAs and, besides them, the configured
CA bundle (ews/connection.trust_context); each call asks the TokenProvider for the app's Graph token
(cached and renewed there), and an auth failure drops the app's tokens. Each mailbox's list of
sub-folders is kept for `folder_max_age` seconds (folders.FolderListings).

The httpx client has a structured lifetime: `running()` (an async context manager, entered by the
gateway's run around its serving: ExchangeOperations.running, cli.py) makes it, and closes it, its
connections with it, when the scope ends, however it ends. Outside that scope the backend opens no
mailbox (`unreachable`: the gateway is starting or stopping), and a call that still holds the client
after it was closed sends nothing (client.GraphClient).
"""

from __future__ import annotations

import ssl
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import trio

from protocol.accounts import GRAPH_SCOPE, AccountError, GraphAccount, account_from_wire

from ..errors import AUTH_FAILED, UNREACHABLE, UNSUPPORTED, GatewayError
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
        self._http: httpx.AsyncClient | None = None  # while running()

    def _verify(self) -> bool | ssl.SSLContext:
        if self.settings.ca_bundle:
            return trust_context(self.settings.ca_bundle)
        return self.settings.verify_tls

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The backend's lifetime: its one httpx client (the connection pool of every mailbox's
        calls) is made as the scope begins and closed as it ends, even when it is cancelled."""
        if self._http is not None:
            raise RuntimeError("the Microsoft Graph backend is running already")
        client = http_client(self.settings.request_timeout, self._verify())
        self._http = client
        try:
            yield
        finally:
            self._http = None
            with trio.CancelScope(shield=True):  # the close itself must not be cancelled
                await client.aclose()

    def http(self) -> httpx.AsyncClient:
        """The httpx client of the running backend; `unreachable` outside `running()`."""
        if self._http is None:
            raise GatewayError(
                UNREACHABLE, "the Microsoft Graph backend is not running (the gateway is starting or shutting down)"
            )
        return self._http

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
