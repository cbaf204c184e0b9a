"""The stand-in Exchange server (`exchange-gateway emulator`) as a real process on loopback, with
its mailboxes; its EWS address, and its HTTP control endpoint (state, faults, passwords: see
docs/emulator.md). With apps and a certificate directory it is Exchange Online too: HTTPS (its CA
in `ca_file`), the identity platform and Microsoft Graph over the same mailboxes."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .processes import ServiceFailure, command, free_port


@dataclass
class StandIn:
    process: subprocess.Popen[str]
    url: str  # http(s)://HOST:PORT/EWS/Exchange.asmx
    tls_dir: Path | None = None  # where it wrote ca.pem, when it serves HTTPS

    @classmethod
    def start(
        cls,
        mailboxes: Sequence[tuple[str, str]],
        listen: str | None = None,
        apps: Sequence[str] = (),
        tls_dir: Path | None = None,
    ) -> StandIn:
        """The stand-in with `mailboxes` (address, password), on `listen` (HOST:PORT; default a
        free loopback port), with `apps` (TENANT:CLIENT_ID:SECRET each) and HTTPS with its CA in
        `tls_dir` if given; returns once it said its EWS address."""
        arguments = ["emulator", "--listen", listen or f"127.0.0.1:{free_port()}"]
        for address, password in mailboxes:
            arguments += ["--mailbox", f"{address}:{password}"]
        for app in apps:
            arguments += ["--app", app]
        if tls_dir is not None:
            arguments += ["--tls", str(tls_dir)]
        process = subprocess.Popen(
            command("exchange-gateway") + arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        url = process.stdout.readline().strip() if process.stdout is not None else ""
        standin = cls(process, url, tls_dir)
        if not url.startswith("http"):
            standin.stop()
            raise ServiceFailure("the stand-in Exchange server did not start")
        return standin

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base(self) -> str:
        """http(s)://HOST:PORT, where EWS, Graph (/v1.0), the tenants and the control endpoint are."""
        return self.url.rsplit("/EWS/", 1)[0]

    @property
    def ca_file(self) -> Path:
        """The CA certificate a client verifies the stand-in's HTTPS with."""
        if self.tls_dir is None:
            raise ValueError("the stand-in was started without --tls")
        return self.tls_dir / "ca.pem"

    def authority(self, tenant: str) -> str:
        """The identity platform's address for `tenant` (msal's authority)."""
        return f"{self.base}/{tenant}"

    @property
    def graph_url(self) -> str:
        return f"{self.base}/v1.0"

    def control(self, path: str, body: Any = None, method: str = "POST") -> Any:
        """A request to the control endpoint (`/emulator/...`), its JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        context = None if self.tls_dir is None else ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
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
