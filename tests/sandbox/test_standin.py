"""sandbox.standin: the stand-in Exchange server as a process, and its control endpoint."""

from __future__ import annotations

import socket

import pytest

from sandbox.processes import ServiceFailure
from sandbox.standin import StandIn

pytestmark = pytest.mark.e2e


def test_the_stand_in_starts_with_its_mailboxes_and_stops():
    standin = StandIn.start([("anna@club.example", "secret"), ("ben@club.example", "other")])
    try:
        assert standin.url.startswith("http://127.0.0.1:") and standin.url.endswith("/EWS/Exchange.asmx")
        assert sorted(m["address"] for m in standin.state()["mailboxes"]) == ["anna@club.example", "ben@club.example"]
        assert standin.request_count() == 0
    finally:
        standin.stop()
    assert standin.process.poll() is not None


def test_a_stand_in_that_cannot_listen_is_a_clear_failure():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = "127.0.0.1:%d" % taken.getsockname()[1]
        with pytest.raises(ServiceFailure, match="the stand-in Exchange server did not start"):
            StandIn.start([("anna@club.example", "secret")], listen=address)
