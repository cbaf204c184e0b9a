import pytest

from protocol.addresses import Address, is_loopback, parse_address


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:3000", Address("127.0.0.1", 3000)),
        ("localhost:1", Address("localhost", 1)),
        ("[::1]:3000", Address("::1", 3000)),
        (" 10.0.0.5:65535 ", Address("10.0.0.5", 65535)),
    ],
)
def test_parse(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "text", ["3000", "host:", ":3000", "host:abc", "host:0", "host:70000", "::1:3000", "[::1]3000", "h:-1"]
)
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        parse_address(text)


def test_port_zero_only_when_allowed():
    assert parse_address("127.0.0.1:0", allow_port_zero=True).port == 0


def test_str_round_trips():
    for text in ["127.0.0.1:3000", "[::1]:3000"]:
        assert str(parse_address(text)) == text


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.1.1", False),
        ("::", False),
        ("no-such-host.invalid", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback
