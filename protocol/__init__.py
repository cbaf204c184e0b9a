"""What both services share: the wire between them and the home folder they live in.

The core modules (`errors`, `framing`, `messages`, `handshake`, `addresses`) are sans-I/O: they
are fed bytes and maps and give back bytes, maps and decisions, like h11. Trio appears only in
`framed_stream` and `rpc`, which carry the core over a `trio.abc.Stream`.
"""

PROTOCOL_VERSION = 1
