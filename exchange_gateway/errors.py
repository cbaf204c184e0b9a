"""The stable codes every failure of an Exchange call becomes on the wire, whichever the backend.

Each backend maps its own failures to them (`ews/errors.map_exception` for exchangelib's).

| code | meaning | the sync service should |
|---|---|---|
| auth_failed | wrong user name or password, or no access to the mailbox | stop this mailbox until its account changes |
| not_found | the item or folder does not exist (any more) | treat it as deleted |
| conflict | the item changed since the change key we sent | re-read it and decide again |
| throttled | the server asks us to slow down; `retry_after` seconds | wait that long for this mailbox |
| unreachable | the server cannot be reached (DNS, refused, TLS) | retry later |
| timeout | no answer within the deadline | retry later; the outcome is unknown |
| invalid | the request is wrong (bad arguments, a value Exchange refuses) | not retry the same item unchanged |
| server_error | anything else the server said | retry later, counting an attempt |
| unsupported | an item of a kind the sync does not handle (a contact group, say) | skip it, counting it |
| busy | an earlier create of the same item is still running in the gateway | ask again later; no attempt counted |
| mailbox_full | the mailbox is over its quota: reads work, writes do not | keep the writes owed, retry later |
| sync_state_invalid | Exchange refuses the sync state sent (ErrorInvalidSyncStateData) | read the folder afresh |

An `auth_failed` carries a machine reason in its details (`details["reason"]`, `REASONS`), so that
the sync service advises by cause without reading the message:

- mailbox_out_of_reach: the credentials were good but not for this mailbox (a Graph 403 or unknown
  user; EWS's ErrorAccessDenied, ErrorNonExistentMailbox, a refused impersonation): the tenant's
  admin mends it (RBAC for Applications), or a right address;
- app_refused: the club's app was refused (a wrong secret, an unknown tenant or app, a scope not
  granted, a token Exchange refused): `app set` mends it;
- password_refused: a password account's user name or password was refused: `account set`.

`ExchangeOperations` gives a backend's `auth_failed` that names no reason one by the account's
credentials (`with_reason`): "app" ones `app_refused`, the others `password_refused`.

A code answers either the whole request (an error of the operation) or one item of a batch (in
its result). The mailbox-wide and server-wide failures (`MAILBOX_WIDE` below: a full mailbox, a
store being moved or unavailable, a server timeout or a busy server, whether they come as a SOAP
fault or in the response message of one item) always answer the whole request, so that the sync
service ends that mailbox's cycle without blaming any item.
"""

from __future__ import annotations

from protocol.rpc import OperationError

AUTH_FAILED = "auth_failed"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
THROTTLED = "throttled"
UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
INVALID = "invalid"
SERVER_ERROR = "server_error"
UNSUPPORTED = "unsupported"
BUSY = "busy"
MAILBOX_FULL = "mailbox_full"
SYNC_STATE_INVALID = "sync_state_invalid"
CODES = (
    AUTH_FAILED,
    NOT_FOUND,
    CONFLICT,
    THROTTLED,
    UNREACHABLE,
    TIMEOUT,
    INVALID,
    SERVER_ERROR,
    UNSUPPORTED,
    BUSY,
    MAILBOX_FULL,
    SYNC_STATE_INVALID,
)
DEFAULT_RETRY_AFTER = 60.0

# the reasons of an auth_failed (details["reason"])
MAILBOX_OUT_OF_REACH = "mailbox_out_of_reach"
APP_REFUSED = "app_refused"
PASSWORD_REFUSED = "password_refused"
REASONS = (MAILBOX_OUT_OF_REACH, APP_REFUSED, PASSWORD_REFUSED)


class GatewayError(OperationError):
    """An OperationError with one of CODES, for `throttled` the seconds to wait, and for
    `auth_failed` its reason (one of REASONS), both in `details`."""

    def __init__(self, code: str, message: str, retry_after: float | None = None, reason: str | None = None) -> None:
        details: dict[str, object] = {}
        if retry_after is not None:
            details["retry_after"] = retry_after
        if reason is not None:
            details["reason"] = reason
        super().__init__(code, message, details or None)
        self.retry_after = retry_after
        self.reason = reason

    def to_wire(self) -> dict[str, object]:
        """As an item's error in a batch result."""
        return {**self.details, "code": self.code, "message": self.message}


def with_reason(error: GatewayError, by_app: bool) -> GatewayError:
    """`error`, and if it is an `auth_failed` that names no reason, the same with the reason its
    credentials give it: the club's app (`by_app`) refused, or the password."""
    if error.code != AUTH_FAILED or error.reason is not None:
        return error
    return GatewayError(AUTH_FAILED, error.message, error.retry_after, APP_REFUSED if by_app else PASSWORD_REFUSED)
