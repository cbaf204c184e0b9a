"""What a refused admin action says, as one line: the same words on the command line (after
"Error: ") and in the manager window."""

from __future__ import annotations

import peewee as pw

from ..gateway_calls import GatewayCallFailed
from ..vault import VaultError
from . import AdminError


def refusal_message(exc: BaseException) -> str | None:
    """The line for a refusal (a rule, the vault, the gateway, the database), or None when the
    exception is not one (a defect)."""
    if isinstance(exc, (AdminError, VaultError, GatewayCallFailed)):
        return str(exc)
    if isinstance(exc, pw.IntegrityError):
        return f"refused by the database: {exc}"
    if isinstance(exc, pw.OperationalError):
        return f"the database is not available: {exc}"
    return None
