from exchange_gateway.backend import ItemResult
from exchange_gateway.errors import GatewayError


def test_item_results():
    assert ItemResult(True, "AAA", "CK").to_wire() == {"ok": True, "id": "AAA", "change_key": "CK"}
    failed = ItemResult(False, "AAA", error=GatewayError("throttled", "busy", 2.5)).to_wire()
    assert failed == {"ok": False, "id": "AAA", "error": {"code": "throttled", "message": "busy", "retry_after": 2.5}}
