"""`exchange-gateway emulator` as a real process, used with exchangelib."""

from __future__ import annotations

import selectors
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.protocol import close_connections

from .conftest import make_account

SCRIPT = Path(sys.executable).parent / "exchange-gateway"


def read_line(process: subprocess.Popen, timeout: float = 15) -> str:
    """The next line the process writes on stdout, waiting at most `timeout` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError("the emulator printed nothing")
    return process.stdout.readline().strip()


class _Address:
    def __init__(self, url: str) -> None:
        self.url = url


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


def test_the_console_script_serves_exchangelib_and_stops_on_sigterm():
    process = subprocess.Popen(
        [str(SCRIPT), "emulator", "--listen", "127.0.0.1:0", "--mailbox", "anna@club.example:pa:ss"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = read_line(process)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/EWS/Exchange.asmx")
        account = make_account(_Address(url), "anna@club.example", "pa:ss")
        berlin = EWSTimeZone("Europe/Berlin")
        item = CalendarItem(
            account=account,
            folder=account.calendar,
            subject="From another process",
            start=EWSDateTime(2026, 6, 1, 9, tzinfo=berlin),
            end=EWSDateTime(2026, 6, 1, 10, tzinfo=berlin),
        )
        item.save()
        assert [i.subject for i in account.calendar.all()] == ["From another process"]
        close_connections()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        errors = process.stderr.read()
        assert f"Emulator listening on {url}" in errors
        assert "Emulator stopped" in errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_refuses_a_non_loopback_address():
    result = run("emulator", "--listen", "0.0.0.0:8080", "--mailbox", "anna@club.example:x")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: refusing to listen on 0.0.0.0: the emulator only listens on a loopback address"
    ]


def test_refuses_a_port_in_use():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run("emulator", "--listen", f"127.0.0.1:{port}", "--mailbox", "anna@club.example:x")
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"Error: cannot listen on 127.0.0.1:{port}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--listen", "127.0.0.1:0"],
        ["--listen", "127.0.0.1:0", "--mailbox", "no-at-sign:pw"],
        ["--listen", "127.0.0.1:0", "--mailbox", "anna@club.example"],
        ["--listen", "nonsense", "--mailbox", "anna@club.example:pw"],
        ["--listen", "127.0.0.1:0", "--mailbox", "a@b.c:x", "--mailbox", "A@b.c:y"],
        ["--mailbox", "anna@club.example:pw"],
        ["--listen", "127.0.0.1:0", "--mailbox", "a@b.c:x", "--app", "tenant:client"],
        ["--listen", "127.0.0.1:0", "--mailbox", "a@b.c:x", "--app", "t:c:s", "--app", "T:C:other"],
    ],
)
def test_usage_errors_exit_2(args):
    result = run("emulator", *args)
    assert result.returncode == 2
    assert "Error:" in result.stderr


def test_the_console_script_with_an_app_over_tls(tmp_path: Path):
    certs = tmp_path / "certs"
    process = subprocess.Popen(
        [
            str(SCRIPT),
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--mailbox",
            "anna@club.example:pw",
            "--app",
            "club-tenant:client-1:se:cret",
            "--tls",
            str(certs),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = read_line(process)
        assert url.startswith("https://127.0.0.1:") and url.endswith("/EWS/Exchange.asmx")
        base = url.removesuffix("/EWS/Exchange.asmx")
        context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        with httpx.Client(base_url=base, verify=context) as client:
            answer = client.post(
                "/club-tenant/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "client-1",
                    "client_secret": "se:cret",
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
            assert answer.status_code == 200
            events = client.get(
                "/v1.0/users/anna@club.example/events",
                headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
            )
            assert events.status_code == 200
            assert events.json()["value"] == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
