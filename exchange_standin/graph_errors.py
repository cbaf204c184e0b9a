"""The error a Graph request ends in: {"error": {"code", "message"}} with an HTTP status."""

from __future__ import annotations


class GraphError(Exception):
    """A Graph error answer: HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
