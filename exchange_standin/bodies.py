"""Item bodies: kept as the client gave them (HTML or Text) and converted the way Exchange
converts them when a client asks for the other kind (ItemShape BodyType, item:TextBody,
item:UniqueBody, previews, MIME and restrictions on the body).

HTML to text, as Exchange's text conversion does it:
- the content of head, style, script, title and comments is dropped, tags are stripped and
  entities decoded; runs of white space collapse to one space, as a browser shows them (not
  inside pre);
- br is a line break; block elements (p, div, li, tr, headings, tables, lists, blockquote, pre, …)
  start and end a line, without making blank lines of their own; an empty paragraph that holds a
  non-breaking space (Outlook's blank line) is an empty line;
- hr is a line of 32 underscores; table cells of a row are separated by a tab; a link whose text
  is not its address is followed by the address in angle brackets: `text<http://…>`;
- non-breaking spaces become spaces, every line loses its trailing white space, the text its
  trailing empty lines; lines end with CRLF.
"""

from __future__ import annotations

import html
import re
from typing import Any

import lxml.html
from lxml import etree

from .store import Item

_DROPPED = frozenset({"head", "style", "script", "title", "template", "noscript"})
_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "caption",
    }
)
_CELLS = frozenset({"td", "th"})
_COLLAPSIBLE = re.compile(r"[ \t\n\r\f]+")
RULE = "_" * 32
NEWLINE = "\r\n"


class _TextWriter:
    """Lines of text as a browser would lay them out, without styles."""

    def __init__(self) -> None:
        self.lines: list[str] = [""]

    def text(self, text: str, preformatted: bool = False) -> None:
        if preformatted:
            first, *rest = text.replace("\r\n", "\n").split("\n")
            self.lines[-1] += first
            for line in rest:
                self.lines.append(line)
            return
        text = _COLLAPSIBLE.sub(" ", text)
        if self.lines[-1][-1:] in ("", " ", "\t"):
            text = text.lstrip(" ")
        self.lines[-1] += text

    def line_break(self) -> None:
        self.lines.append("")

    def start_line(self) -> None:
        """Make sure what follows starts a line of its own."""
        if self.lines[-1].strip(" "):
            self.lines.append("")
        else:
            self.lines[-1] = ""

    def result(self) -> str:
        lines = [line.replace("\xa0", " ").rstrip() for line in self.lines]
        while lines and not lines[-1]:
            lines.pop()
        return NEWLINE.join(lines)


def _link_target(elem: etree._Element, shown: str) -> str | None:
    href = (elem.get("href") or "").strip()
    if not href or href.startswith("#") or href.lower().startswith("javascript:"):
        return None
    shown = shown.strip()
    if shown in (href, href.removeprefix("mailto:")):
        return None
    return href


def _walk(elem: etree._Element, out: _TextWriter, preformatted: bool = False) -> None:
    tag = elem.tag.lower() if isinstance(elem.tag, str) else None
    if tag is None or tag in _DROPPED:  # comments, processing instructions, dropped elements
        if elem.tail:
            out.text(elem.tail, preformatted)
        return
    preformatted = preformatted or tag in ("pre", "textarea")
    if tag == "br":
        out.line_break()
    elif tag == "hr":
        out.start_line()
        out.text(RULE)
        out.start_line()
    else:
        block = tag in _BLOCKS
        if block:
            out.start_line()
        elif tag in _CELLS and out.lines[-1].strip(" "):
            out.lines[-1] = out.lines[-1].rstrip(" ") + "\t"
        before = len(out.lines), len(out.lines[-1])
        if elem.text:
            out.text(elem.text, preformatted)
        for child in elem:
            _walk(child, out, preformatted)
        if tag == "a":
            shown = out.lines[-1][before[1] :] if len(out.lines) == before[0] else ""
            target = _link_target(elem, shown)
            if target is not None:
                out.lines[-1] = out.lines[-1].rstrip(" ") + f"<{target}>"
        if block:
            out.start_line()
    if elem.tail:
        out.text(elem.tail, preformatted)


def html_to_text(markup: str) -> str:
    """Exchange's text conversion of an HTML body (see the module's docstring)."""
    if not markup.strip():
        return ""
    try:
        document = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return html.unescape(re.sub(r"<[^>]*>", "", markup)).strip()
    out = _TextWriter()
    _walk(document, out)
    return out.result()


def text_to_html_fragment(text: str) -> str:
    escaped = html.escape(text, quote=False).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return f'<div class="PlainText">{escaped}</div>'


def text_to_html(text: str) -> str:
    """Exchange's HTML for a text body: the text, escaped, with <br> line breaks, in a document."""
    return wrap_html(text_to_html_fragment(text))


def wrap_html(markup: str) -> str:
    """Exchange keeps HTML bodies as whole documents: fragments come back wrapped."""
    if "<html" in markup.lower():
        return markup
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
        f"</head>\r\n<body>\r\n{markup}\r\n</body>\r\n</html>\r\n"
    )


def html_fragment(markup: str) -> str:
    """The content of an HTML document's body, as UniqueBody gives it."""
    try:
        document = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return markup
    body = document.find("body")
    if body is None:
        return markup
    parts = [html.escape(body.text, quote=False)] if body.text else []
    parts += [lxml.html.tostring(child, encoding="unicode") for child in body]
    return "".join(parts).strip()


def converted(body: tuple[str, str], wanted: str) -> tuple[str, str]:
    """A stored body (BodyType, text) as `wanted` (Best, HTML or Text) asks: (BodyType, text)."""
    stored_type, text = body
    if wanted in ("Best", stored_type):
        return stored_type, wrap_html(text) if stored_type == "HTML" else text
    if wanted == "Text":
        return "Text", html_to_text(text)
    return "HTML", text_to_html(text)


def body_text(item: Item) -> str:
    """The item's body as text (Exchange's text conversion for an HTML body)."""
    body: Any = item.props.get("item:Body")
    if body is None:
        return ""
    return converted(body, "Text")[1]


def unique_body(item: Item, wanted: str) -> tuple[str, str] | None:
    """UniqueBody of an item that is not part of a conversation: its whole body, as an HTML
    fragment (or text, with UniqueBodyType Text)."""
    body: Any = item.props.get("item:Body")
    if body is None:
        return None
    stored_type, text = body
    if wanted == "Text" or (wanted == "Best" and stored_type == "Text"):
        return "Text", body_text(item)
    return "HTML", html_fragment(text) if stored_type == "HTML" else text_to_html_fragment(text)
