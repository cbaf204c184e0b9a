import pytest

from exchange_gateway.operations import OperationTable
from protocol.rpc import OperationError


async def test_dispatches_by_name():
    async def hello(args):
        return f"hello {args['name']}"

    table = OperationTable({"hello": hello})
    assert await table("hello", {"name": "club"}) == "hello club"
    assert table.names == ["hello", "ping"]


async def test_unknown_op_is_an_operation_error_listing_the_known():
    with pytest.raises(OperationError) as failure:
        await OperationTable()("frobnicate", {})
    assert failure.value.code == "unknown-op"
    assert "'frobnicate'" in failure.value.message and "ping" in failure.value.message
