"""Graph's error answers and httpx's failures as the gateway's codes."""

from __future__ import annotations

import httpx
import pytest

from exchange_gateway.errors import DEFAULT_RETRY_AFTER, GatewayError
from exchange_gateway.graph.errors import GraphFailure, failure_of, is_mailbox_wide, map_exception

MAILBOX = "anna@club.example"


def graph_error(status: int, code: str, headers: dict[str, str] | None = None) -> GraphFailure:
    return failure_of(status, headers or {}, {"error": {"code": code, "message": f"{code} said"}})


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "InvalidAuthenticationToken", "auth_failed"),
        (403, "ErrorAccessDenied", "auth_failed"),
        (404, "ErrorInvalidUser", "auth_failed"),
        (404, "ErrorItemNotFound", "not_found"),
        (409, "ErrorFolderExists", "conflict"),
        (412, "ErrorIrresolvableConflict", "conflict"),
        (410, "syncStateNotFound", "sync_state_invalid"),
        (410, "resyncRequired", "sync_state_invalid"),
        (400, "ErrorInvalidIdMalformed", "invalid"),
        (507, "ErrorQuotaExceeded", "mailbox_full"),
        (500, "ErrorInternalServerError", "server_error"),
        (424, "FailedDependency", "invalid"),
    ],
)
def test_statuses_and_codes(status: int, code: str, expected: str):
    error = map_exception(graph_error(status, code), MAILBOX)
    assert error.code == expected
    assert code in error.message


def test_a_mailbox_the_app_may_not_reach_says_so():
    error = map_exception(graph_error(403, "ErrorAccessDenied"), MAILBOX)
    assert "may not reach the mailbox anna@club.example" in error.message and "RBAC" in error.message


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_honours_retry_after(status: int):
    error = map_exception(graph_error(status, "TooManyRequests", {"Retry-After": "17"}), MAILBOX)
    assert (error.code, error.retry_after) == ("throttled", 17.0)
    assert is_mailbox_wide(error)


def test_throttling_without_retry_after_waits_the_default():
    error = map_exception(failure_of(429, {"retry-after": "soon"}, None), MAILBOX)
    assert (error.code, error.retry_after) == ("throttled", DEFAULT_RETRY_AFTER)


def test_a_body_that_is_not_graphs_error_keeps_the_status():
    failure = failure_of(502, {}, "<html>bad gateway</html>")
    assert (failure.status, failure.code) == (502, "HTTP502")
    assert map_exception(failure, MAILBOX).code == "server_error"


def test_network_failures():
    request = httpx.Request("GET", "https://graph.example/v1.0/users")
    assert map_exception(httpx.ReadTimeout("slow", request=request), MAILBOX).code == "timeout"
    assert map_exception(httpx.ConnectError("refused", request=request), MAILBOX).code == "unreachable"
    untrusted = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", request=request)
    assert "TLS certificate is not trusted" in map_exception(untrusted, MAILBOX).message
    broken = map_exception(httpx.RemoteProtocolError("cut", request=request), MAILBOX)
    assert broken.code == "server_error" and "outcome is unknown" in broken.message


def test_a_gateway_error_stays_itself():
    error = GatewayError("busy", "later")
    assert map_exception(error, MAILBOX) is error


def test_only_the_mailboxs_failures_are_mailbox_wide():
    assert not is_mailbox_wide(map_exception(graph_error(404, "ErrorItemNotFound"), MAILBOX))
    assert not is_mailbox_wide(map_exception(graph_error(412, "ErrorIrresolvableConflict"), MAILBOX))
    assert is_mailbox_wide(map_exception(graph_error(401, "InvalidAuthenticationToken"), MAILBOX))
