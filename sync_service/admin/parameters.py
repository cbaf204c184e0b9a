"""Special parameters: SYNC_EXCH switches the module on, SYNC_EXCH_ATTEMPTS bounds the retries;
any other name is kept as given, for PC CADDIE's other uses."""

from __future__ import annotations

import re
from typing import Callable

from ..store.models import SpecialParameter
from . import AdminError

SYNC_EXCH = "SYNC_EXCH"
SYNC_EXCH_ATTEMPTS = "SYNC_EXCH_ATTEMPTS"
DEFAULTS = {SYNC_EXCH: "0", SYNC_EXCH_ATTEMPTS: "10"}
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def _switch(value: str) -> str:
    if value not in {"0", "1"}:
        raise AdminError(f"{SYNC_EXCH} is 1 (the module is on) or 0 (off), not {value!r}")
    return value


def _attempts(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= 1000:
        raise AdminError(f"{SYNC_EXCH_ATTEMPTS} is a whole number from 1 to 1000, not {value!r}")
    return str(int(value))


VALIDATORS: dict[str, Callable[[str], str]] = {SYNC_EXCH: _switch, SYNC_EXCH_ATTEMPTS: _attempts}


def normalise_name(name: str) -> str:
    upper = name.strip().upper()
    if not NAME.match(upper):
        raise AdminError(f"{name!r} is not a parameter name (letters, digits and _, starting with a letter)")
    return upper


def set_parameter(name: str, value: str) -> tuple[str, str]:
    name = normalise_name(name)
    value = VALIDATORS.get(name, lambda v: v)(value.strip())
    SpecialParameter.insert(name=name, value=value).on_conflict(
        conflict_target=[SpecialParameter.name], update={SpecialParameter.value: value}
    ).execute()
    return name, value


def get_parameter(name: str) -> str:
    name = normalise_name(name)
    row = SpecialParameter.get_or_none(SpecialParameter.name == name)
    if row is not None:
        return row.value
    if name in DEFAULTS:
        return DEFAULTS[name]
    raise AdminError(f"the parameter {name} is not set")


def list_parameters() -> dict[str, tuple[str, bool]]:
    """name → (value, whether it is the default rather than set)."""
    values = {name: (value, True) for name, value in DEFAULTS.items()}
    for row in SpecialParameter.select():
        values[row.name] = (row.value, False)
    return dict(sorted(values.items()))


def module_enabled() -> bool:
    return get_parameter(SYNC_EXCH) == "1"


def max_attempts() -> int:
    return int(get_parameter(SYNC_EXCH_ATTEMPTS))
