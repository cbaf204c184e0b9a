"""The stand-in Exchange server (`exchange-gateway emulator`) as a real process on loopback, with
its mailboxes; its EWS address, and its HTTP control endpoint (state, faults, passwords: see
docs/emulator.md)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from dataclasses import dataclass
from typing import Any, Sequence

from .processes import ServiceFailure, command, free_port


@dataclass
class StandIn:
    process: subprocess.Popen[str]
    url: str  # http://HOST:PORT/EWS/Exchange.asmx

    @classmethod
    def start(cls, mailboxes: Sequence[tuple[str, str]], listen: str | None = None) -> StandIn:
        """The stand-in with `mailboxes` (address, password), on `listen` (HOST:PORT; default a
        free loopback port); returns once it said its EWS address."""
        arguments = ["emulator", "--listen", listen or f"127.0.0.1:{free_port()}"]
        for address, password in mailboxes:
            arguments += ["--mailbox", f"{address}:{password}"]
        process = subprocess.Popen(
            command("exchange-gateway") + arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        url = process.stdout.readline().strip() if process.stdout is not None else ""
        standin = cls(process, url)
        if not url.startswith("http"):
            standin.stop()
            raise ServiceFailure("the stand-in Exchange server did not start")
        return standin

    @property
    def pid(self) -> int:
        return self.process.pid

    def control(self, path: str, body: Any = None, method: str = "POST") -> Any:
        """A request to the control endpoint (`/emulator/...`), its JSON answer."""
        base = self.url.rsplit("/EWS/", 1)[0]
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def state(self) -> Any:
        """Every mailbox and item, and the requests counted so far."""
        return self.control("/emulator/state", method="GET")

    def request_count(self) -> int:
        """How many EWS requests the stand-in answered so far."""
        return sum(self.state()["requests"]["counts"].values())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
