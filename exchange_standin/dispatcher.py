"""From a parsed request and the caller's mailbox to the response document: the operation table."""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger
from lxml import etree

from . import ops_find, ops_folders, ops_items, ops_misc, ops_sync
from .context import Context
from .errors import EwsError, SoapFault
from .soap import Request, ResponseBuilder, envelope, fault
from .store import Mailbox, Store

Operation = Callable[[Context], etree._Element]

OPERATIONS: dict[str, Operation] = {
    "ConvertId": ops_misc.convert_id,
    "GetFolder": ops_folders.get_folder,
    "FindFolder": ops_folders.find_folder,
    "CreateFolder": ops_folders.create_folder,
    "UpdateFolder": ops_folders.update_folder,
    "DeleteFolder": ops_folders.delete_folder,
    "EmptyFolder": ops_folders.empty_folder,
    "GetItem": ops_items.get_item,
    "CreateItem": ops_items.create_item,
    "UpdateItem": ops_items.update_item,
    "DeleteItem": ops_items.delete_item,
    "MoveItem": ops_items.move_item,
    "CopyItem": ops_items.copy_item,
    "FindItem": ops_find.find_item,
    "SyncFolderItems": ops_sync.sync_folder_items,
    "SyncFolderHierarchy": ops_sync.sync_folder_hierarchy,
}


def handle(store: Store, mailbox: Mailbox, request: Request) -> tuple[int, bytes]:
    """Run one request for the authenticated `mailbox`: (HTTP status, SOAP document)."""
    try:
        with store.lock:
            if request.impersonation is not None:
                raise SoapFault("ErrorImpersonateUserDenied")
            context = Context(store=store, mailbox=mailbox, request=request)
            operation = OPERATIONS.get(request.operation)
            if operation is None:
                if request.operation in ops_misc.OTHER_OPERATIONS:
                    operation = ops_misc.not_implemented
                else:
                    raise SoapFault(
                        "ErrorInvalidRequest",
                        f"The request is invalid: {request.operation} is not an Exchange Web Services operation.",
                    )
            response = operation(context)
        return 200, envelope(response)
    except SoapFault as exc:
        return 500, fault(exc)
    except EwsError as exc:
        # An error that concerns the whole request: one error response message.
        builder = ResponseBuilder(request.operation)
        builder.error(exc)
        return 200, envelope(builder.root)
    except Exception:  # noqa: BLE001 - the emulator answers, whatever happens
        logger.opt(exception=True).error(f"Emulator: {request.operation} failed unexpectedly")
        return 500, fault(SoapFault("ErrorInternalServerError"))
