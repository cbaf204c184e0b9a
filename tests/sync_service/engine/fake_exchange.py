"""An in-memory Exchange mailbox behind the ExchangeClient interface, for the engine's tests.

It behaves as Exchange (through the gateway) does, and tests/contract holds it to that: every
write gets a new change key and is reported by the change feed, the sync's own included; the feed
gives ids and change keys, not items (the engine fetches with `get`); changes are collapsed per
item as SyncFolderItems does, so that an item made and deleted between two reads is not reported
at all. Items of kinds the sync does not handle (a contact group) are reported as `unsupported`.

Any operation can fail before or after it takes effect: `before` leaves nothing done; `after`
does the work and loses the answer (as a timeout does); `late` loses the answer and does the work
only at the end of the next create, after the lookup by external id found nothing (a create still
running in a thread the gateway abandoned, as can happen when the gateway is restarted);
`item` answers each item with the error.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from sync_service.engine.exchange_client import MailboxTrouble


@dataclass
class Failure:
    op: str
    when: str  # before | after | late | item (a per-item error answer)
    code: str = "timeout"
    count: int = 1


@dataclass
class FakeExchange:
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, id, kind)
    failures: list[Failure] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _late: list[tuple[str, list[Mapping[str, Any]]]] = field(default_factory=list)

    # -- the user, in Outlook ---------------------------------------------------------------------

    def user_create(self, **entry: Any) -> str:
        item_id = f"AAMk{next(self._ids):06d}"
        base = {"subject": "", "body": "", "location": "", "all_day": False, "private": False, "timezone": "UTC",
                "reminder_minutes": 15, "categories": [], "external_id": None, "recurring": False}  # fmt: skip
        self.items[item_id] = {**base, **entry, "id": item_id, "change_key": f"ck{next(self._ids)}"}
        self._logged(item_id, "create")
        return item_id

    def user_create_group(self, name: str) -> str:
        """A contact group (or any item of a kind the sync does not handle)."""
        item_id = f"AAMk{next(self._ids):06d}"
        self.items[item_id] = {"id": item_id, "change_key": f"ck{next(self._ids)}", "item_type": "DistributionList",
                               "display_name": name}  # fmt: skip
        self._logged(item_id, "create")
        return item_id

    def user_copy(self, item_id: str, **changes: Any) -> str:
        """Outlook's copy of an item: every property, our extended property included."""
        original = {k: v for k, v in self.items[item_id].items() if k not in ("id", "change_key")}
        return self.user_create(**{**original, **changes})

    def user_update(self, item_id: str, **changes: Any) -> None:
        self.items[item_id].update(changes, change_key=f"ck{next(self._ids)}")
        self._logged(item_id, "update")

    def user_delete(self, item_id: str) -> None:
        del self.items[item_id]
        self._logged(item_id, "delete")

    def _logged(self, item_id: str, kind: str) -> None:
        self.log.append((len(self.log) + 1, item_id, kind))

    # -- failures ---------------------------------------------------------------------------------

    def fail(self, op: str, when: str = "before", code: str = "timeout", count: int = 1) -> None:
        self.failures.append(Failure(op, when, code, count))

    def _failure(self, op: str) -> Failure | None:
        self.calls.append(op)
        for failure in self.failures:
            if failure.op == op and failure.count > 0:
                failure.count -= 1
                return failure
        return None

    def _trouble(self, failure: Failure) -> MailboxTrouble:
        return MailboxTrouble(
            failure.code, f"injected {failure.when} {failure.op}", 1.0 if failure.code == "throttled" else None
        )

    # -- the ExchangeClient interface ---------------------------------------------------------------

    async def ensure_folder(self, name: str) -> None:
        self.folders.add(name)

    async def changes(self, folder: str, sync_state: str | None, max_changes: int) -> Mapping[str, Any]:
        failure = self._failure("changes")
        if failure:
            raise self._trouble(failure)
        if folder and folder not in self.folders:
            raise MailboxTrouble("not_found", f"there is no calendar folder {folder!r}")
        since = int(sync_state or 0)
        last: dict[str, str] = {}
        first_kind: dict[str, str] = {}
        upto = since
        for seq, item_id, kind in self.log:
            if seq <= since:
                continue
            if item_id not in last and len(last) >= max_changes:
                break
            first_kind.setdefault(item_id, kind)
            last[item_id] = kind
            upto = seq
        changes: list[dict[str, Any]] = []
        for item_id, kind in last.items():
            if kind == "delete":
                if first_kind[item_id] != "create":  # made and gone again since the last read: nothing at all
                    changes.append({"type": "delete", "id": item_id, "change_key": None, "item": None})
            elif item_id in self.items:
                item = self.items[item_id]
                kind = "create" if first_kind[item_id] == "create" else "update"
                if "item_type" in item:
                    kind = "unsupported"
                change = {"type": kind, "id": item_id, "change_key": item["change_key"], "item": None}
                if "item_type" in item:
                    change["item_type"] = item["item_type"]
                changes.append(change)
        complete = upto >= (self.log[-1][0] if self.log else 0)
        return {"changes": changes, "sync_state": str(upto), "complete": complete}

    async def create(self, folder: str, entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        failure = self._failure("create")
        if failure and failure.when == "before":
            raise self._trouble(failure)
        if failure and failure.when == "late":
            self._late.append((folder, list(entries)))
            raise self._trouble(failure)
        results = []
        for entry in entries:
            if failure and failure.when == "item":
                results.append({"ok": False, "id": None, "error": {"code": failure.code, "message": "injected"}})
                continue
            item_id = self.user_create(**{k: v for k, v in entry.items() if k not in ("id", "change_key")})
            results.append({"ok": True, "id": item_id, "change_key": self.items[item_id]["change_key"]})
        if failure and failure.when == "after":
            raise self._trouble(failure)
        self._finish_late_creates()  # an abandoned create ends after the one sent again
        return results

    def _finish_late_creates(self) -> None:
        for _, entries in self._late:
            for entry in entries:
                self.user_create(**{k: v for k, v in entry.items() if k not in ("id", "change_key")})
        self._late.clear()

    async def update(self, items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        failure = self._failure("update")
        if failure and failure.when == "before":
            raise self._trouble(failure)
        results = []
        for update in items:
            current = self.items.get(update["id"])
            if failure and failure.when == "item":
                results.append(
                    {"ok": False, "id": update["id"], "error": {"code": failure.code, "message": "injected"}}
                )
            elif current is None:
                results.append({"ok": False, "id": update["id"], "error": {"code": "not_found", "message": "gone"}})
            elif update.get("change_key") and update["change_key"] != current["change_key"]:
                results.append({"ok": False, "id": update["id"], "error": {"code": "conflict", "message": "changed"}})
            else:
                self.user_update(
                    update["id"], **{f: update["item"][f] for f in update["fields"] if f in update["item"]}
                )
                results.append({"ok": True, "id": update["id"], "change_key": self.items[update["id"]]["change_key"]})
        if failure and failure.when == "after":
            raise self._trouble(failure)
        return results

    async def delete(self, refs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        failure = self._failure("delete")
        if failure and failure.when == "before":
            raise self._trouble(failure)
        results = []
        for ref in refs:
            if failure and failure.when == "item":
                results.append({"ok": False, "id": ref["id"], "error": {"code": failure.code, "message": "injected"}})
            elif ref["id"] in self.items:
                self.user_delete(ref["id"])
                results.append({"ok": True, "id": ref["id"], "change_key": None})
            else:
                results.append({"ok": False, "id": ref["id"], "error": {"code": "not_found", "message": "gone"}})
        if failure and failure.when == "after":
            raise self._trouble(failure)
        return results

    async def find_external(self, folder: str, external_ids: Sequence[str]) -> Mapping[str, Any]:
        failure = self._failure("find_external")
        if failure:
            raise self._trouble(failure)
        wanted = set(external_ids)
        found = {item["external_id"]: dict(item) for item in self.items.values()
                 if item.get("external_id") in wanted and "item_type" not in item}  # fmt: skip
        return found

    async def get(self, ids: Sequence[str]) -> list[Mapping[str, Any]]:
        failure = self._failure("get")
        if failure:
            raise self._trouble(failure)
        gone = {"code": "not_found", "message": "gone"}
        other = {"code": "unsupported", "message": "the sync does not handle items of this kind"}
        return [{"ok": False, "id": i, "error": gone} if i not in self.items
                else {"ok": False, "id": i, "error": other} if "item_type" in self.items[i]
                else {"ok": True, "item": dict(self.items[i])} for i in ids]  # fmt: skip
