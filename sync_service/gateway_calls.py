"""One request to the gateway from a command (not the running service): connect, ask, disconnect.

The connection is logged to the sync service's log like any other; a refusal comes back as
GatewayCallFailed with a sentence for the user.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import trio

from protocol.addresses import Address
from protocol.rpc import ConnectionLost, RemoteError, RequestTimeout
from service_runtime.config import Config
from service_runtime.home import Home

from .gateway_link import GatewayUnavailable
from .service import ServiceSettings, build_link


class GatewayCallFailed(Exception):
    """The gateway could not be asked, or answered with an error. `code` is the wire's code (or
    `gateway_unavailable`), the message a sentence for the user; `reason` the machine reason of an
    `auth_failed` when the gateway named one (its error's `details["reason"]`)."""

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


async def _call(home: Home, settings: ServiceSettings, op: str, args: Mapping[str, Any], timeout: float) -> Any:
    link = build_link(home, settings, client_name="sync-service (command)")
    failure: GatewayCallFailed | None = None
    result: Any = None
    async with trio.open_nursery() as nursery:
        await nursery.start(link.run)
        try:
            peer = await link.peer(wait=settings.connect_timeout * 2)
            result = await peer.request(op, args, timeout=timeout)
        except GatewayUnavailable as exc:
            failure = GatewayCallFailed("gateway_unavailable", f"{exc} (is `exchange-gateway run` started?)")
        except RemoteError as exc:
            reason = exc.details.get("reason")
            failure = GatewayCallFailed(
                exc.code, f"{exc.message} ({exc.code})", reason if isinstance(reason, str) else None
            )
        except (ConnectionLost, RequestTimeout) as exc:
            failure = GatewayCallFailed("gateway_unavailable", f"the Exchange gateway did not answer: {exc}")
        nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return result


def with_gateway(config: Config, gateway: Address | None) -> Config:
    """The config with another gateway address, when a command was given one."""
    return config if gateway is None else replace(config, sync=replace(config.sync, gateway=gateway))


def call_gateway(home: Home, config: Config, op: str, args: Mapping[str, Any], timeout: float = 120.0) -> Any:
    """Blocking: for click commands, outside any trio run."""
    return trio.run(_call, home, ServiceSettings.from_config(config), op, args, timeout)
