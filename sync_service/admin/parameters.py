"""Special parameters: SYNC_EXCH switches the module on, SYNC_EXCH_ATTEMPTS bounds the retries;
any other name is kept as given, for PC CADDIE's other uses. What the engine reads of them is
`store/read_model.py` (`module_enabled`, `max_attempts`); these commands read them through it too."""

from __future__ import annotations

import re
from typing import Callable

from ..store.models import SpecialParameter
from ..store.read_model import PARAMETER_DEFAULTS, SYNC_EXCH, SYNC_EXCH_ATTEMPTS, parameter
from . import AdminError

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
    value = parameter(name)
    if value is None:
        raise AdminError(f"the parameter {name} is not set")
    return value


def list_parameters() -> dict[str, tuple[str, bool]]:
    """name → (value, whether it is the default rather than set)."""
    values = {name: (value, True) for name, value in PARAMETER_DEFAULTS.items()}
    for row in SpecialParameter.select():
        values[row.name] = (row.value, False)
    return dict(sorted(values.items()))
