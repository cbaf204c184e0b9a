"""The one exception the sans-I/O core raises for anything a peer can get wrong."""


class ProtocolError(Exception):
    """The peer broke the wire protocol; the connection it came from must be closed.

    `reason` is a short, human-readable sentence fit for a log line. It never contains a token.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
