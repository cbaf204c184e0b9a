"""`sync-service manager --web HOST:PORT`: the same window in a browser, through textual-serve
(each browser session runs `sync-service --home HOME manager --control MODE` behind a web
terminal), behind a one-time login link:

- at start a link `http://HOST:PORT/login/TOKEN` is printed; the first request to it opens the
  one session there is (an HttpOnly, SameSite=Strict cookie) and leads to the window; the link
  then no longer works;
- every other request without that session's cookie, the page, its files and its websocket
  alike, is refused (403).
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import shlex
import signal
import subprocess
import sys
from typing import Any, Awaitable, Callable

from aiohttp import web
from textual_serve.server import Server

from protocol.addresses import Address
from service_runtime.home import Home

COOKIE = "caddie_manager_session"
REFUSAL = "403: this service manager needs the login link it printed at start (restart it for a new one)"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServeError(Exception):
    """The window cannot be served (the address is taken, say); the message says why."""


class Gate:
    """The one-time login token and the session it opens."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(24)
        self.session: str | None = None

    def open(self, token: str) -> str | None:
        """The new session's value if `token` is the login token and it was not used yet."""
        if self.session is not None or not hmac.compare_digest(token.encode(), self.token.encode()):
            return None
        self.session = secrets.token_urlsafe(32)
        return self.session

    def admits(self, cookie: str | None) -> bool:
        return self.session is not None and cookie is not None and hmac.compare_digest(cookie, self.session)


class GuardedServer(Server):
    def __init__(self, command: str, address: Address, gate: Gate, announce: Callable[[str], None]) -> None:
        super().__init__(command, host=address.host, port=address.port, title="Service manager overview")
        self.address = address
        self.gate = gate
        self.announce = announce

    @property
    def login_link(self) -> str:
        return f"http://{self.address}/login/{self.gate.token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        app.router.add_get("/login/{token}", self.handle_login)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/login/") or self.gate.admits(request.cookies.get(COOKIE)):
            return await handler(request)
        raise web.HTTPForbidden(text=REFUSAL)

    async def handle_login(self, request: web.Request) -> web.StreamResponse:
        session = self.gate.open(request.match_info["token"])
        if session is None:
            raise web.HTTPForbidden(text=REFUSAL)
        response = web.HTTPFound("/")
        response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/")
        return response

    async def handle_index(self, request: web.Request) -> Any:
        # the page names its websocket and files by the address the browser used
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def on_startup(self, app: web.Application) -> None:
        pass  # (textual-serve prints its banner here; the link is printed once listening)

    def serve(self, debug: bool = False) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        runner = web.AppRunner(await self._make_app(), handle_signals=False, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.address.host, self.address.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ServeError(f"--web {self.address}: cannot listen there: {exc.strerror or exc}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signal_number, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                pass
        self.announce(f"Service manager at http://{self.address}/ (Ctrl+C ends it)")
        self.announce(f"Open it with this one-time login link: {self.login_link}")
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


def window_command(home: Home, control: str) -> str:
    argv = [sys.executable, "-m", "sync_service", "--home", str(home.root), "manager", "--control", control]
    return subprocess.list2cmdline(argv) if sys.platform == "win32" else shlex.join(argv)  # (run by a shell)


def serve(home: Home, control: str, address: Address) -> None:
    server = GuardedServer(window_command(home, control), address, Gate(), lambda line: print(line, flush=True))
    server.serve()
