"""Microsoft's EWS reference samples: every request gets a well-formed EWS answer, shaped like
the reference responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from .conftest import NS, parse, post, response_codes

SAMPLES = Path("/work/shared/ews-samples")
REQUESTS = sorted(SAMPLES.glob("*request*.xml"))

# What the emulator answers to each sample against a fresh mailbox (the samples' ids were shortened
# by Microsoft: valid base64 ones name nothing, the others are malformed).
EXPECTED = {
    "createitem-operation-calendar-item.request-1.xml": ["NoError"],
    "createitem-operation-contact.request-1.xml": ["NoError"],
    "createitem-operation-contact.request-2.xml": ["ErrorCannotCreateContactInNonContactFolder"],
    "deleteitem-operation.request-1.xml": ["ErrorItemNotFound"],
    "findfolder-operation.request-1.xml": ["NoError"],
    "finditem-operation.request-1.xml": ["NoError"],
    "getfolder-operation.request-1.xml": ["NoError"],
    "getitem-operation-calendar-item.request-1.xml": ["ErrorInvalidIdMalformed"],
    "getitem-operation-contact.request-1.xml": ["ErrorInvalidIdMalformed"],
    "getitem-operation-contact.request-2.xml": ["ErrorItemNotFound"],
    "syncfolderhierarchy-operation.request-1.xml": ["ErrorInvalidSyncStateData"],
    "syncfolderitems-operation.request-1.xml": ["ErrorInvalidSyncStateData"],
    "updateitem-operation-contact.request-1.xml": ["ErrorInvalidIdMalformed"],
    "updateitem-operation-contact.request-2.xml": ["ErrorSchemaValidation"],
    "updateitem-operation-contact.request-3.xml": ["ErrorInvalidRequest"],  # its body is a soap:Fault
    "updateitem-operation.request-1.xml": ["ErrorInvalidIdMalformed"],
    "updateitem-operation.request-2.xml": ["ErrorInvalidIdMalformed"],
    "updateitem-operation.request-3.xml": ["ErrorInvalidIdMalformed"],
}


def test_every_sample_request_is_known():
    assert {path.name for path in REQUESTS} == set(EXPECTED)


@pytest.mark.parametrize("sample", REQUESTS, ids=lambda path: path.name)
def test_every_sample_request_gets_a_well_formed_ews_answer(emulator, sample):
    response = post(emulator, sample.read_bytes())
    assert response.status_code in (200, 500)
    assert response.headers["Content-Type"].startswith("text/xml")
    root = parse(response)
    assert root.tag == f"{{{NS['s']}}}Envelope"
    assert root.find("s:Body", NS) is not None
    codes = response_codes(response)
    assert codes == EXPECTED[sample.name]
    if response.status_code == 500:
        assert root.find("s:Body/s:Fault", NS) is not None
    else:
        messages = root.find("s:Body/*/m:ResponseMessages", NS)
        assert all(message.get("ResponseClass") in ("Success", "Error", "Warning") for message in messages)


def _shape(elem: etree._Element) -> list[str]:
    """The element names in document order, with ResponseClass, but without ids and texts."""
    names = []
    for child in elem.iter():
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if child.get("ResponseClass"):
            name += f"[{child.get('ResponseClass')}]"
        names.append(name)
    return names


@pytest.mark.parametrize(
    ("request_name", "response_name"),
    [
        ("getfolder-operation.request-1.xml", "getfolder-operation.response-1.xml"),
        ("createitem-operation-calendar-item.request-1.xml", "createitem-operation-calendar-item.response-1.xml"),
        ("createitem-operation-contact.request-1.xml", "createitem-operation-contact.response-1.xml"),
        ("createitem-operation-contact.request-2.xml", "createitem-operation-contact.error-response-1.xml"),
        ("deleteitem-operation.request-1.xml", "deleteitem-operation.error-response-1.xml"),
        ("syncfolderhierarchy-operation.request-1.xml", "syncfolderhierarchy-operation.error-response-1.xml"),
    ],
)
def test_answers_are_shaped_like_the_reference_responses(emulator, request_name, response_name):
    ours = parse(post(emulator, (SAMPLES / request_name).read_bytes())).find("s:Body/*", NS)
    reference = etree.parse(str(SAMPLES / response_name)).getroot().find("s:Body/*", NS)
    assert _shape(ours) == _shape(reference)


def test_created_sample_items_can_be_read_back(emulator):
    created = parse(post(emulator, (SAMPLES / "createitem-operation-calendar-item.request-1.xml").read_bytes()))
    item_id = created.find(".//t:ItemId", NS).get("Id")
    request = (SAMPLES / "getitem-operation-calendar-item.request-1.xml").read_bytes()
    request = request.replace(b'Id="AsdD89=" ChangeKey="Jajs3=="', f'Id="{item_id}"'.encode())
    root = parse(post(emulator, request))
    assert root.findtext(".//t:CalendarItem/t:Subject", namespaces=NS) == "Planning Meeting"
    all_props = request.replace(b"<t:BaseShape>IdOnly</t:BaseShape>", b"<t:BaseShape>AllProperties</t:BaseShape>")
    item = parse(post(emulator, all_props)).find(".//t:CalendarItem", NS)
    assert item.findtext("t:Start", namespaces=NS) == "2006-11-02T14:00:00Z"
    assert item.findtext("t:Location", namespaces=NS) == "Conference Room 721"
    assert item.findtext("t:CalendarItemType", namespaces=NS) == "Single"
    assert item.findtext("t:IsMeeting", namespaces=NS) == "true"
    assert [e.text for e in item.iterfind("t:RequiredAttendees//t:EmailAddress", NS)] == [
        "User1@example.com",
        "User2@example.com",
    ]
