"""Whatever a client sends as arguments, every Exchange operation answers with a result or a
GatewayError with one of the stable codes: never another exception. (The only account that could
pass validation points at a closed loopback port, so nothing leaves this machine.)"""

import socket

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_gateway.backends import backends
from exchange_gateway.errors import CODES, GatewayError
from exchange_gateway.exchange_operations import ExchangeLimits, ExchangeOperations


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = closed_port()
APP = {  # the club's app, its identity platform at the closed port
    "kind": "app",
    "tenant": "t.example",
    "client_id": "c1",
    "client_secret": "s",
    "authority": f"https://127.0.0.1:{PORT}/t.example",
    "graph_url": f"https://127.0.0.1:{PORT}/v1.0",
}
values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 600) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
accounts = st.one_of(
    values,
    st.fixed_dictionaries(
        {
            "ews_url": st.just(f"http://127.0.0.1:{PORT}/EWS/Exchange.asmx"),
            "mailbox": st.just("a@b.example"),
            "password": st.just("pw"),
        }
    ),
    st.fixed_dictionaries(  # tagged, with a backend this gateway may not speak
        {
            "backend": st.sampled_from(["ews", "graph"]) | values,
            "endpoint": st.just(f"http://127.0.0.1:{PORT}/EWS/Exchange.asmx"),
            "mailbox": st.just("a@b.example"),
            "credentials": st.just({"kind": "password", "username": "a", "password": "pw", "auth": "basic"})
            | st.just(APP)
            | values,
        }
    ),
)
arguments = st.fixed_dictionaries(
    {"account": accounts},
    optional={
        name: values
        for name in (
            "kind",
            "folder",
            "sync_state",
            "max_changes",
            "items",
            "ids",
            "external_ids",
            "text",
            "name",
            "requests",
            "scopes",
        )
    }
    | {"app": st.just(APP) | values},
)
OPS = ExchangeOperations(backends(), ExchangeLimits(deadline=10))


@pytest.mark.parametrize("operation", sorted(OPS.table()))
@settings(max_examples=25, deadline=None)
@given(args=arguments)
def test_every_operation_answers_cleanly(operation, args):
    async def call():
        try:
            await OPS.table()[operation](args)
        except GatewayError as error:
            assert error.code in CODES

    trio.run(call)
