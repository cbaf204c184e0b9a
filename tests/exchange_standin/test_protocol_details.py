"""Details of the EWS protocol: extended property forms, legacy time zones, odd requests, robustness."""

from __future__ import annotations

from pathlib import Path

from exchangelib import (
    BASIC,
    DELEGATE,
    Account,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    FailFast,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from exchange_standin import dispatcher, soap
from exchange_standin.errors import SoapFault
from exchange_standin.store import Store

from .conftest import ANNA, NS, envelope, parse, post, response_codes

BERLIN = EWSTimeZone("Europe/Berlin")
UTC = EWSTimeZone("UTC")


class Keywords(ExtendedProperty):
    distinguished_property_set_id = "PublicStrings"
    property_name = "Keywords"
    property_type = "StringArray"


class SyncRevision(ExtendedProperty):
    property_set_id = "3f1c5b1e-6d4f-4a43-9b57-5a1d0c2e9d11"
    property_id = 0x8101
    property_type = "Integer"


class ReplyRequested(ExtendedProperty):
    property_tag = 0x0C17
    property_type = "Boolean"


def test_extended_property_forms(account):
    fields = {"keywords": Keywords, "revision": SyncRevision, "reply_requested": ReplyRequested}
    for name, cls in fields.items():
        CalendarItem.register(name, cls)
    try:
        item = CalendarItem(
            account=account,
            folder=account.calendar,
            subject="x",
            start=EWSDateTime(2026, 6, 1, 9, tzinfo=BERLIN),
            end=EWSDateTime(2026, 6, 1, 10, tzinfo=BERLIN),
            keywords=["a", "b"],
            revision=7,
            reply_requested=True,
        )
        item.save()
        got = account.calendar.get(id=item.id)
        assert (got.keywords, got.revision, got.reply_requested) == (["a", "b"], 7, True)
        assert [i.subject for i in account.calendar.filter(revision__gt=5)] == ["x"]
        assert account.calendar.filter(revision__gt=7).count() == 0
        got.revision = 8
        got.save(update_fields=["revision"])
        assert account.calendar.get(id=item.id).revision == 8
    finally:
        for name in fields:
            CalendarItem.deregister(name)


def test_a_distinguished_set_and_its_guid_name_the_same_property(emulator, account):
    uri_by_name = (
        '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="Tag" PropertyType="String"/>'
    )
    uri_by_guid = (
        '<t:ExtendedFieldURI PropertySetId="00020329-0000-0000-C000-000000000046" PropertyName="Tag" '
        'PropertyType="String"/>'
    )
    body = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>x</t:Subject>'
        f"<t:ExtendedProperty>{uri_by_name}<t:Value>golf</t:Value></t:ExtendedProperty>"
        "<t:Start>2026-06-01T10:00:00Z</t:Start><t:End>2026-06-01T11:00:00Z</t:End>"
        "</t:CalendarItem></m:Items></m:CreateItem>"
    )
    item_id = parse(post(emulator, body)).find(".//t:ItemId", NS).get("Id")
    get = envelope(
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        f"{uri_by_guid}</t:AdditionalProperties></m:ItemShape>"
        f'<m:ItemIds><t:ItemId Id="{item_id}"/></m:ItemIds></m:GetItem>'
    )
    prop = parse(post(emulator, get)).find(".//t:ExtendedProperty", NS)
    assert prop.find("t:ExtendedFieldURI", NS).get("PropertySetId") == "00020329-0000-0000-C000-000000000046"
    assert prop.findtext("t:Value", namespaces=NS) == "golf"


def test_invalid_extended_properties(emulator):
    def create(extended: str) -> list[str]:
        body = envelope(
            '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
            f"<t:ExtendedProperty>{extended}</t:ExtendedProperty></t:CalendarItem></m:Items></m:CreateItem>"
        )
        return response_codes(post(emulator, body))

    both = '<t:ExtendedFieldURI PropertyTag="0x1234" PropertyName="x" PropertyType="String"/><t:Value>v</t:Value>'
    wrong_value = '<t:ExtendedFieldURI PropertyTag="0x1234" PropertyType="Integer"/><t:Value>seven</t:Value>'
    assert create(both) == ["ErrorInvalidExtendedProperty"]
    assert create(wrong_value) == ["ErrorInvalidExtendedPropertyValue"]


def test_meeting_time_zone_of_exchange_2007_clients(emulator, account):
    body = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Old style</t:Subject>'
        "<t:Start>2026-01-15T10:00:00</t:Start><t:End>2026-01-15T11:00:00</t:End>"
        '<t:MeetingTimeZone TimeZoneName="W. Europe Standard Time"><t:BaseOffset>-PT1H</t:BaseOffset>'
        "</t:MeetingTimeZone></t:CalendarItem></m:Items></m:CreateItem>"
    )
    item_id = parse(post(emulator, body)).find(".//t:ItemId", NS).get("Id")
    got = account.calendar.get(id=item_id)
    assert got.start == EWSDateTime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_time_zone_context_applies_to_naive_times(emulator, account):
    header = '<t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/></t:TimeZoneContext>'
    body = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Context</t:Subject>'
        "<t:Start>2026-07-15T10:00:00</t:Start><t:End>2026-07-15T11:00:00</t:End>"
        "</t:CalendarItem></m:Items></m:CreateItem>",
        header,
    )
    item_id = parse(post(emulator, body)).find(".//t:ItemId", NS).get("Id")
    assert account.calendar.get(id=item_id).start == EWSDateTime(2026, 7, 15, 8, 0, tzinfo=UTC)


def test_odd_requests_get_ews_errors(emulator):
    unimplemented = post(emulator, envelope("<m:GetUserAvailabilityRequest/>"))
    assert (unimplemented.status_code, response_codes(unimplemented)) == (500, ["ErrorInvalidRequest"])
    resolve = post(
        emulator,
        envelope(
            '<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>x</m:UnresolvedEntry></m:ResolveNames>'
        ),
    )
    assert (resolve.status_code, response_codes(resolve)) == (200, ["ErrorInvalidOperation"])
    for body in (b"<not xml", b"<a/>", envelope("").replace(b"<s:Body></s:Body>", b"")):
        response = post(emulator, body)
        assert response.status_code == 500 and response_codes(response)
    wrong_version = envelope("<m:GetFolder/>").replace(b"Exchange2016", b"Exchange2099")
    assert response_codes(post(emulator, wrong_version)) == ["ErrorInvalidServerVersion"]
    missing_parts = post(emulator, envelope("<m:GetFolder/>"))
    assert (missing_parts.status_code, response_codes(missing_parts)) == (500, ["ErrorSchemaValidation"])


def test_exchangelib_detects_basic_auth_by_itself(emulator):
    config = Configuration(service_endpoint=emulator.url, credentials=Credentials(*ANNA), retry_policy=FailFast())
    account = Account(ANNA[0], config=config, autodiscover=False, access_type=DELEGATE)
    assert account.protocol.auth_type == BASIC
    assert account.calendar.name == "Calendar"


SAMPLES = sorted(Path("/work/shared/ews-samples").glob("*request*.xml"))


@settings(max_examples=150)
@given(sample=st.sampled_from(SAMPLES), victim=st.integers(min_value=0, max_value=60), mode=st.integers(0, 2))
def test_mangled_sample_requests_never_crash_the_dispatcher(sample, victim, mode):
    """The store and operations work without HTTP: feed them broken requests directly."""
    store = Store()
    mailbox = store.add_mailbox(*ANNA)
    root = etree.fromstring(sample.read_bytes())
    elements = [elem for elem in root.iter() if isinstance(elem.tag, str)]
    target = elements[victim % len(elements)]
    if mode == 0 and target.getparent() is not None:
        target.getparent().remove(target)
    elif mode == 1:
        for name in list(target.attrib):
            target.attrib[name] = "bogus"
    else:
        target.text = "garbage"
    try:
        request = soap.parse_request(etree.tostring(root))
    except SoapFault:
        return
    status, body = dispatcher.handle(store, mailbox, request)
    answer = etree.fromstring(body)
    assert status in (200, 500)
    codes = [e.text for e in answer.iterfind(".//m:ResponseCode", NS)] + [
        e.text for e in answer.iterfind(".//e:ResponseCode", NS)
    ]
    assert codes and "ErrorInternalServerError" not in codes


def test_answers_are_sent_without_waiting_for_an_ack(emulator, monkeypatch):
    """Every connection has TCP_NODELAY: the handler writes an answer's headers and body apart,
    and with Nagle's algorithm the body would wait for the client's delayed ACK (about 40 ms on
    loopback per request, which no Exchange server adds)."""
    import socket
    import urllib.error
    import urllib.request

    from exchange_standin.httpserver import EwsRequestHandler

    seen: list[int] = []
    handle = EwsRequestHandler.handle

    def recording(self):
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        handle(self)

    monkeypatch.setattr(EwsRequestHandler, "handle", recording)
    try:
        urllib.request.urlopen(emulator.url.replace("/EWS/Exchange.asmx", "/nothing-here"), timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    assert seen and all(seen)
