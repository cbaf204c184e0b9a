"""FindItem: paging with IndexedPageItemView, restrictions, sort orders."""

from __future__ import annotations

import datetime as dt

from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, Q

from .conftest import NS, envelope, parse, post, response_codes

BERLIN = EWSTimeZone("Europe/Berlin")


def fill(account, count: int, caddie: bool = False) -> list:
    start = EWSDateTime(2026, 6, 1, 8, tzinfo=BERLIN)
    items = [
        CalendarItem(
            folder=account.calendar,
            subject=f"Slot {i:03}",
            start=start + dt.timedelta(hours=i),
            end=start + dt.timedelta(hours=i, minutes=50),
            categories=["even"] if i % 2 == 0 else ["odd"],
            **({"caddie_id": f"T-{i}"} if caddie else {}),
        )
        for i in range(count)
    ]
    return account.bulk_create(folder=account.calendar, items=items)


def find(offset: int, maximum: int, restriction: str = "", extra: str = "") -> bytes:
    return envelope(
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
        '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape>'
        f'<m:IndexedPageItemView MaxEntriesReturned="{maximum}" Offset="{offset}" BasePoint="Beginning"/>'
        f"{restriction}{extra}"
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )


def test_exchangelib_pages_through_all_items(emulator, account):
    fill(account, 250)
    before = emulator.request_counts.get("FindItem", 0)
    subjects = [item.subject for item in account.calendar.all().only("subject")]
    assert sorted(subjects) == [f"Slot {i:03}" for i in range(250)]
    assert emulator.request_counts["FindItem"] - before == 3  # pages of 100


def test_indexed_paging_attributes(emulator, account):
    fill(account, 25)
    root = parse(post(emulator, find(offset=10, maximum=10)))
    folder = root.find(".//m:RootFolder", NS)
    assert (
        folder.get("IndexedPagingOffset"),
        folder.get("TotalItemsInView"),
        folder.get("IncludesLastItemInRange"),
    ) == (
        "20",
        "25",
        "false",
    )
    assert len(folder.findall(".//t:CalendarItem", NS)) == 10
    last = parse(post(emulator, find(offset=20, maximum=10))).find(".//m:RootFolder", NS)
    assert (last.get("IncludesLastItemInRange"), len(last.findall(".//t:CalendarItem", NS))) == ("true", 5)
    pages = [parse(post(emulator, find(offset=o, maximum=10))) for o in (0, 10, 20)]
    ids = [e.get("Id") for page in pages for e in page.iterfind(".//t:ItemId", NS)]
    assert len(ids) == len(set(ids)) == 25


def test_restrictions(account, caddie_id):
    fill(account, 10, caddie=True)
    calendar = account.calendar

    def subjects(query):
        return sorted(item.subject for item in query)

    assert subjects(calendar.filter(subject="slot 003")) == ["Slot 003"]
    assert subjects(calendar.filter(subject__contains="00")) == [f"Slot 00{i}" for i in range(10)]
    assert subjects(calendar.filter(caddie_id="T-7")) == ["Slot 007"]
    assert subjects(calendar.filter(caddie_id__in=["T-1", "T-2"])) == ["Slot 001", "Slot 002"]
    assert subjects(calendar.filter(start__gte=EWSDateTime(2026, 6, 1, 15, tzinfo=BERLIN))) == [
        "Slot 007",
        "Slot 008",
        "Slot 009",
    ]
    assert subjects(
        calendar.filter(Q(start__lt=EWSDateTime(2026, 6, 1, 10, tzinfo=BERLIN)) | Q(subject="Slot 009"))
    ) == ["Slot 000", "Slot 001", "Slot 009"]
    assert subjects(calendar.filter(~Q(categories__contains="even") & Q(subject__startswith="Slot 00"))) == [
        f"Slot 00{i}" for i in (1, 3, 5, 7, 9)
    ]
    assert subjects(calendar.filter(item_class="IPM.Appointment", subject__in=["Slot 004"])) == ["Slot 004"]
    assert calendar.filter(caddie_id__exists=False).count() == 0


def test_sort_orders(account):
    fill(account, 5)
    assert [item.subject for item in account.calendar.all().order_by("-subject")] == [
        f"Slot {i:03}" for i in reversed(range(5))
    ]
    assert [item.subject for item in account.calendar.all().order_by("start")][:2] == ["Slot 000", "Slot 001"]


def test_raw_restrictions_with_and_or_not_and_comparisons(emulator, account):
    fill(account, 6)
    restriction = (
        "<m:Restriction><t:And>"
        '<t:Contains ContainmentMode="Prefixed" ContainmentComparison="IgnoreCase">'
        '<t:FieldURI FieldURI="item:Subject"/><t:Constant Value="slot"/></t:Contains>'
        '<t:Or><t:IsGreaterThan><t:FieldURI FieldURI="calendar:Start"/><t:FieldURIOrConstant>'
        '<t:Constant Value="2026-06-01T08:30:00Z"/></t:FieldURIOrConstant></t:IsGreaterThan>'
        '<t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="Slot 000"/>'
        "</t:FieldURIOrConstant></t:IsEqualTo></t:Or>"
        '<t:Not><t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="Slot 005"/>'
        "</t:FieldURIOrConstant></t:IsEqualTo></t:Not>"
        "</t:And></m:Restriction>"
    )
    sort = (
        '<m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:Subject"/></t:FieldOrder>'
        "</m:SortOrder>"
    )
    root = parse(post(emulator, find(0, 100, restriction, sort)))
    assert [e.text for e in root.iterfind(".//t:Subject", NS)] == ["Slot 000", "Slot 003", "Slot 004"]


def test_findItem_refuses_the_body_and_unknown_field_uris(emulator):
    body = envelope(
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>'
        '<t:FieldURI FieldURI="item:Body"/></t:AdditionalProperties></m:ItemShape>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    assert response_codes(post(emulator, body)) == ["ErrorInvalidPropertyRequest"]
    response = post(emulator, body.replace(b"item:Body", b"item:Nonsense"))
    assert response.status_code == 500 and response_codes(response) == ["ErrorSchemaValidation"]
