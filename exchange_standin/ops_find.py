"""FindItem: the items of folders, filtered by a restriction, sorted, paged or as a calendar view."""

from __future__ import annotations

import datetime as dt

from lxml import etree

from .bodies import body_text
from .context import Context
from .errors import EwsError, schema_error
from .itemxml import write_item
from .namespaces import m, t
from .recurrence import Occurrence, occurrences
from .restrictions import compile_restriction, parse_sort_order, sort_key
from .schema import ITEM_URIS
from .shapes import Shape, parse_shape
from .soap import ResponseBuilder
from .store import Folder, Item
from .timezones import parse_datetime
from .values import item_getter
from .views import FIND_COUNT_LIMIT, Page, paged, root_folder

MAX_CALENDAR_VIEW = dt.timedelta(days=731)  # Exchange refuses calendar views longer than two years


def _check_find_shape(shape: Shape) -> None:
    """FindItem does not return streamed or recipient properties; Exchange refuses to be asked."""
    for path in shape.paths:
        if path.kind == "field" and not ITEM_URIS[path.uri].in_find:
            raise EwsError(
                "ErrorInvalidPropertyRequest",
                f"The property {path.uri} can't be used in FindItem requests.",
                field_uri=path.element(),
            )


def _query_string_matches(item: Item, words: list[str]) -> bool:
    haystack = " ".join(
        str(value)
        for value in (
            item.props.get("item:Subject"),
            body_text(item),
            item.props.get("contacts:DisplayName"),
            item.props.get("calendar:Location"),
        )
        if value
    ).casefold()
    return all(word in haystack for word in words)


def find_item(ctx: Context) -> etree._Element:
    request = ctx.request.element
    traversal = request.get("Traversal")
    if traversal not in ("Shallow", "SoftDeleted", "Associated"):
        raise schema_error(f"The 'Traversal' attribute is invalid - The value '{traversal}' is invalid.")
    shape = parse_shape(request.find(m("ItemShape")))
    restriction_elem = request.find(m("Restriction"))
    restriction = compile_restriction(restriction_elem, zone=ctx.request_zone) if restriction_elem is not None else None
    orders = parse_sort_order(request.find(m("SortOrder")))
    calendar_view = request.find(m("CalendarView"))
    contacts_view = request.find(m("ContactsView"))
    query = request.findtext(m("QueryString"))
    words = [word.casefold() for word in (query or "").split() if word.upper() not in ("AND", "OR")]
    if request.find(m("GroupBy")) is not None or request.find(m("DistinguishedGroupBy")) is not None:
        raise EwsError("ErrorInvalidOperation", "Grouped FindItem views are not served by this emulator.")
    window = None
    if calendar_view is not None:
        window = _calendar_window(ctx, calendar_view)
    response = ResponseBuilder("FindItem")
    for folder_elem in ctx.folder_elements(request.find(m("ParentFolderIds")), "ParentFolderIds"):
        try:
            _check_find_shape(shape)
            folder = ctx.folder(folder_elem)
            items = ctx.mailbox.folder_items(folder) if traversal == "Shallow" else []
            if window is not None:
                if restriction is not None or orders:
                    raise EwsError(  # what Exchange answers (ErrorInvalidOperation)
                        "ErrorInvalidOperation",
                        "Restrictions and sort order may not be specified for a CalendarView.",
                    )
                page = _calendar_page(ctx, folder, items, window)
            else:
                if restriction is not None:
                    items = [item for item in items if restriction(item_getter(item, ctx.mailbox))]
                if words:
                    items = [item for item in items if _query_string_matches(item, words)]
                items = _sorted(ctx, items, orders)
                if contacts_view is not None:
                    page = _contacts_page(items, contacts_view)
                else:
                    page = paged(request, items, "Item")
        except EwsError as exc:
            response.error(exc)
            continue
        msg = response.success()
        holder = etree.SubElement(root_folder(msg, page), t("Items"))
        for entry in page.objects:
            write_item(holder, entry.entry if isinstance(entry, Occurrence) else entry, ctx.mailbox, shape, find=True)
    return response.root


def _sorted(ctx: Context, items: list[Item], orders) -> list[Item]:
    # Without a sort order Exchange lists the newest first; the serial keeps pages stable.
    items = sorted(items, key=lambda item: (item.created, item.serial), reverse=True)
    if orders:
        items.sort(key=lambda item: sort_key(orders, item_getter(item, ctx.mailbox)))
    return items


def _calendar_window(ctx: Context, view: etree._Element) -> tuple[dt.datetime, dt.datetime, int | None]:
    start_text, end_text = view.get("StartDate"), view.get("EndDate")
    if start_text is None or end_text is None:
        raise schema_error("The CalendarView needs StartDate and EndDate.")
    start = parse_datetime(start_text, ctx.request_zone, what="StartDate")
    end = parse_datetime(end_text, ctx.request_zone, what="EndDate")
    maximum = view.get("MaxEntriesReturned")
    try:
        count = int(maximum) if maximum is not None else None
    except ValueError:
        raise schema_error(f"The 'MaxEntriesReturned' attribute is invalid - The value '{maximum}'.") from None
    if count is not None and count < 1:
        raise EwsError("ErrorInvalidArgument", "MaxEntriesReturned must be positive.")
    if end < start:
        raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate")
    if end - start > MAX_CALENDAR_VIEW:
        raise EwsError("ErrorCalendarViewRangeTooBig", "The calendar view range may not exceed two years.")
    return start, end, count


def _calendar_page(ctx: Context, folder: Folder, items: list[Item], window) -> Page:
    if not folder.holds_calendar_items:
        raise EwsError(
            "ErrorCalendarFolderIsInvalidForCalendarView",
            "Calendar views can only be used on calendar folders.",
        )
    start, end, count = window
    found = []
    for item in items:
        if item.element != "CalendarItem":
            continue
        for occurrence in occurrences(item, start, end, ctx.mailbox):
            found.append(occurrence)
    found.sort(key=lambda entry: (entry.start, entry.item.serial))
    limit = min(count or FIND_COUNT_LIMIT, FIND_COUNT_LIMIT)
    return Page(found[:limit], len(found), len(found) <= limit, {})


def _contacts_page(items: list[Item], view: etree._Element) -> Page:
    initial = (view.get("InitialName") or "").casefold()
    final = view.get("FinalName")
    maximum = view.get("MaxEntriesReturned")
    contacts = [item for item in items if item.element in ("Contact", "DistributionList")]
    contacts.sort(key=lambda item: (str(item.props.get("contacts:FileAs", "")).casefold(), item.serial))
    contacts = [
        item
        for item in contacts
        if str(item.props.get("contacts:FileAs", "")).casefold() >= initial
        and (final is None or str(item.props.get("contacts:FileAs", "")).casefold() <= final.casefold())
    ]
    limit = min(int(maximum) if maximum and maximum.isdigit() else FIND_COUNT_LIMIT, FIND_COUNT_LIMIT)
    return Page(contacts[:limit], len(contacts), len(contacts) <= limit, {})
