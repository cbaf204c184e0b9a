"""Bodies: kept as HTML or Text as given, converted as Exchange converts them (BodyType of the
shape, TextBody, UniqueBody), and the gateway's plain text of an HTML body."""

from __future__ import annotations

import pytest
from exchangelib import Body, CalendarItem, EWSDateTime, EWSTimeZone, HTMLBody, ItemId
from exchangelib.errors import ErrorInvalidPropertySet

from exchange_gateway.ews import convert
from exchange_standin.bodies import html_to_text
from protocol.entries import CalendarEntry

from .conftest import NS, envelope, parse, post, response_codes

BERLIN = EWSTimeZone("Europe/Berlin")
OUTLOOK_NOTE = (
    "<html><head><style>p{color:red}</style></head><body><p>Bring &amp; share</p><p>Line 2<br>Line 3</p></body></html>"
)
EXCHANGE_TEXT = "Bring & share\r\nLine 2\r\nLine 3"


def new_item(account, body) -> CalendarItem:
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Club dinner",
        start=EWSDateTime(2026, 6, 1, 19, tzinfo=BERLIN),
        end=EWSDateTime(2026, 6, 1, 22, tzinfo=BERLIN),
        body=body,
    )
    item.save()
    return item


def fetched(account, item, **options) -> CalendarItem:
    """The item as the gateway reads it: account.fetch of every field."""
    [got] = list(account.fetch(ids=[ItemId(id=item.id)], **options))
    return got


def raw_body(emulator, item, body_type: str, field: str = "item:Body", extra: str = "") -> tuple[str | None, str]:
    body = envelope(
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
        f"<t:BodyType>{body_type}</t:BodyType>{extra}"
        f'<t:AdditionalProperties><t:FieldURI FieldURI="{field}"/></t:AdditionalProperties></m:ItemShape>'
        f'<m:ItemIds><t:ItemId Id="{item.id}"/></m:ItemIds></m:GetItem>'
    )
    elem = parse(post(emulator, body)).find(f".//t:CalendarItem/t:{field.partition(':')[2]}", NS)
    assert elem is not None and elem.get("IsTruncated") == "false"
    return elem.get("BodyType"), elem.text or ""


def test_an_html_body_is_kept_and_comes_with_its_text_conversion(account):
    item = new_item(account, HTMLBody(OUTLOOK_NOTE))
    got = fetched(account, item)
    assert isinstance(got.body, HTMLBody)
    assert "<p>Bring &amp; share</p>" in got.body and "<style>" in got.body
    assert got.text_body == EXCHANGE_TEXT


def test_a_text_body_stays_text(account):
    item = new_item(account, Body("Bring cake\nand plates"))
    got = fetched(account, item)
    assert isinstance(got.body, Body) and not isinstance(got.body, HTMLBody)
    assert got.body == got.text_body == "Bring cake\nand plates"


def test_the_shape_body_type_converts(emulator, account):
    html_item = new_item(account, HTMLBody(OUTLOOK_NOTE))
    text_item = new_item(account, Body("a < b\nc"))
    assert raw_body(emulator, html_item, "Text") == ("Text", EXCHANGE_TEXT)
    assert raw_body(emulator, html_item, "Best") == ("HTML", OUTLOOK_NOTE)
    assert raw_body(emulator, html_item, "HTML") == ("HTML", OUTLOOK_NOTE)
    assert raw_body(emulator, text_item, "Best") == ("Text", "a < b\nc")
    body_type, markup = raw_body(emulator, text_item, "HTML")
    assert body_type == "HTML" and markup.startswith("<html>")
    assert '<div class="PlainText">a &lt; b<br>\r\nc</div>' in markup
    assert raw_body(emulator, text_item, "HTML", "item:TextBody") == ("Text", "a < b\nc")


def test_unique_body_is_the_body_as_an_html_fragment(emulator, account):
    item = new_item(account, HTMLBody(OUTLOOK_NOTE))
    got = fetched(account, item)
    assert isinstance(got.unique_body, HTMLBody)
    assert got.unique_body == "<p>Bring &amp; share</p><p>Line 2<br>Line 3</p>"
    text = "<t:UniqueBodyType>Text</t:UniqueBodyType>"
    assert raw_body(emulator, item, "Best", "item:UniqueBody", text) == ("Text", EXCHANGE_TEXT)


def test_text_body_is_read_only(emulator, account):
    body = envelope(
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
        '<t:Subject>x</t:Subject><t:TextBody BodyType="Text">no</t:TextBody>'
        "</t:CalendarItem></m:Items></m:CreateItem>"
    )
    response = post(emulator, body)
    assert response_codes(response) == [ErrorInvalidPropertySet.__name__]


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        (OUTLOOK_NOTE, EXCHANGE_TEXT),
        ("<div>one\n   two</div>\n<div>three</div>", "one two\r\nthree"),
        ('<p class="MsoNormal">a<o:p></o:p></p><p class="MsoNormal">&nbsp;</p><p>b</p>', "a\r\n\r\nb"),
        ("<p>x&nbsp;&nbsp;y &lt;z&gt;</p>", "x  y <z>"),
        (
            '<p>Scores <a href="https://club.example/s">here</a>, <a href="mailto:pro@c.example">pro@c.example</a></p>',
            "Scores here<https://club.example/s>, pro@c.example",
        ),
        (
            "<table><tr><td>Tee</td>\n<td> 9:00</td></tr><tr><td>Flight</td><td>3</td></tr></table>",
            "Tee\t9:00\r\nFlight\t3",
        ),
        ("<p>above</p><hr><p>below</p>", "above\r\n" + "_" * 32 + "\r\nbelow"),
        ("<pre>  keep\n    this</pre>", "  keep\r\n    this"),
        ("<script>alert(1)</script><!-- note --><title>T</title><ul><li>one</li><li>two</li></ul>", "one\r\ntwo"),
        ("<p>trailing</p><p>&nbsp;</p><br><br>", "trailing"),
        ("", ""),
    ],
)
def test_exchange_text_conversion_rules(markup, text):
    assert html_to_text(markup) == text


def test_the_gateway_reads_an_html_body_as_its_text(account):
    item = new_item(account, HTMLBody(OUTLOOK_NOTE))
    entry = convert.calendar_entry(fetched(account, item))
    assert entry.body == "Bring & share\nLine 2\nLine 3"
    assert entry.body_html is True
    assert entry.to_wire()["body_html"] is True and CalendarEntry.from_wire(entry.to_wire()).body_html is True


def test_the_gateway_reads_a_text_body_as_it_is(account):
    entry = convert.calendar_entry(fetched(account, new_item(account, Body("Bring cake"))))
    assert (entry.body, entry.body_html) == ("Bring cake", False)
    assert convert.calendar_entry(fetched(account, new_item(account, None))).body_html is False


def test_the_gateway_converts_itself_without_a_text_body(account):
    """A server before Exchange 2013 has no TextBody; the gateway then strips the HTML itself."""
    item = new_item(account, HTMLBody(OUTLOOK_NOTE))
    fields = [f.name for f in CalendarItem.supported_fields(version=account.version) if f.name != "text_body"]
    got = fetched(account, item, only_fields=fields)
    assert got.text_body is None and isinstance(got.body, HTMLBody)
    entry = convert.calendar_entry(got)
    assert (entry.body, entry.body_html) == ("Bring & share\nLine 2\nLine 3", True)


def test_wire_entries_without_body_html_still_read():
    wire = CalendarEntry(subject="x", start="2026-06-01T09:00:00Z", end="2026-06-01T10:00:00Z").to_wire()
    assert wire["body_html"] is False
    del wire["body_html"]
    assert CalendarEntry.from_wire(wire).body_html is False
    assert CalendarEntry.from_wire({**wire, "body_html": True}).body_html is True
