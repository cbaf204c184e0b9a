"""The wire between the two services, and nothing else (home, config, logging and status are in
`service_runtime/`).

The core modules (`errors`, `framing`, `messages`, `handshake`, `addresses`) are sans-I/O: they
are fed bytes and maps and give back bytes, maps and decisions, like h11. Trio appears only in
`framed_stream`, `handshake_io` and `rpc`, which carry the core over a `trio.abc.Stream`.
"""

PROTOCOL_VERSION = 1
