"""Microsoft Graph v1.0, app-only, over the stand-in's store: /users/{address}/events, calendars,
calendarView (and its delta), instances, contacts, contactFolders (and their delta),
singleValueExtendedProperties ($filter, $expand) and $batch. One request in, one GraphResponse
out; the HTTP side (graph_http.py) does authentication, faults and the wire."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from . import recurrence
from .computed import computed_properties
from .errors import EwsError, SoapFault
from .graph_delta import DeltaStates, Round, Scope
from .graph_errors import GraphError
from .graph_filter import matches
from .graph_model import (
    calendar_json,
    contact_folder_json,
    contact_json,
    contact_props,
    event_json,
    event_props,
    ews_id,
    extended_json,
    graph_id,
    parse_instant,
    read_extended,
    zone_named,
)
from .identity import Grant, Identity
from .itemrules import apply_defaults, normalize
from .store import Folder, Item, Mailbox, Store

MAX_BATCH = 20
DEFAULT_PAGE = 10
MAX_PAGE = 1000


@dataclass(frozen=True)
class GraphRequest:
    method: str
    url: str  # the path after /v1.0 with its query, e.g. /users/a@b/events?$top=5
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass(frozen=True)
class GraphResponse:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


def error_body(code: str, message: str, client_request_id: str | None = None) -> dict[str, Any]:
    inner = {
        "date": _now_text(),
        "request-id": str(uuid.uuid4()),
        "client-request-id": client_request_id or str(uuid.uuid4()),
    }
    return {"error": {"code": code, "message": message, "innerError": inner}}


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class Graph:
    store: Store
    identity: Identity
    base_url: str
    deltas: DeltaStates = field(default_factory=DeltaStates)
    transactions: dict[tuple[str, str], int] = field(default_factory=dict)  # (mailbox, transactionId) -> serial
    transaction_of: dict[tuple[str, int], str] = field(default_factory=dict)  # (mailbox, serial) -> transactionId
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root(self) -> str:
        return f"{self.base_url}/v1.0"

    def handle(self, grant: Grant, request: GraphRequest) -> GraphResponse:
        try:
            return self._route(grant, request)
        except GraphError as exc:
            return GraphResponse(exc.status, error_body(exc.code, exc.message))
        except (EwsError, SoapFault) as exc:
            return GraphResponse(400, error_body(exc.code, str(exc)))

    # routing ------------------------------------------------------------------------------------

    def _route(self, grant: Grant, request: GraphRequest) -> GraphResponse:
        parts = urlsplit(request.url.strip())
        path = unquote(parts.path).rstrip("/") or "/"
        query = _query(parts.query)
        method = request.method.upper()
        if path.lower() == "/$batch":
            if method != "POST":
                raise GraphError(
                    405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
                )
            return self._batch(grant, request)
        if method in ("POST", "PATCH", "PUT"):
            _json_body(request.body)  # a body that is not JSON is refused whatever the path
        segments = [segment for segment in path.split("/") if segment]
        if not segments:
            raise GraphError(400, "BadRequest", "Resource not found for the segment ''.")
        if segments[0].lower() == "me":
            raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        if segments[0].lower() != "users":
            raise GraphError(404, "ResourceNotFound", f"Resource not found for the segment '{segments[0]}'.")
        if len(segments) < 3:
            raise GraphError(501, "NotImplemented", "Only a user's calendars and contacts are served here.")
        address = segments[1]
        rest = [segment.lower() for segment in segments[2:]]
        raw = segments[2:]
        with self.store.lock:
            mailbox = self.store.mailbox(address)
            if mailbox is None:
                raise GraphError(404, "ErrorInvalidUser", f"The requested user '{address}' is invalid.")
            if not self.identity.may_reach(grant, mailbox.address):
                raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            context = Call(self, mailbox, method, query, request.headers, request.body, address, parts.path)
            return context.dispatch(rest, raw)

    # $batch -------------------------------------------------------------------------------------

    def _batch(self, grant: Grant, request: GraphRequest) -> GraphResponse:
        data = _json_body(request.body)
        entries = data.get("requests") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries:
            raise GraphError(400, "BadRequest", "A batch needs a non-empty array 'requests'.")
        if len(entries) > MAX_BATCH:
            raise GraphError(400, "BadRequest", f"The number of batch requests exceeds {MAX_BATCH}.")
        ids = [entry.get("id") if isinstance(entry, dict) else None for entry in entries]
        if any(not isinstance(i, str) or not i for i in ids) or len(set(ids)) != len(ids):
            raise GraphError(400, "BadRequest", "Each batch request needs a unique string id.")
        answers: dict[str, dict[str, Any]] = {}
        for entry in entries:
            answers[entry["id"]] = self._batch_one(grant, entry, answers)
        return GraphResponse(200, {"responses": [answers[str(i)] for i in ids]})

    def _batch_one(self, grant: Grant, entry: dict[str, Any], done: dict[str, dict[str, Any]]) -> dict[str, Any]:
        depends = entry.get("dependsOn") or []
        if not isinstance(depends, list) or any(d not in done for d in depends):
            return _batch_answer(
                entry["id"], GraphResponse(400, error_body("BadRequest", "dependsOn names an id not before this one."))
            )
        if any(done[d]["status"] >= 400 for d in depends):
            return _batch_answer(
                entry["id"], GraphResponse(424, error_body("FailedDependency", "A request it depends on failed."))
            )
        method, url = entry.get("method"), entry.get("url")
        if not isinstance(method, str) or not isinstance(url, str) or not url:
            return _batch_answer(
                entry["id"], GraphResponse(400, error_body("BadRequest", "A batch request needs method and url."))
            )
        if not url.startswith("/"):
            url = "/" + url
        if url.lower().startswith("/v1.0/"):
            url = url[5:]
        headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
        body = entry.get("body")
        raw = b"" if body is None else json.dumps(body).encode()
        if url.lower().startswith("/$batch"):
            answer = GraphResponse(400, error_body("BadRequest", "A batch cannot hold a batch."))
        else:
            answer = self.handle(grant, GraphRequest(method, url, headers, raw))
        return _batch_answer(entry["id"], answer)


def _batch_answer(request_id: str, answer: GraphResponse) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"} if answer.body is not None else {}
    headers.update(answer.headers)
    result: dict[str, Any] = {"id": request_id, "status": answer.status, "headers": headers}
    if answer.body is not None:
        result["body"] = answer.body
    return result


def _query(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        found[name.strip().lower()] = value
    return found


def _json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload. The body is not JSON.") from None


# one request in one mailbox ---------------------------------------------------------------------


@dataclass
class Call:
    graph: Graph
    mailbox: Mailbox
    method: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    user: str  # as the client wrote it, for links
    path: str  # the request's path after /v1.0, for nextLinks

    # preferences

    @property
    def zone_name(self) -> str:
        match = re.search(r'outlook\.timezone\s*=\s*"([^"]+)"', self.headers.get("prefer", ""))
        if match and zone_named(match.group(1)) is not None:
            return match.group(1)
        return "UTC"

    @property
    def text_body(self) -> bool:
        return bool(re.search(r'outlook\.body-content-type\s*=\s*"?text"?', self.headers.get("prefer", ""), re.I))

    @property
    def page_size(self) -> int:
        match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", self.headers.get("prefer", ""))
        if match:
            return max(1, min(MAX_PAGE, int(match.group(1))))
        return DEFAULT_PAGE

    def _applied(self) -> dict[str, str]:
        applied = []
        if "outlook.timezone" in self.headers.get("prefer", ""):
            applied.append(f'outlook.timezone="{self.zone_name}"')
        if self.text_body:
            applied.append('outlook.body-content-type="text"')
        if "odata.maxpagesize" in self.headers.get("prefer", ""):
            applied.append(f"odata.maxpagesize={self.page_size}")
        return {"Preference-Applied": ", ".join(applied)} if applied else {}

    def ok(self, status: int, body: dict[str, Any] | None) -> GraphResponse:
        return GraphResponse(status, body, self._applied())

    @property
    def users_root(self) -> str:
        return f"{self.graph.root}/users/{quote(self.user, safe='@')}"

    def context(self, what: str) -> str:
        return f"{self.graph.root}/$metadata#users('{self.user}')/{what}"

    # dispatch

    def dispatch(self, rest: list[str], raw: list[str]) -> GraphResponse:
        head = rest[0]
        if head == "calendar":
            folder = self.mailbox.distinguished["calendar"]
            return self._in_calendar(folder, rest[1:], raw[1:])
        if head == "calendars":
            if len(rest) == 1:
                return self._calendars()
            folder = self._delta_folder(raw[1], "calendar", rest[2:] == ["calendarview", "delta"])
            return self._in_calendar(folder, rest[2:], raw[2:])
        if head == "events":
            return self._events(self.mailbox.distinguished["calendar"], rest[1:], raw[1:], any_calendar=True)
        if head == "calendarview":
            return self._calendar_view(self.mailbox.distinguished["calendar"], rest[1:])
        if head == "contacts":
            return self._contacts(self.mailbox.distinguished["contacts"], rest[1:], raw[1:], any_folder=True)
        if head == "contactfolders":
            if len(rest) == 1:
                return self._contact_folders()
            if rest[1] == "delta" and len(rest) == 2:
                return self._contact_folders_delta()
            folder = self._delta_folder(raw[1], "contacts", rest[2:] == ["contacts", "delta"])
            if len(rest) == 2:
                return self._one_contact_folder(folder)
            if rest[2] == "childfolders" and len(rest) == 3:
                return self._child_contact_folders(folder)
            if rest[2] == "contacts":
                return self._contacts(folder, rest[3:], raw[3:])
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{raw[2]}'.")
        if head in ("messages", "mailfolders", "planner", "memberof", "drive", "todo"):
            raise GraphError(501, "NotImplemented", f"'{raw[0]}' is not served by this stand-in.")
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{raw[0]}'.")

    # folders ----------------------------------------------------------------------------------

    def _folder(self, text: str, kind: str) -> Folder:
        parsed = self.graph.store.codec.parse(ews_id(text))
        if parsed is None or parsed.mailbox != self.mailbox.key:
            raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        folder = self.mailbox.folder_by_serial(parsed.serial)
        wanted = folder is not None and (folder.holds_calendar_items if kind == "calendar" else folder.holds_contacts)
        if folder is None or not wanted:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return folder

    def _delta_folder(self, text: str, kind: str, is_delta: bool) -> Folder:
        """The folder of a path; for a delta link whose folder is gone: 410 resyncRequired."""
        try:
            return self._folder(text, kind)
        except GraphError as exc:
            if exc.status == 404 and is_delta and ("$deltatoken" in self.query or "$skiptoken" in self.query):
                raise GraphError(
                    410, "resyncRequired", "The folder of this delta is gone: start a new round."
                ) from None
            raise

    def _calendar_folders(self) -> list[Folder]:
        top = self.mailbox.distinguished["msgfolderroot"]
        folders = [self.mailbox.distinguished["calendar"], *self.mailbox.descendants(top)]
        return _unique([f for f in folders if f.holds_calendar_items and not self._in_trash(f)])

    def _in_trash(self, folder: Folder) -> bool:
        trash = self.mailbox.distinguished["deleteditems"]
        return any(f.serial == trash.serial for f in self.mailbox.path_of(folder))

    def _calendars(self) -> GraphResponse:
        if self.method == "GET":
            values = [calendar_json(self.mailbox, f) for f in self._calendar_folders()]
            return self.ok(200, {"@odata.context": self.context("calendars"), "value": self._select(values)})
        if self.method == "POST":
            data = self._object()
            name = data.get("name")
            if not isinstance(name, str) or not name.strip():
                raise GraphError(400, "ErrorInvalidRequest", "A calendar needs a name.")
            parent = self.mailbox.distinguished["calendar"]
            if any(f.display_name.casefold() == name.strip().casefold() for f in self._calendar_folders()):
                raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
            folder = self.mailbox.new_folder(parent, name.strip(), "IPF.Appointment")
            return self.ok(
                201, {"@odata.context": self.context("calendars/$entity"), **calendar_json(self.mailbox, folder)}
            )
        raise _not_allowed()

    def _in_calendar(self, folder: Folder, rest: list[str], raw: list[str]) -> GraphResponse:
        if not rest:
            if self.method == "GET":
                return self.ok(
                    200, {"@odata.context": self.context("calendars/$entity"), **calendar_json(self.mailbox, folder)}
                )
            if self.method == "DELETE":
                if folder.distinguished == "calendar":
                    raise GraphError(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
                self.mailbox.remove_folder(folder)
                return self.ok(204, None)
            if self.method == "PATCH":
                data = self._object()
                if "name" in data:
                    if not isinstance(data["name"], str) or not data["name"].strip():
                        raise GraphError(400, "ErrorInvalidRequest", "A calendar needs a name.")
                    folder.display_name = data["name"].strip()
                    self.mailbox.touch_folder(folder)
                return self.ok(200, calendar_json(self.mailbox, folder))
            raise _not_allowed()
        if rest[0] == "events":
            return self._events(folder, rest[1:], raw[1:])
        if rest[0] == "calendarview":
            return self._calendar_view(folder, rest[1:])
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{raw[0]}'.")

    # events -----------------------------------------------------------------------------------

    def _item(self, text: str, element: str) -> tuple[Item, Item | None, int | None]:
        """(the item, its master, the occurrence index) of a Graph id: an item or an occurrence."""
        parsed = self.graph.store.codec.parse(ews_id(text))
        if parsed is None or parsed.mailbox != self.mailbox.key:
            raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        if parsed.kind == recurrence.ids.OCCURRENCE:
            serial, index = parsed.serial >> recurrence.INDEX_BITS, parsed.serial & ((1 << recurrence.INDEX_BITS) - 1)
            master = self.mailbox.items.get(serial)
            if master is None:
                raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            try:
                return recurrence.occurrence_item(self.mailbox, master, index), master, index
            except EwsError:
                raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.") from None
        item = self.mailbox.items.get(parsed.serial)
        if item is None or item.element != element:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return item, None, None

    def _event(
        self,
        item: Item,
        master: Item | None = None,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        event_type: str | None = None,
    ) -> dict[str, Any]:
        source = master or item
        if event_type is None and item.occurrence_of is not None:
            event_type = "exception" if item.is_exception else "occurrence"
        data = event_json(
            self.mailbox,
            item,
            zone_name=self.zone_name,
            text_body=self.text_body,
            start=start,
            end=end,
            event_type=event_type,
            master=master,
            transaction_id=self._transaction_of(source),
        )
        self._expand(data, item.extended, computed_properties(item))
        return data

    def _transaction_of(self, item: Item) -> str | None:
        with self.graph.lock:
            return self.graph.transaction_of.get((self.mailbox.address.lower(), item.serial))

    def _events(self, folder: Folder, rest: list[str], raw: list[str], any_calendar: bool = False) -> GraphResponse:
        if not rest:
            if self.method == "GET":
                items = [
                    i
                    for f in (self._calendar_folders() if any_calendar else [folder])
                    for i in self.mailbox.folder_items(f)
                    if i.element == "CalendarItem"
                ]
                items = self._filtered(items)
                return self._page([self._event(i) for i in items], "events")
            if self.method == "POST":
                return self._create_event(folder)
            raise _not_allowed()
        item, master, index = self._item(raw[0], "CalendarItem")
        if not any_calendar and master is None and item.folder != folder.serial:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if len(rest) == 1:
            if self.method == "GET":
                return self.ok(
                    200,
                    self._select_one({"@odata.context": self.context("events/$entity"), **self._event(item, master)}),
                )
            self._check_etag(item)
            if master is not None:
                return self._occurrence_change(item, master)
            if self.method == "PATCH":
                return self._patch_event(item)
            if self.method == "DELETE":
                self.mailbox.remove_item(item)
                self._forget_transaction(item)
                return self.ok(204, None)
            raise _not_allowed()
        if rest[1] == "instances" and len(rest) == 2 and self.method == "GET":
            start, end = self._window()
            source = master or item
            values = [
                self._view_event(source, occurrence)
                for occurrence in recurrence.occurrences(source, start, end, self.mailbox)
            ]
            return self._page(values, "events")
        if rest[1] == "singlevalueextendedproperties":
            raise GraphError(501, "NotImplemented", "Use $expand=singleValueExtendedProperties on the event.")
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{raw[1]}'.")

    def _create_event(self, folder: Folder) -> GraphResponse:
        data = self._object()
        transaction = data.get("transactionId")
        key = (self.mailbox.address.lower(), str(transaction)) if transaction else None
        if key is not None:
            with self.graph.lock:
                serial = self.graph.transactions.get(key)
            existing = self.mailbox.items.get(serial) if serial is not None else None
            if existing is not None:
                return self.ok(201, {"@odata.context": self.context("events/$entity"), **self._event(existing)})
        props: dict[str, Any] = {}
        event_props(data, props)
        extended = (
            read_extended(data["singleValueExtendedProperties"]) if "singleValueExtendedProperties" in data else {}
        )
        apply_defaults("CalendarItem", props)
        item = self.mailbox.add_item(folder, "CalendarItem", props, extended)
        try:
            normalize(item)
        except EwsError as exc:
            self.mailbox.remove_item(item)
            raise GraphError(400, exc.code, str(exc)) from None
        if key is not None:
            with self.graph.lock:
                self.graph.transactions[key] = item.serial
                self.graph.transaction_of[(key[0], item.serial)] = key[1]
        return self.ok(201, {"@odata.context": self.context("events/$entity"), **self._event(item)})

    def _patch_event(self, item: Item) -> GraphResponse:
        data = self._object()
        if "transactionId" in data:
            raise GraphError(400, "ErrorInvalidProperty", "transactionId can be set only when an event is created.")
        props = dict(item.props)
        event_props(data, props)
        extended = dict(item.extended)
        if "singleValueExtendedProperties" in data:
            extended.update(read_extended(data["singleValueExtendedProperties"]))
        before = item.props
        item.props = props
        try:
            normalize(item)
        except EwsError as exc:
            item.props = before
            raise GraphError(400, exc.code, str(exc)) from None
        item.extended = extended
        recurrence.master_changed(item, before)
        self.mailbox.touch_item(item)
        return self.ok(200, {"@odata.context": self.context("events/$entity"), **self._event(item)})

    def _occurrence_change(self, occurrence: Item, master: Item) -> GraphResponse:
        """PATCH or DELETE of one occurrence: it becomes an exception, or a deleted occurrence, of
        its series (the master keeps both, as Exchange does)."""
        if self.method == "DELETE":
            recurrence.delete_occurrence(self.mailbox, master, occurrence)
            return self.ok(204, None)
        if self.method != "PATCH":
            raise _not_allowed()
        data = self._object()
        if "transactionId" in data:
            raise GraphError(400, "ErrorInvalidProperty", "transactionId can be set only when an event is created.")
        if data.get("recurrence") is not None:
            raise GraphError(400, "ErrorInvalidRequest", "An occurrence or exception cannot have a recurrence.")
        data.pop("recurrence", None)
        props = dict(occurrence.props)
        event_props(data, props)
        extended = dict(occurrence.extended)
        if "singleValueExtendedProperties" in data:
            extended.update(read_extended(data["singleValueExtendedProperties"]))
        probe = Item(serial=0, id="", element="CalendarItem", folder=master.folder, props=props, extended=extended)
        try:
            normalize(probe)
            changed = recurrence.change_occurrence(self.mailbox, master, occurrence, probe.props, extended)
        except EwsError as exc:
            raise GraphError(400, exc.code, str(exc)) from None
        return self.ok(200, {"@odata.context": self.context("events/$entity"), **self._event(changed, master)})

    def _forget_transaction(self, item: Item) -> None:
        with self.graph.lock:
            transaction = self.graph.transaction_of.pop((self.mailbox.address.lower(), item.serial), None)
            if transaction is not None:
                self.graph.transactions.pop((self.mailbox.address.lower(), transaction), None)

    def _check_etag(self, item: Item) -> None:
        wanted = self.headers.get("if-match")
        if wanted is None or wanted.strip() == "*":
            return
        tags = {tag.strip().removeprefix("W/").strip('"') for tag in wanted.split(",")}
        if item.changekey not in tags:
            raise GraphError(
                412,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the "
                "change key passed in the request does not match the current change key for the item.",
            )

    # calendarView and its delta ---------------------------------------------------------------

    def _window(self) -> tuple[dt.datetime, dt.datetime]:
        if "startdatetime" not in self.query or "enddatetime" not in self.query:
            raise GraphError(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters "
                "StartDateTime and EndDateTime.",
            )
        start = parse_instant(self.query["startdatetime"], "startDateTime")
        end = parse_instant(self.query["enddatetime"], "endDateTime")
        if end <= start:
            raise GraphError(400, "ErrorInvalidParameter", "endDateTime must be after startDateTime.")
        return start, end

    def _view_entries(
        self, folder: Folder, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[str, Item, recurrence.Occurrence]]:
        found = []
        for item in self.mailbox.folder_items(folder):
            if item.element != "CalendarItem":
                continue
            for occurrence in recurrence.occurrences(item, start, end, self.mailbox):
                entry_id = occurrence.id if occurrence.index is not None else item.id
                found.append((graph_id(entry_id or item.id), item, occurrence))
        found.sort(key=lambda entry: (entry[2].start, entry[0]))
        return found

    def _view_event(self, item: Item, occurrence: recurrence.Occurrence) -> dict[str, Any]:
        if occurrence.index is None:
            return self._event(item)
        assert occurrence.own is not None
        return self._event(occurrence.own, item)

    def _calendar_view(self, folder: Folder, rest: list[str]) -> GraphResponse:
        if self.method != "GET":
            raise _not_allowed()
        if not rest:
            start, end = self._window()
            entries = self._view_entries(folder, start, end)
            values = [self._view_event(item, occurrence) for _id, item, occurrence in entries]
            return self._page(values, "events")
        if rest == ["delta"]:
            return self._delta("events", folder)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")

    def _delta(self, kind: str, folder: Folder | None) -> GraphResponse:
        if kind == "events" and "$expand" in self.query:
            # calendarView delta takes no $expand (Graph's event-delta page, "OData query
            # parameters"); Exchange Online answers it so (msgraph-sdk-dotnet issue 2678)
            raise GraphError(
                400,
                "BadRequest",
                "Parsing OData Select and Expand failed: Value cannot be null. (Parameter 'initialState')",
            )
        skip = self.query.get("$skiptoken")
        delta = self.query.get("$deltatoken")
        if skip is not None:
            round_ = self.graph.deltas.take_round(skip)
            if round_ is None:
                raise _sync_state_not_found()
        else:
            if delta is not None:
                found = self.graph.deltas.delta(delta)
                if found is None:
                    raise _sync_state_not_found()
                scope, known = found
                if scope.mailbox != self.mailbox.address.lower() or scope.kind != kind:
                    raise _sync_state_not_found()
            else:
                start = end = None
                if kind == "events":
                    start, end = self._window()
                scope = Scope(kind, self.mailbox.address.lower(), folder.serial if folder else None, start, end)
                known = {}
            round_ = self._start_round(scope, known)
        return self._delta_page(round_)

    def _current(self, scope: Scope) -> dict[str, tuple[int, int | None, int]]:
        """entry id -> (item serial, occurrence index, change number) of what the scope holds now."""
        if scope.kind == "contactFolders":
            top = self.mailbox.distinguished["contacts"]
            return {graph_id(f.id): (f.serial, None, f.change_number) for f in [top, *self.mailbox.descendants(top)]}
        folder = self.mailbox.folder_by_serial(scope.folder) if scope.folder is not None else None
        if folder is None:
            raise GraphError(410, "resyncRequired", "The folder of this delta is gone: start a new round.")
        if scope.kind == "contacts":
            return {
                graph_id(i.id): (i.serial, None, i.change_number)
                for i in self.mailbox.folder_items(folder)
                if i.element == "Contact"
            }
        assert scope.start is not None and scope.end is not None
        return {
            entry_id: (item.serial, occurrence.index, occurrence.entry.change_number)
            for entry_id, item, occurrence in self._view_entries(folder, scope.start, scope.end)
        }

    def _start_round(self, scope: Scope, known: dict[str, int]) -> Round:
        current = self._current(scope)
        pending = [
            (entry_id, serial, index)
            for entry_id, (serial, index, change) in current.items()
            if known.get(entry_id) != change
        ]
        removed = [entry_id for entry_id in known if entry_id not in current]
        return Round(scope, pending, removed, {entry_id: change for entry_id, (_s, _i, change) in current.items()})

    def _delta_page(self, round_: Round) -> GraphResponse:
        size = self.page_size
        values: list[dict[str, Any]] = []
        odata_type = {
            "events": "#microsoft.graph.event",
            "contacts": "#microsoft.graph.contact",
            "contactFolders": "#microsoft.graph.contactFolder",
        }[round_.scope.kind]
        while round_.pending and len(values) < size:
            entry_id, serial, index = round_.pending.pop(0)
            values.append(self._delta_entry(round_.scope, entry_id, serial, index, odata_type))
        while round_.removed and len(values) < size:
            values.append({"@odata.type": odata_type, "id": round_.removed.pop(0), "@removed": {"reason": "deleted"}})
        link = f"{self.users_root}/{_delta_path(round_.scope, self.mailbox)}"
        body: dict[str, Any] = {"@odata.context": f"{self.graph.root}/$metadata#Collection({odata_type[17:]})"}
        if round_.pending or round_.removed:
            body["@odata.nextLink"] = f"{link}?$skiptoken={self.graph.deltas.keep_round(round_)}"
        else:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={self.graph.deltas.keep_delta(round_.scope, round_.known)}"
        # calendarView delta answers the properties GET /calendarView answers: its $select is not applied
        body["value"] = values if round_.scope.kind == "events" else self._select(values)
        return self.ok(200, body)

    def _delta_entry(
        self, scope: Scope, entry_id: str, serial: int, index: int | None, odata_type: str
    ) -> dict[str, Any]:
        gone = {"@odata.type": odata_type, "id": entry_id, "@removed": {"reason": "deleted"}}
        if scope.kind == "contactFolders":
            folder = self.mailbox.folder_by_serial(serial)
            return gone if folder is None else {"@odata.type": odata_type, **contact_folder_json(self.mailbox, folder)}
        item = self.mailbox.items.get(serial)
        if item is None:
            return gone
        if scope.kind == "contacts":
            return {"@odata.type": odata_type, **self._contact(item)}
        if index is None:
            return {"@odata.type": odata_type, **self._event(item)}
        occurrence = next(
            (
                o
                for o in recurrence.occurrences(item, scope.start, scope.end, self.mailbox)  # type: ignore[arg-type]
                if o.index == index
            ),
            None,
        )
        return gone if occurrence is None else {"@odata.type": odata_type, **self._view_event(item, occurrence)}

    # contacts ---------------------------------------------------------------------------------

    def _contact(self, item: Item) -> dict[str, Any]:
        data = contact_json(item, self.mailbox.folders[item.folder])
        self._expand(data, item.extended, computed_properties(item))
        return data

    def _contact_folders_all(self) -> list[Folder]:
        top = self.mailbox.distinguished["contacts"]
        return [top, *[f for f in self.mailbox.descendants(top) if f.holds_contacts]]

    def _top_contact_folders(self) -> list[Folder]:
        """What Graph lists at /contactFolders: the mailbox's top-level contact folders (the Contacts
        folder and its siblings), not their sub-folders (those are each folder's childFolders)."""
        contacts = self.mailbox.distinguished["contacts"]
        parent = self.mailbox.folder_by_serial(contacts.parent) if contacts.parent is not None else None
        if parent is None:
            return [contacts]
        return [f for f in self.mailbox.children(parent) if f.holds_contacts]

    def _contact_folders(self) -> GraphResponse:
        if self.method == "GET":
            values = [contact_folder_json(self.mailbox, f) for f in self._top_contact_folders()]
            return self._page(values, "contactFolders")
        if self.method == "POST":  # under the default Contacts folder, or the parentFolderId given
            data = self._object()
            parent_id = data.get("parentFolderId")
            parent = (
                self._folder(parent_id, "contacts")
                if isinstance(parent_id, str) and parent_id
                else self.mailbox.distinguished["contacts"]
            )
            return self._new_contact_folder(parent, data)
        raise _not_allowed()

    def _child_contact_folders(self, folder: Folder) -> GraphResponse:
        """/contactFolders/{id}/childFolders: the folder's direct sub-folders; POST makes one."""
        if self.method == "GET":
            values = [contact_folder_json(self.mailbox, f) for f in self.mailbox.children(folder) if f.holds_contacts]
            return self._page(values, f"contactFolders('{graph_id(folder.id)}')/childFolders")
        if self.method == "POST":
            return self._new_contact_folder(folder, self._object())
        raise _not_allowed()

    def _new_contact_folder(self, parent: Folder, data: dict[str, Any]) -> GraphResponse:
        name = data.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise GraphError(400, "ErrorInvalidRequest", "A contact folder needs a displayName.")
        if any(f.display_name.casefold() == name.strip().casefold() for f in self.mailbox.children(parent)):
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        folder = self.mailbox.new_folder(parent, name.strip(), "IPF.Contact")
        return self.ok(
            201,
            {"@odata.context": self.context("contactFolders/$entity"), **contact_folder_json(self.mailbox, folder)},
        )

    def _one_contact_folder(self, folder: Folder) -> GraphResponse:
        if self.method == "GET":
            return self.ok(
                200,
                {"@odata.context": self.context("contactFolders/$entity"), **contact_folder_json(self.mailbox, folder)},
            )
        if self.method == "DELETE":
            if folder.distinguished:
                raise GraphError(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
            self.mailbox.remove_folder(folder)
            return self.ok(204, None)
        raise _not_allowed()

    def _contact_folders_delta(self) -> GraphResponse:
        if self.method != "GET":
            raise _not_allowed()
        return self._delta("contactFolders", None)

    def _contacts(self, folder: Folder, rest: list[str], raw: list[str], any_folder: bool = False) -> GraphResponse:
        if not rest:
            if self.method == "GET":
                folders = self._contact_folders_all() if any_folder else [folder]
                items = [i for f in folders for i in self.mailbox.folder_items(f) if i.element == "Contact"]
                return self._page([self._contact(i) for i in self._filtered(items)], "contacts")
            if self.method == "POST":
                data = self._object()
                props: dict[str, Any] = {}
                contact_props(data, props)
                extended = (
                    read_extended(data["singleValueExtendedProperties"])
                    if "singleValueExtendedProperties" in data
                    else {}
                )
                apply_defaults("Contact", props)
                item = self.mailbox.add_item(folder, "Contact", props, extended)
                return self.ok(201, {"@odata.context": self.context("contacts/$entity"), **self._contact(item)})
            raise _not_allowed()
        if rest == ["delta"]:
            if self.method != "GET":
                raise _not_allowed()
            return self._delta("contacts", folder)
        item, _master, _index = self._item(raw[0], "Contact")
        if not any_folder and item.folder != folder.serial:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if len(rest) > 1:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{raw[1]}'.")
        if self.method == "GET":
            return self.ok(
                200, self._select_one({"@odata.context": self.context("contacts/$entity"), **self._contact(item)})
            )
        self._check_etag(item)
        if self.method == "PATCH":
            data = self._object()
            props = dict(item.props)
            contact_props(data, props)
            if "singleValueExtendedProperties" in data:
                item.extended = {**item.extended, **read_extended(data["singleValueExtendedProperties"])}
            item.props = props
            self.mailbox.touch_item(item)
            return self.ok(200, {"@odata.context": self.context("contacts/$entity"), **self._contact(item)})
        if self.method == "DELETE":
            self.mailbox.remove_item(item)
            return self.ok(204, None)
        raise _not_allowed()

    # query options ----------------------------------------------------------------------------

    def _object(self) -> dict[str, Any]:
        data = _json_body(self.body)
        if not isinstance(data, dict):
            raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
        return data

    def _expand(self, data: dict[str, Any], extended: dict, computed: dict) -> None:
        """singleValueExtendedProperties as $expand asks: those its $filter names, the ones the
        store computes (`computed`, computed.py) among them, or else all the item's own."""
        expand = self.query.get("$expand")
        if not expand:
            return
        match = re.fullmatch(r"\s*singleValueExtendedProperties\s*(?:\(\s*\$filter\s*=\s*(.+)\))?\s*", expand, re.I)
        if match is None:
            raise GraphError(400, "BadRequest", f"Parsing OData Select and Expand failed: cannot expand {expand!r}.")
        wanted = None
        if match.group(1):
            ids = re.findall(r"\bid\s+eq\s+'([^']*)'", match.group(1), re.I)
            if not ids:
                raise GraphError(400, "BadRequest", "The $filter of the expansion must be id eq '...' (or ...).")
            wanted = ids
        found = extended if wanted is None else {**extended, **computed}
        data["singleValueExtendedProperties"] = extended_json(found, wanted)
        data["singleValueExtendedProperties@odata.context"] = self.context("singleValueExtendedProperties")

    def _filtered(self, items: list[Item]) -> list[Item]:
        text = self.query.get("$filter")
        if not text:
            return items
        return [item for item in items if matches(text, item)]

    def _select(self, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self._select_one(value) for value in values]

    def _select_one(self, value: dict[str, Any]) -> dict[str, Any]:
        select = self.query.get("$select")
        if not select:
            return value
        names = {name.strip().lower() for name in select.split(",") if name.strip()}
        if "location" in names:
            names.add("locations")  # Graph gives both for either
        return {
            k: v
            for k, v in value.items()
            if k.startswith("@") or k == "id" or k.lower() in names or k.startswith("singleValueExtendedProperties")
        }

    def _page(self, values: list[dict[str, Any]], what: str) -> GraphResponse:
        try:
            top = int(self.query.get("$top", DEFAULT_PAGE if "$top" not in self.query else self.query["$top"]))
            skip = int(self.query.get("$skip", "0"))
        except ValueError:
            raise GraphError(400, "BadRequest", "$top and $skip must be whole numbers.") from None
        if top < 1 or skip < 0:
            raise GraphError(400, "BadRequest", "$top must be positive and $skip not negative.")
        top = min(top, MAX_PAGE)
        body: dict[str, Any] = {"@odata.context": self.context(what), "value": self._select(values[skip : skip + top])}
        if skip + top < len(values):
            query = {k: v for k, v in self.query.items() if k != "$skip"}
            query["$skip"] = str(skip + top)
            rest = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
            body["@odata.nextLink"] = f"{self.graph.root}{self.path}?{rest}"
        return self.ok(200, body)


def _delta_path(scope: Scope, mailbox: Mailbox) -> str:
    if scope.kind == "contactFolders":
        return "contactFolders/delta"
    folder = mailbox.folders[scope.folder] if scope.folder is not None else None
    assert folder is not None
    if scope.kind == "contacts":
        return f"contactFolders/{graph_id(folder.id)}/contacts/delta"
    return f"calendars/{graph_id(folder.id)}/calendarView/delta"


def _unique(folders: list[Folder]) -> list[Folder]:
    seen: set[int] = set()
    found = []
    for folder in folders:
        if folder.serial not in seen:
            seen.add(folder.serial)
            found.append(folder)
    return found


def _not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def _sync_state_not_found() -> GraphError:
    return GraphError(
        410, "syncStateNotFound", "The sync state is not found (or has expired): start a new round without a token."
    )
