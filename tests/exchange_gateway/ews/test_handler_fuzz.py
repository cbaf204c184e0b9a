"""Whatever a client sends as arguments, every Exchange operation answers with a result or a
GatewayError with one of the stable codes: never another exception. (The only account that could
pass validation points at a closed loopback port, so nothing leaves this machine.)"""

import socket

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_gateway.ews.errors import CODES, GatewayError
from exchange_gateway.ews.operations import ExchangeLimits, ExchangeOperations


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = closed_port()
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
        )
    },
)
OPS = ExchangeOperations(limits=ExchangeLimits(deadline=10))


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
