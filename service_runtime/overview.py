"""The service overview, as the original's service manager showed it:

Name                     State                   ID         Time      PID    Version
Exchange gateway         Running since 14:41:40  user_exch  14:45:49  4456   0.1.0
Synchronisation service  Running since 14:15:44  user_sync  14:45:48  3348   0.1.0
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .home import Home
from .status import judge, read_status

SERVICES = (
    ("exchange-gateway", "Exchange gateway", "user_exch"),
    ("sync-service", "Synchronisation service", "user_sync"),
)


@dataclass(frozen=True)
class Row:
    service: str
    name: str
    state: str
    id: str
    time: str
    pid: str
    version: str
    details: dict[str, Any]


def overview(home: Home) -> list[Row]:
    rows = []
    for service, name, ident in SERVICES:
        status = read_status(home, service)
        verdict = judge(status)
        heartbeat = (
            dt.datetime.fromisoformat(verdict.heartbeat).astimezone().strftime("%H:%M:%S") if verdict.heartbeat else "-"
        )
        rows.append(
            Row(
                service,
                name,
                verdict.state,
                ident,
                heartbeat,
                str(status.pid) if status else "-",
                status.version if status else "-",
                status.details if status else {},
            )
        )
    return rows


def render(rows: list[Row]) -> list[str]:
    headers = ("Name", "State", "ID", "Time", "PID", "Version")
    table = [headers] + [(r.name, r.state, r.id, r.time, r.pid, r.version) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
    for row in rows:
        if row.details:
            shown = ", ".join(
                f"{key.replace('_', ' ')}: {value}" for key, value in row.details.items() if value not in (None, "")
            )
            lines.append(f"{row.name}: {shown}")
    return lines
