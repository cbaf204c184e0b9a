"""The configuration file HOME/config.toml: written with every default on first start, then read.

Command-line options override what the file says; the file overrides the defaults. `config get`,
`config set` and `config list` (KEY as SECTION.NAME) read and change it: `set_config_text` edits
the one line of a key, so that the file's comments and layout stay as they are (no TOML writer is
needed: the file holds flat tables of plain values), validates the result exactly as the services
will read it (`parse_config`), and `set_config_value` replaces the file atomically.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from protocol.addresses import Address, parse_address
from protocol.framing import DEFAULT_MAX_FRAME_SIZE

from .home import Home, _private_temporary, create_exclusively


class ConfigError(Exception):
    """The configuration file is unreadable or holds a bad value; the message names it."""


@dataclass(frozen=True)
class GatewayConfig:
    listen: Address = Address("127.0.0.1", 3000)
    allow_remote: bool = False
    max_frame_bytes: int = DEFAULT_MAX_FRAME_SIZE
    handshake_timeout_seconds: float = 10.0
    shutdown_grace_seconds: float = 10.0
    heartbeat_interval_seconds: float = 15.0
    heartbeat_max_missed: int = 3
    max_clients: int = 64


@dataclass(frozen=True)
class ExchangeConfig:
    """How the gateway talks to Exchange."""

    request_timeout_seconds: float = 60.0
    operation_deadline_seconds: float = 90.0
    max_parallel_calls: int = 16
    max_parallel_per_mailbox: int = 4
    verify_tls: bool = True
    ca_bundle: str = ""


@dataclass(frozen=True)
class SyncConfig:
    gateway: Address = Address("127.0.0.1", 3000)
    interval_seconds: float = 60.0
    connect_timeout_seconds: float = 5.0
    request_timeout_seconds: float = 30.0
    heartbeat_interval_seconds: float = 15.0
    heartbeat_max_missed: int = 3
    shutdown_grace_seconds: float = 30.0
    react_to_changes_seconds: float = 1.0
    window_days_back: int = 30
    window_days_ahead: int = 400
    parallel_calendars: int = 4
    report_days: int = 30


@dataclass(frozen=True)
class ClubConfig:
    timezone: str = "Europe/Berlin"


@dataclass(frozen=True)
class LogConfig:
    rotation: str = "10 MB"
    retention: int = 10
    compression: str = "gz"


@dataclass(frozen=True)
class Config:
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    exchange: ExchangeConfig = field(default_factory=ExchangeConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    club: ClubConfig = field(default_factory=ClubConfig)
    logs: LogConfig = field(default_factory=LogConfig)


DEFAULT_CONFIG_TEXT = """\
# Configuration of the PC CADDIE Exchange synchronisation (both services read this file).
# Every value shown is the default. Command-line options override this file.

[gateway]
# Where the Exchange gateway listens. Only loopback addresses unless allow_remote = true.
listen = "127.0.0.1:3000"
allow_remote = false
# Largest frame accepted on the wire between the services, in bytes.
max_frame_bytes = 16777216
# A client must send its connect frame within this time.
handshake_timeout_seconds = 10.0
# On stop, requests in flight get this long to finish.
shutdown_grace_seconds = 10.0
# The gateway pings each client this often; a client that misses this many answers is dropped.
heartbeat_interval_seconds = 15.0
heartbeat_max_missed = 3
# Connections at once (with the token or still without); more are refused at once and logged.
# The sync service needs one, each command that asks the gateway (account check, sync-now) one more.
max_clients = 64

[exchange]
# How the gateway talks to Exchange (EWS). One HTTP request waits at most request_timeout_seconds;
# one operation (which may take several requests) answers within operation_deadline_seconds.
request_timeout_seconds = 60.0
operation_deadline_seconds = 90.0
max_parallel_calls = 16
max_parallel_per_mailbox = 4
# TLS certificates are verified; for a server with a private CA, name its PEM bundle here.
verify_tls = true
ca_bundle = ""

[sync]
# The Exchange gateway the synchronisation service connects to.
gateway = "127.0.0.1:3000"
# One sync cycle every this many seconds.
interval_seconds = 60.0
connect_timeout_seconds = 5.0
request_timeout_seconds = 30.0
heartbeat_interval_seconds = 15.0
heartbeat_max_missed = 3
# On stop, the running cycle gets this long to finish.
shutdown_grace_seconds = 30.0
# PC CADDIE's changes are looked for this often between cycles; one brings the next cycle forward
# (at most one cycle a second), so they reach Exchange in a second or two. 0 switches it off.
react_to_changes_seconds = 1.0
# New appointments are synchronised from this many days back to this many days ahead; older or
# later ones are left alone on both sides (nothing is ever deleted because it left the window).
window_days_back = 30
window_days_ahead = 400
# Calendars synchronised at the same time, and how long the per-cycle reports are kept.
parallel_calendars = 4
report_days = 30

[club]
# Times without an offset are the club's wall time in this zone.
timezone = "Europe/Berlin"

[logs]
# Each service's log is rotated at this size, keeping this many compressed archives.
rotation = "10 MB"
retention = 10
compression = "gz"
"""


def _convert(section: str, name: str, default: Any, value: Any) -> Any:
    where = f"[{section}] {name}"
    if isinstance(default, Address):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string HOST:PORT")
        try:
            return parse_address(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where} must be a whole number of at least 1")
        return value
    if isinstance(default, float):
        least_zero = name == "react_to_changes_seconds"  # 0 switches it off
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (value >= 0 if least_zero else value > 0)
        ):
            raise ConfigError(f"{where} must be a number greater than {'or equal to ' if least_zero else ''}0")
        return float(value)
    if not isinstance(value, str) or (default and not value):
        raise ConfigError(f"{where} must be a non-empty string")
    return value


def _section(cls: type, name: str, raw: Any) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    defaults = cls()
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"[{name}] has unknown settings: {', '.join(unknown)}")
    values = {key: _convert(name, key, getattr(defaults, key), value) for key, value in raw.items()}
    return cls(**values)


def parse_config(text: str, source: str = "config.toml") -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - {f.name for f in fields(Config)})
    if unknown:
        raise ConfigError(f"{source} has unknown sections: {', '.join(unknown)}")
    config = Config(
        gateway=_section(GatewayConfig, "gateway", raw.get("gateway")),
        exchange=_section(ExchangeConfig, "exchange", raw.get("exchange")),
        sync=_section(SyncConfig, "sync", raw.get("sync")),
        club=_section(ClubConfig, "club", raw.get("club")),
        logs=_section(LogConfig, "logs", raw.get("logs")),
    )
    try:
        zoneinfo.ZoneInfo(config.club.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[club] timezone {config.club.timezone!r} is not a known time zone") from None
    if config.exchange.ca_bundle and not Path(config.exchange.ca_bundle).is_file():
        raise ConfigError(f"[exchange] ca_bundle {config.exchange.ca_bundle!r} is not a file")
    return config


def load_config(home: Home) -> Config:
    """Read HOME/config.toml, creating it with the defaults first if it does not exist."""
    path, text = _config_text(home)
    return parse_config(text, str(path))


def _config_text(home: Home) -> tuple[Path, str]:
    """HOME/config.toml's path and text, the file made with the defaults first if need be."""
    path: Path = home.config_file
    try:
        create_exclusively(path, DEFAULT_CONFIG_TEXT.encode(), mode=0o600)
        return path, path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None


# --- config get / set / list ------------------------------------------------------------------

SECTIONS: dict[str, type] = {f.name: type(getattr(Config(), f.name)) for f in fields(Config)}


@dataclass(frozen=True)
class ConfigItem:
    """One key of the configuration: its value and its default as `config get` prints them."""

    key: str
    value: str
    default: str

    @property
    def is_default(self) -> bool:
        return self.value == self.default


def config_keys() -> list[str]:
    """Every key, SECTION.NAME, in the order of the file."""
    return [f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in fields(cls)]


def split_key(key: str) -> tuple[str, str]:
    """(section, name) of a key the configuration has, else ConfigError naming it."""
    section, _, name = key.strip().partition(".")
    if section not in SECTIONS or name not in {f.name for f in fields(SECTIONS[section])}:
        raise ConfigError(f"unknown configuration key {key!r} (`config list` shows every key, as SECTION.NAME)")
    return section, name


def show_value(value: Any) -> str:
    """A value as `config get` prints it and `config set` takes it: true/false, numbers, text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def config_value(config: Config, key: str) -> str:
    section, name = split_key(key)
    return show_value(getattr(getattr(config, section), name))


def config_items(config: Config) -> list[ConfigItem]:
    defaults = Config()
    items = []
    for key in config_keys():
        section, name = split_key(key)
        items.append(
            ConfigItem(
                key,
                show_value(getattr(getattr(config, section), name)),
                show_value(getattr(getattr(defaults, section), name)),
            )
        )
    return items


def _typed(default: Any, text: str) -> Any:
    """The command line's text as the TOML value of the default's type; text that is not one is
    left as text, so that the loader's own check refuses it with its own sentence."""
    if isinstance(default, bool):
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    if isinstance(default, int) and re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    if isinstance(default, float):
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    return text


def _literal(value: Any) -> str:
    """A TOML literal of a bool, number or string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")  # JSON's escapes are TOML's


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(#.*)?$")


def _comment_after(rest: str) -> str:
    """The comment after a line's value (`rest` is what follows '='), kept when the value changes."""
    for position, char in enumerate(rest):
        if char == "#":
            try:
                tomllib.loads("x = " + rest[:position])
            except tomllib.TOMLDecodeError:
                continue
            return "  " + rest[position:].strip()
    return ""


def set_config_text(text: str, key: str, value: str, source: str = "config.toml") -> str:
    """The file's text with KEY set to VALUE, everything else (comments too) as it was; ConfigError
    with the loader's sentence for a bad value, or when the file cannot be changed line by line."""
    section, name = split_key(key)
    default = getattr(SECTIONS[section](), name)
    typed = _typed(default, value)
    _convert(section, name, default, typed)  # the loader's sentence for a value of the wrong kind
    line = f"{name} = {_literal(typed)}"
    lines = text.splitlines()
    start = next((i for i, row in enumerate(lines) if (m := _HEADER.match(row)) and m.group(1) == section), None)
    if start is None:
        lines += ["", f"[{section}]", line] if lines and lines[-1].strip() else [f"[{section}]", line]
    else:
        end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
        assignment = re.compile(rf"^(\s*){re.escape(name)}\s*=(.*)$")
        found = next((i for i in range(start + 1, end) if assignment.match(lines[i])), None)
        if found is not None:
            match = assignment.match(lines[found])
            assert match is not None
            lines[found] = match.group(1) + line + _comment_after(match.group(2))
        else:
            last = max((i for i in range(start, end) if lines[i].strip() and not lines[i].lstrip().startswith("#")))
            lines.insert(last + 1, line)
    changed = "\n".join(lines) + "\n"
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    try:
        after: dict[str, Any] | None = tomllib.loads(changed)
    except tomllib.TOMLDecodeError:
        after = None
    before.setdefault(section, {})
    if isinstance(before[section], dict):
        before[section][name] = typed
    if after != before:
        raise ConfigError(
            f"{source} does not hold [{section}] {name} on a line of its own; change it in the file by hand"
        )
    parse_config(changed, source)
    return changed


def replace_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` atomically: other processes see the old file or the new one."""
    fd, temporary = _private_temporary(path)
    try:
        os.chmod(temporary, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def set_config_value(home: Home, key: str, value: str) -> tuple[str | None, str]:
    """Set KEY to VALUE in HOME/config.toml (made with the defaults first if need be), keeping the
    file's comments; returns (the value before, None if the file did not read; the value now) as
    `config get` prints them. A bad value, or a file that would not read afterwards, is a
    ConfigError and the file stays as it was. A file with a bad value can be mended this way."""
    path, text = _config_text(home)
    changed = set_config_text(text, key, value, str(path))
    try:
        before: str | None = config_value(parse_config(text, str(path)), key)
    except ConfigError:
        before = None
    try:
        replace_file(path, changed.encode("utf-8"), mode=(path.stat().st_mode & 0o777) or 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return before, config_value(parse_config(changed, str(path)), key)
