"""Microsoft Graph's failures as the gateway's stable codes (../errors.py).

Graph answers an error with an HTTP status and a body `{"error": {"code", "message"}}`; a request of a
`$batch` answers the same way inside the batch's answer. `GraphFailure` is one such answer; `map_exception`
turns it, or whatever httpx raised, into a `GatewayError`:

| Graph | code |
|---|---|
| 401 (InvalidAuthenticationToken) | auth_failed, reason app_refused: the app's token was refused |
| 403 (ErrorAccessDenied), 404 ErrorInvalidUser | auth_failed, reason mailbox_out_of_reach: not in the app's reach |
| 404 | not_found |
| 409 (ErrorFolderExists), 412 (ErrorIrresolvableConflict) | conflict |
| 410 (syncStateNotFound, resyncRequired) | sync_state_invalid |
| 429, 503 | throttled, with Retry-After's seconds |
| ErrorQuotaExceeded | mailbox_full |
| other 4xx | invalid |
| 5xx | server_error |
| httpx's timeouts | timeout; a connection or TLS failure: unreachable |
"""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from ..errors import (
    APP_REFUSED,
    AUTH_FAILED,
    CONFLICT,
    DEFAULT_RETRY_AFTER,
    INVALID,
    MAILBOX_FULL,
    MAILBOX_OUT_OF_REACH,
    NOT_FOUND,
    SERVER_ERROR,
    SYNC_STATE_INVALID,
    THROTTLED,
    TIMEOUT,
    UNREACHABLE,
    GatewayError,
)

THROTTLING_STATUSES = (429, 503)
QUOTA_CODES = ("ErrorQuotaExceeded", "ErrorQuotaExceededOnDelete", "MailboxStoreUnavailable")
UNKNOWN_USER_CODES = ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ResourceNotFound")
MAILBOX_WIDE_CODES = (THROTTLED, MAILBOX_FULL, AUTH_FAILED)  # a batch item with one of these fails the request


class GraphFailure(Exception):
    """One error answer of Graph: its status, its error code and message, and Retry-After's seconds."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(status, code, message, retry_after)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After's seconds (Graph gives whole seconds); None if absent or not a number."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def failure_of(status: int, headers: Mapping[str, str], body: Any) -> GraphFailure:
    """The failure an error answer describes (a body that is not Graph's error shape: its status only)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    code = str(error.get("code") or "") if isinstance(error, Mapping) else ""
    message = str(error.get("message") or "") if isinstance(error, Mapping) else ""
    return GraphFailure(
        status, code or f"HTTP{status}", message or f"Microsoft Graph answered HTTP {status}", retry_after(headers)
    )


def map_failure(failure: GraphFailure, mailbox: str) -> GatewayError:
    status, code, said = failure.status, failure.code, f"{failure.code}: {failure.message}"
    if status in THROTTLING_STATUSES:
        wait = failure.retry_after if failure.retry_after is not None else DEFAULT_RETRY_AFTER
        return GatewayError(THROTTLED, f"Microsoft Graph asks to wait {wait:g} s for {mailbox} ({code})", wait)
    if status == 401:
        return GatewayError(
            AUTH_FAILED, f"Microsoft Graph refused the app's token for {mailbox} ({code})", reason=APP_REFUSED
        )
    if status == 403 or (status == 404 and code in UNKNOWN_USER_CODES):
        return GatewayError(
            AUTH_FAILED,
            f"the app may not reach the mailbox {mailbox} through Microsoft Graph ({code}): is it a mailbox of the "
            "tenant, and within the app's scope (RBAC for Applications)?",
            reason=MAILBOX_OUT_OF_REACH,
        )
    if code in QUOTA_CODES:
        return GatewayError(MAILBOX_FULL, f"the mailbox {mailbox} is full ({said})")
    if status == 404:
        return GatewayError(NOT_FOUND, f"not found ({said})")
    if status in (409, 412):
        return GatewayError(CONFLICT, f"the item changed since it was read ({said})")
    if status == 410:
        return GatewayError(SYNC_STATE_INVALID, f"Microsoft Graph no longer knows the sync state ({said}): read afresh")
    if 400 <= status < 500:
        return GatewayError(INVALID, f"Microsoft Graph refused the request ({said})")
    return GatewayError(SERVER_ERROR, f"Microsoft Graph failed ({status} {said})")


def map_exception(exc: BaseException, mailbox: str) -> GatewayError:
    """The stable code for anything the Graph backend's work raised."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, GraphFailure):
        return map_failure(exc, mailbox)
    if isinstance(exc, httpx.TimeoutException):
        return GatewayError(TIMEOUT, f"Microsoft Graph did not answer in time for {mailbox}; the outcome is unknown")
    if isinstance(exc, (httpx.ConnectError, httpx.UnsupportedProtocol)):
        return GatewayError(UNREACHABLE, f"Microsoft Graph cannot be reached ({_reason(exc)})")
    if isinstance(exc, httpx.HTTPError):
        return GatewayError(
            SERVER_ERROR, f"the exchange with Microsoft Graph broke off ({_reason(exc)}); the outcome is unknown"
        )
    if isinstance(exc, ValueError):
        return GatewayError(SERVER_ERROR, f"Microsoft Graph gave an answer that cannot be read ({exc})")
    return GatewayError(SERVER_ERROR, f"{type(exc).__name__}: {exc}")


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "its TLS certificate is not trusted"
    return type(exc).__name__ if not text else f"{type(exc).__name__}: {text[:200]}"


def is_mailbox_wide(error: GatewayError) -> bool:
    """A batch item's failure that is the mailbox's or the server's, never the item's."""
    return error.code in MAILBOX_WIDE_CODES
