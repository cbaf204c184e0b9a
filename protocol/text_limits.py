"""Exchange's limit on short text fields (a subject, a location, a contact's names, address parts,
phone numbers, a category): 255 characters counted as .NET counts them, in UTF-16 code units.

Both processes need it: the gateway shortens what it writes to fit, and the sync service compares
its own text as Exchange can hold it, so that a title shortened on the way out is not read back as
a change (the whole text stays in PC CADDIE)."""

from __future__ import annotations

MAX_TEXT = 255


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut to at most `limit` UTF-16 code units, never inside a character, trailing
    blanks dropped."""
    if utf16_length(text) <= limit:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index].rstrip()
    return text
