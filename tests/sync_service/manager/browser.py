"""A real headless browser for the web test: Debian's chromium, driven through its DevTools protocol
(a websocket; aiohttp, which textual-serve brings, is the client)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp


def find_chromium() -> tuple[str | None, str]:
    """chromium, installed with apt-get (Debian's package) when it is missing and that is
    possible; else None and why not."""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found, ""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return None, "chromium is not installed, and apt-get cannot install it here (not root, or no apt-get)"
    done = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, text=True, timeout=900)
    found = shutil.which("chromium")
    if found is None:
        return None, f"apt-get install -y chromium failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return found, ""


class Chromium:
    """`chromium --headless` with a profile of its own; `page()` is its one tab."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",  # as root in a container
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1280,720",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self.process.stderr is not None
        said, deadline = b"", time.monotonic() + 60
        while (found := re.search(rb"DevTools listening on ws://127\.0\.0\.1:(\d+)/", said)) is None:
            readable, _, _ = select.select([self.process.stderr], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.process.stderr.fileno(), 4096) if readable else b""
            if not chunk:
                self.close()
                raise AssertionError(f"chromium did not start its DevTools: {said.decode(errors='replace')}")
            said += chunk
        self.port = int(found.group(1))

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Page:
    """One tab, through DevTools: navigate, read the page's text, the websocket frames it got,
    press keys, take a screenshot."""

    def __init__(self, session: aiohttp.ClientSession, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.socket = socket
        self.counter = 0
        self.frames: list[bytes] = []  # what the page's own websockets received

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, browser: Chromium) -> Page:
        async with session.get(f"http://127.0.0.1:{browser.port}/json/list") as answer:
            targets = await answer.json()
        target = next(t for t in targets if t["type"] == "page")
        socket = await session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = cls(session, socket)
        await page.call("Page.enable")
        await page.call("Network.enable")
        return page

    def _event(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Network.webSocketFrameReceived":
            response = message["params"]["response"]
            data = response["payloadData"]
            self.frames.append(base64.b64decode(data) if response.get("opcode") == 2 else data.encode())

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.counter += 1
        ident = self.counter
        await self.socket.send_json({"id": ident, "method": method, "params": params})
        async for message in self.socket:
            data = json.loads(message.data)
            if data.get("id") == ident:
                if "error" in data:
                    raise AssertionError(f"{method}: {data['error']}")
                return dict(data["result"])
            self._event(data)
        raise AssertionError("chromium closed its DevTools socket")

    async def pump(self, seconds: float) -> None:
        """Take in the browser's events for a while (the frames the page receives)."""
        try:
            async with asyncio.timeout(seconds):
                async for message in self.socket:
                    self._event(json.loads(message.data))
        except TimeoutError:
            pass

    async def wait_for_frames(self, needle: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in b"".join(self.frames):
            if time.monotonic() > deadline:
                raise AssertionError(f"the page's websocket never carried {needle!r}")
            await self.pump(0.2)

    async def navigate(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while (
            await self.evaluate("document.readyState") != "complete"
            or await self.evaluate("location.href") == "about:blank"
        ):
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not load")
            await self.pump(0.1)

    async def evaluate(self, expression: str) -> Any:
        return (await self.call("Runtime.evaluate", expression=expression, returnByValue=True))["result"].get("value")

    async def text(self) -> str:
        return str(await self.evaluate("document.body ? document.body.innerText : ''"))

    async def click(self, x: int, y: int) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    async def press(self, key: str, code: int) -> None:
        """A key such as F7 (its Windows virtual key code: F1 = 112)."""
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code)

    async def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])
        path.write_bytes(data)
        return data
