import pytest

from exchange_gateway.ews.connection import AccountCache, AccountSpec, ExchangeSettings
from exchange_gateway.ews.errors import GatewayError

WIRE = {"ews_url": "https://mail.example.com/EWS/Exchange.asmx", "mailbox": "pro@club.example", "password": "pw"}


def test_spec_from_wire():
    spec = AccountSpec.from_wire(WIRE)
    assert (spec.username, spec.auth) == ("pro@club.example", "basic")
    assert "pw" not in repr(spec)
    assert spec.label == "pro@club.example at mail.example.com"


@pytest.mark.parametrize(
    "change",
    [
        {"ews_url": "mail.example.com"},
        {"ews_url": "ftp://x/EWS"},
        {"mailbox": ""},
        {"password": None},
        {"auth": "kerberos"},
    ],
)
def test_spec_refusals(change):
    with pytest.raises(GatewayError) as refused:
        AccountSpec.from_wire({**WIRE, **change})
    assert refused.value.code == "invalid"


def test_cache_keeps_one_account_per_credentials_and_forgets():
    cache = AccountCache(ExchangeSettings())
    spec = AccountSpec.from_wire(WIRE)
    first = cache.get(spec)
    same = AccountSpec.from_wire({**WIRE, "mailbox": "PRO@club.example", "username": "pro@club.example"})
    assert cache.get(same) is first
    other = cache.get(AccountSpec.from_wire({**WIRE, "password": "new"}))
    assert other is not first and len(cache) == 2
    cache.forget(spec)
    assert cache.get(spec) is not first
