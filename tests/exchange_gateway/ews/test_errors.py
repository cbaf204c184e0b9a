import socket

import pytest
import requests
from exchangelib import errors as ews

from exchange_gateway.ews.errors import CODES, GatewayError, map_exception


@pytest.mark.parametrize(
    "exception, code",
    [
        (ews.ErrorServerBusy("busy", back_off=7), "throttled"),
        (ews.ErrorItemNotFound("gone"), "not_found"),
        (ews.ErrorInvalidIdMalformed("bad id"), "not_found"),
        (ews.ErrorFolderNotFound("no folder"), "not_found"),
        (ews.ErrorIrresolvableConflict("changed"), "conflict"),
        (ews.UnauthorizedError("401"), "auth_failed"),
        (ews.ErrorAccessDenied("no"), "auth_failed"),
        (ews.ErrorNonExistentMailbox("who"), "auth_failed"),
        (requests.exceptions.ConnectTimeout("slow"), "timeout"),
        (requests.exceptions.ReadTimeout("slow"), "timeout"),
        (ews.ErrorTimeoutExpired("slow"), "timeout"),
        (requests.exceptions.ConnectionError("refused"), "unreachable"),
        (requests.exceptions.SSLError("bad cert"), "unreachable"),
        (socket.gaierror("no such host"), "unreachable"),
        (ews.ErrorSchemaValidation("bad xml"), "invalid"),
        (ValueError("bad value"), "invalid"),
        (ews.ErrorInternalServerError("oops"), "server_error"),
        (ews.TransportError("Unknown failure\nHTTP 500"), "server_error"),
        (RuntimeError("anything"), "server_error"),
    ],
)
def test_every_failure_has_a_stable_code(exception, code):
    error = map_exception(exception)
    assert error.code == code and error.code in CODES
    assert error.message and "\n" not in error.message


def test_throttling_carries_the_servers_back_off():
    assert map_exception(ews.ErrorServerBusy("busy", back_off=7)).details == {"retry_after": 7.0}
    assert map_exception(ews.ErrorServerBusy("busy")).retry_after == 60.0


def test_gateway_errors_pass_through():
    error = GatewayError("invalid", "x")
    assert map_exception(error) is error
