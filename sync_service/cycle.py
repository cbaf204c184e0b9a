"""One sync cycle: `Sync started` … `Sync ended`, under the cycle lock, with the gateway link up:
every subscription's sync through the engine's runner (engine/runner.py), the log line of counts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import trio
from loguru import logger

from protocol.rpc import ConnectionLost, RemoteError, RequestTimeout

from .cycle_lock import CycleBusy, cycle_lock
from .engine.exchange_client import GatewayExchangeClient
from .engine.runner import CycleEngine, CycleSummary
from .gateway_link import GatewayLink, GatewayUnavailable


@dataclass(frozen=True)
class CycleReport:
    started: float
    ended: float
    ok: bool
    error: str | None = None
    summary: str | None = None  # the cycle's line of counts

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class SyncCycle:
    def __init__(
        self,
        link: GatewayLink,
        lock_file: Path,
        *,
        gateway_wait: float,
        lock_wait: float,
        engine: CycleEngine | None = None,
    ) -> None:
        self.link = link
        self.lock_file = lock_file
        self.gateway_wait = gateway_wait
        self.lock_wait = lock_wait
        self.engine = engine
        self.count = 0
        self.last_summary: CycleSummary | None = None
        self.last_error: str | None = None

    async def run_once(self) -> CycleReport:
        started = trio.current_time()
        try:
            async with cycle_lock(self.lock_file, self.lock_wait):
                self.count += 1
                logger.info("Sync started")
                try:
                    error = await self._body()
                finally:
                    logger.info("Sync ended")
        except CycleBusy as exc:
            error = str(exc)
            logger.warning(f"Sync skipped: {error}")
        self.last_error = error
        line = self.last_summary.line() if self.last_summary is not None else None
        return CycleReport(started, trio.current_time(), error is None, error, line)

    async def _body(self) -> str | None:
        try:
            peer = await self.link.peer(wait=self.gateway_wait)
            await peer.request("ping")
        except (GatewayUnavailable, ConnectionLost, RequestTimeout, RemoteError) as exc:
            logger.warning(f"Sync incomplete: {exc}")
            return str(exc)
        if self.engine is None:
            return None

        async def changes_many(requests: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
            return await peer.request("exchange.changes_many", {"requests": requests}, timeout=300)

        summary = await self.engine.run(lambda account, kind: GatewayExchangeClient(peer, account, kind), changes_many)
        self.last_summary = summary
        logger.info(summary.line())
        return "; ".join(summary.errors) or None
