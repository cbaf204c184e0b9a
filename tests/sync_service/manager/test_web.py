import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from sandbox.processes import command, free_port
from sync_service.manager.web import COOKIE, Gate

from .browser import Chromium, Page, find_chromium
from .support import club_home

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.fixture
def served(tmp_path):
    """`sync-service manager --web 127.0.0.1:PORT` as a real process, and the link it printed."""
    home = club_home(tmp_path / "home")
    port = free_port()
    process = subprocess.Popen(
        command("sync-service") + ["--home", str(home.root), "manager", "--web", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,
    )
    try:
        output = b""
        deadline = time.monotonic() + 30
        while b"login link" not in output or not output.endswith(b"\n"):
            readable, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(process.stdout.fileno(), 4096) if readable else b""
            if not chunk:
                break  # the deadline passed, or the process ended
            output += chunk
        lines = output.decode().splitlines()
        assert lines and "login link" in lines[-1], lines
        yield f"http://127.0.0.1:{port}", lines[-1].rpartition(" ")[2], lines
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_web_refuses_every_request_without_the_session_and_the_link_opens_it_once(served):
    base, link, lines = served
    assert lines[0] == f"Service manager at {base}/ (Ctrl+C ends it)"
    assert link.startswith(f"{base}/login/")
    with httpx.Client() as stranger:
        for path in ("/", "/ws", "/static/css/xterm.css", "/download/x", "/login/wrong-token"):
            answer = stranger.get(base + path)
            assert answer.status_code == 403, path
            assert "login link" in answer.text
    with httpx.Client(follow_redirects=True) as browser:
        page = browser.get(link)
        assert page.status_code == 200
        assert str(page.url) == f"{base}/"
        assert "Service manager overview" in page.text
        assert f"ws://127.0.0.1:{base.rpartition(':')[2]}/ws" in page.text
        assert browser.get(base + "/").status_code == 200  # the session goes on
        assert browser.get(base + "/static/js/textual.js").status_code == 200  # and the page's files
    with httpx.Client(follow_redirects=True) as latecomer:
        assert latecomer.get(link).status_code == 403  # the link was used
    with httpx.Client(cookies={COOKIE: "guessed"}) as guesser:
        assert guesser.get(base + "/").status_code == 403


def test_the_gate_opens_one_session_with_the_token_only():
    gate = Gate()
    assert gate.open("not-it") is None
    session = gate.open(gate.token)
    assert session and gate.admits(session)
    assert gate.open(gate.token) is None
    assert not gate.admits(None) and not gate.admits(session + "x")


def test_web_serves_loopback_only_unless_allow_remote(tmp_path):
    from click.testing import CliRunner

    from sync_service.cli import main

    home = str(tmp_path / "home")
    refused = CliRunner().invoke(main, ["--home", home, "manager", "--web", "0.0.0.0:8080"])
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        "Error: --web 0.0.0.0:8080: not a loopback address; add --allow-remote to serve it to others"
    )
    alone = CliRunner().invoke(main, ["--home", home, "manager", "--allow-remote"])
    assert alone.exit_code == 2
    assert "--allow-remote goes with --web HOST:PORT" in alone.output


def test_the_session_gets_the_window_through_the_websocket(served):
    import asyncio

    import aiohttp

    base, link, _ = served

    async def window_text() -> str:
        jar = aiohttp.CookieJar(unsafe=True)  # (aiohttp keeps no cookie of an IP address otherwise)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(link) as answer:
                assert answer.status == 200
            received = b""
            async with session.ws_connect(f"{base}/ws?width=120&height=30") as socket:
                async with asyncio.timeout(30):
                    async for message in socket:
                        if message.type == aiohttp.WSMsgType.BINARY:
                            received += message.data
                        if b"user_sync" in received:
                            break
            return received.decode(errors="replace")

    text = asyncio.run(window_text())
    for shown in ("Exchange gateway", "user_exch", "Synchronisation service", "user_sync", "Never started"):
        assert shown in text


@pytest.fixture(scope="module")
def chromium():
    executable, why_not = find_chromium()
    if executable is None:
        pytest.skip(why_not)
    return executable


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_in_a_real_headless_chromium_the_link_opens_the_window_and_a_request_without_it_is_refused(
    served, chromium, tmp_path
):
    import asyncio

    import aiohttp

    base, link, _ = served
    browser = Chromium(chromium, tmp_path / "profile")

    async def visit() -> tuple[bytes, bytes]:
        async with aiohttp.ClientSession() as session:
            page = await Page.open(session, browser)
            await page.navigate(base + "/")  # no session yet: refused
            assert (await page.text()).startswith("403: this service manager needs the login link")
            await page.navigate(link)  # the link opens the session and leads to the window
            assert await page.evaluate("location.href") == base + "/"
            await page.wait_for_frames(b"user_sync")  # the window, through the page's websocket
            for shown in (b"Exchange gateway", b"Never started", b"user_exch"):
                assert shown in b"".join(page.frames)
            await page.pump(1.0)  # let the terminal paint what came
            overview = await page.screenshot(tmp_path / "manager-web.png")
            await page.click(640, 360)
            await page.press("F7", 118)  # the keys work in the browser: F7, the users
            await page.wait_for_frames(b"MAILBOX")
            await page.pump(1.0)
            users = await page.screenshot(tmp_path / "manager-web-users.png")
            return overview, users

    try:
        overview, users = asyncio.run(visit())
    finally:
        browser.close()
    width, height = png_size(overview)
    assert width == 1280 and height > 400  # the window's width; the height less the browser's own
    assert len(overview) > 15_000 and overview != users  # painted, not a blank page
    assert (tmp_path / "manager-web.png").read_bytes() == overview  # kept by the test
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(tmp_path / "manager-web.png", DOCS / "manager-web.png")
