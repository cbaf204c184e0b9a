"""Exclusion filters on appointment titles (APPOINTMENTS exclusions of the original).

    Test        every title containing "test"
    *Test       every title ending with "test"
    Test*       every title starting with "test"
    Test*Golf   every title starting with "test" and ending with "golf"

Matching ignores case. A filter has at most one `*`, is trimmed and may not be empty. The
original's text reads `Test*Test` as "starting or ending with Test"; we read `A*B` as "starts with
A and ends with B", the reading consistent with its other examples (documented in the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


class FilterError(ValueError):
    """The pattern is not a valid exclusion filter; the message says why."""


@dataclass(frozen=True)
class ExclusionFilter:
    pattern: str
    prefix: str
    suffix: str
    contains: str | None  # set when the pattern has no '*'

    @classmethod
    def parse(cls, pattern: str) -> "ExclusionFilter":
        text = pattern.strip()
        if not text:
            raise FilterError("a filter may not be empty")
        stars = text.count("*")
        if stars > 1:
            raise FilterError(f"the filter {text!r} has {stars} '*': at most one is allowed per filter")
        if text == "*":
            raise FilterError("the filter '*' alone would exclude everything; remove the calendar instead")
        if stars == 0:
            return cls(text, "", "", text.casefold())
        prefix, suffix = text.split("*")
        return cls(text, prefix.casefold(), suffix.casefold(), None)

    def matches(self, title: str) -> bool:
        folded = title.casefold()
        if self.contains is not None:
            return self.contains in folded
        return (
            len(folded) >= len(self.prefix) + len(self.suffix)
            and folded.startswith(self.prefix)
            and folded.endswith(self.suffix)
        )


def is_excluded(title: str, filters: Iterable[ExclusionFilter]) -> bool:
    return any(f.matches(title) for f in filters)
