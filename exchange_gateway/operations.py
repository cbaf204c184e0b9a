"""The one table through which every request from a client is dispatched.

`ping` is answered by the connection itself (protocol.rpc) and is always there; the Exchange
operations are added to this table by their own modules.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping

from protocol.rpc import OperationError

Operation = Callable[[Mapping[str, Any]], Awaitable[Any]]


class OperationTable:
    def __init__(self, operations: Mapping[str, Operation] | None = None) -> None:
        self._operations = dict(operations or {})

    @property
    def names(self) -> list[str]:
        return sorted({"ping", *self._operations})

    async def __call__(self, op: str, args: Mapping[str, Any]) -> Any:
        operation = self._operations.get(op)
        if operation is None:
            raise OperationError("unknown-op", f"unknown operation {op!r}; known: {', '.join(self.names)}")
        return await operation(args)
