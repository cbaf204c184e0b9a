"""An `auth_failed` names its reason on the wire (issue 16): the mailbox out of the app's reach, the
club's app refused, or the password refused; a backend that names none gets one by the account's
credentials (exchange_operations, `errors.with_reason`)."""

from __future__ import annotations

import pytest
from exchangelib import errors as ews

from exchange_gateway.errors import (
    APP_REFUSED,
    AUTH_FAILED,
    MAILBOX_OUT_OF_REACH,
    PASSWORD_REFUSED,
    REASONS,
    THROTTLED,
    GatewayError,
    with_reason,
)
from exchange_gateway.ews.errors import map_exception as map_ews
from exchange_gateway.graph.errors import failure_of, map_exception
from exchange_gateway.threads import Threads
from protocol.rpc import OperationError
from tests.exchange_gateway.test_exchange_operations import ACCOUNT, MemoryBackend, MemoryMailbox, gateway

MAILBOX = "anna@club.example"
APP = {"kind": "app", "tenant": "contoso.onmicrosoft.com", "client_id": "c", "client_secret": "s"}
PASSWORD = {"kind": "password", "username": "anna", "password": "pw", "auth": "basic"}


class FeedMailbox(MemoryMailbox):
    async def changes(
        self, kind: str, folder: str, sync_state: str | None, max_changes: int, with_items: bool
    ) -> dict[str, object]:
        await self._call("changes")
        return {"changes": [], "sync_state": "s", "complete": True}


class FeedBackend(MemoryBackend):
    def mailbox(self, account: object, threads: Threads) -> FeedMailbox:
        return FeedMailbox(self)


def graph(status: int, code: str) -> GatewayError:
    return map_exception(failure_of(status, {}, {"error": {"code": code, "message": "said"}}), MAILBOX)


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (401, "InvalidAuthenticationToken", APP_REFUSED),
        (403, "ErrorAccessDenied", MAILBOX_OUT_OF_REACH),
        (404, "ErrorInvalidUser", MAILBOX_OUT_OF_REACH),
        (404, "MailboxNotEnabledForRESTAPI", MAILBOX_OUT_OF_REACH),
    ],
)
def test_graphs_refusals_name_their_reason_on_the_wire(status: int, code: str, reason: str):
    error = graph(status, code)
    assert (error.code, error.reason) == (AUTH_FAILED, reason)
    assert error.details == {"reason": reason}  # what OperationError carries to the caller
    assert error.to_wire() == {"reason": reason, "code": AUTH_FAILED, "message": error.message}


def test_other_codes_name_no_reason():
    throttled = map_exception(failure_of(429, {"Retry-After": "5"}, None), MAILBOX)
    assert throttled.code == THROTTLED and throttled.reason is None and throttled.details == {"retry_after": 5.0}
    assert graph(404, "ErrorItemNotFound").reason is None


@pytest.mark.parametrize(
    ("exception", "reason"),
    [
        (ews.UnauthorizedError("401"), None),  # the login refused: its credentials tell which
        (ews.ErrorAccessDenied("denied"), MAILBOX_OUT_OF_REACH),
        (ews.ErrorNonExistentMailbox("no such mailbox"), MAILBOX_OUT_OF_REACH),
        (ews.ErrorImpersonateUserDenied("may not impersonate"), MAILBOX_OUT_OF_REACH),
        (ews.ErrorImpersonationDenied("may not impersonate"), MAILBOX_OUT_OF_REACH),
    ],
)
def test_ews_refusals_of_the_mailbox_name_their_reason(exception: Exception, reason: str | None):
    error = map_ews(exception)
    assert (error.code, error.reason) == (AUTH_FAILED, reason)


def test_with_reason_gives_an_auth_failed_the_reason_of_its_credentials():
    refused = GatewayError(AUTH_FAILED, "refused")
    assert with_reason(refused, by_app=True).reason == APP_REFUSED
    assert with_reason(refused, by_app=False).details == {"reason": PASSWORD_REFUSED}
    assert with_reason(refused, by_app=True).message == "refused"
    named = GatewayError(AUTH_FAILED, "out of reach", reason=MAILBOX_OUT_OF_REACH)
    assert with_reason(named, by_app=True) is named
    other = GatewayError(THROTTLED, "slow", 3.0)
    assert with_reason(other, by_app=True) is other
    assert isinstance(refused, OperationError) and set(REASONS) == {APP_REFUSED, PASSWORD_REFUSED, MAILBOX_OUT_OF_REACH}


@pytest.mark.parametrize(
    ("credentials", "failure", "reason"),
    [
        (APP, GatewayError(AUTH_FAILED, "the app's client secret was refused"), APP_REFUSED),
        (PASSWORD, GatewayError(AUTH_FAILED, "Exchange refused the user name or password"), PASSWORD_REFUSED),
        (None, GatewayError(AUTH_FAILED, "Exchange refused the user name or password"), PASSWORD_REFUSED),
        (APP, GatewayError(AUTH_FAILED, "the app may not reach", reason=MAILBOX_OUT_OF_REACH), MAILBOX_OUT_OF_REACH),
    ],
    ids=["app", "password", "flat-account", "named-by-the-backend"],
)
async def test_the_operations_answer_every_auth_failed_with_a_reason(credentials, failure, reason):
    ops = gateway(FeedBackend(fail=failure))
    account = {**ACCOUNT, "credentials": credentials} if credentials is not None else ACCOUNT
    with pytest.raises(GatewayError) as refused:
        await ops.check({"account": account})
    assert (refused.value.code, refused.value.details.get("reason")) == (AUTH_FAILED, reason)
    many = await ops.changes_many({"requests": [{"account": account, "kind": "calendar"}]})
    assert many[0]["ok"] is False and many[0]["error"]["reason"] == reason
