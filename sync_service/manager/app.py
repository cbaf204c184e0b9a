"""The service manager window: the original's "Service manager overview" in Textual.

The table of both services (service_runtime.overview: what `sync-service overview` prints), the keys
F2 Start, F3 Stop, F4 Restart, F5 Refresh, F6 Log archive, Shift+F5 auto refresh on/off, F7 the
users with each one's Exchange interface (users.py), and below the table the log of the selected
service, following it. Start/Stop/Restart go through a `Control`
(control.py) in a worker thread; each answers one line under the table.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Log, Static

from service_runtime.home import Home
from service_runtime.overview import SERVICES, Row, overview

from .archive import ArchiveScreen
from .control import NAMES, Control, Outcome
from .logpane import LogFollower
from .users import Club, UsersScreen

COLUMNS = ("Name", "State", "ID", "Time", "PID", "Version")
REFRESH_SECONDS = 2.0
LOG_LINES_KEPT = 5000


def cells(row: Row) -> tuple[str, str, str, str, str, str]:
    return (row.name, row.state, row.id, row.time, row.pid, row.version)


class ManagerApp(App[None]):
    """`sync-service manager`: the overview of both services, their log, and the keys."""

    TITLE = "Service manager overview"
    CSS = """
    #overview { height: auto; max-height: 8; }
    #message { height: 1; padding: 0 1; }
    #log-title { height: 1; padding: 0 1; background: $panel; }
    #log { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "start", "Start"),
        Binding("f3", "stop", "Stop"),
        Binding("f4", "restart", "Restart"),
        Binding("f5", "refresh", "Refresh"),
        Binding("f6", "archive", "Log archive"),
        Binding("shift+f5", "toggle_auto_refresh", "Auto refresh"),
        Binding("f7", "users", "Users"),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def __init__(
        self, home: Home, control: Control, *, refresh_seconds: float = REFRESH_SECONDS, log_poll: float = 0.25
    ) -> None:
        super().__init__()
        self.home = home
        self.control = control
        self.refresh_seconds = refresh_seconds
        self.log_poll = log_poll
        self.auto_refreshing = True
        self.busy: set[str] = set()
        self.follower: LogFollower | None = None
        self.last_message = ""
        self.club: Club | None = None
        self.sub_title = f"{home.root}  ·  control: {control.description}"

    def compose(self) -> ComposeResult:
        # kept, not queried: a query looks at the screen on top, which may be the archive's
        self.table: DataTable[str] = DataTable(id="overview", cursor_type="row", zebra_stripes=True)
        self.message_line = Static("", id="message")
        self.log_title = Static("", id="log-title")
        self.log_pane = Log(id="log", max_lines=LOG_LINES_KEPT, highlight=False)
        yield Header()
        with Vertical():
            yield self.table
            yield self.message_line
            yield self.log_title
            yield self.log_pane
        yield Footer()

    def on_mount(self) -> None:
        table = self.table
        for column in COLUMNS:
            table.add_column(column, key=column)
        for row in overview(self.home):
            table.add_row(*cells(row), key=row.service)
        table.focus()
        self.set_interval(self.refresh_seconds, self.auto_refresh_tick)
        self.say(
            getattr(self.control, "reason", "")  # a refused control: why
            or getattr(self.control, "notice", "")  # systemd units with another home
            or "F2 Start · F3 Stop · F4 Restart · F5 Refresh · F6 Log archive · F7 Users"
        )
        self.follow(self.selected)

    def on_unmount(self) -> None:
        if self.follower is not None:
            self.follower.stop()

    # --- the table

    @property
    def selected(self) -> str:
        table = self.table
        index = min(max(table.cursor_row, 0), len(SERVICES) - 1)
        return SERVICES[index][0]

    def refresh_overview(self) -> None:
        self.control.poll()
        table = self.table
        if not table.is_attached:
            return  # the window is closing
        for row in overview(self.home):
            for column, value in zip(COLUMNS, cells(row)):
                table.update_cell(row.service, column, value, update_width=True)

    def table_rows(self) -> list[tuple[str, ...]]:
        """What the table shows, row by row (for tests and the screenshot's check)."""
        table = self.table
        return [tuple(str(cell) for cell in table.get_row_at(index)) for index in range(table.row_count)]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is not self.table:
            return  # a table of the users' screens
        if event.row_key.value is not None and (self.follower is None or self.follower.service != event.row_key.value):
            self.follow(event.row_key.value)

    # --- the log pane

    def follow(self, service: str) -> None:
        if self.follower is not None:
            self.follower.stop()
        log = self.log_pane
        log.clear()
        self.log_title.update(f"Log of {NAMES[service]}: {self.home.log_file(service)}")
        follower = LogFollower(self.home, service, lambda lines: self._deliver(follower, lines), poll=self.log_poll)
        self.follower = follower.start()

    def _deliver(self, follower: LogFollower, lines: list[str]) -> None:
        if not follower.stopped:
            self.call_from_thread(self._append, follower, lines)

    def _append(self, follower: LogFollower, lines: list[str]) -> None:
        if follower is self.follower and lines:
            self.log_pane.write_lines(lines)

    def log_lines(self) -> list[str]:
        return list(self.log_pane.lines)

    # --- the keys

    def say(self, message: str) -> None:
        self.message_line.update(message)
        self.last_message = message

    def action_start(self) -> None:
        self._act("start", "Starting")

    def action_stop(self) -> None:
        self._act("stop", "Stopping")

    def action_restart(self) -> None:
        self._act("restart", "Restarting")

    def _act(self, verb: str, doing: str) -> None:
        service = self.selected
        if service in self.busy:
            self.say(f"{NAMES[service]}: wait, the last action is not done yet")
            return
        self.busy.add(service)
        self.say(f"{doing} {NAMES[service]} …")
        self.run_worker(lambda: self._carry_out(verb, service), thread=True, group="control")

    def _carry_out(self, verb: str, service: str) -> None:
        try:
            outcome = getattr(self.control, verb)(service)
        except Exception as exc:  # a failure is one line in the window, never a traceback
            outcome = Outcome(False, f"{verb} {NAMES[service]} failed: {exc}")
        self.call_from_thread(self._done, service, outcome)

    def _done(self, service: str, outcome: Outcome) -> None:
        self.busy.discard(service)
        self.say(outcome.message)
        self.refresh_overview()

    def action_refresh(self) -> None:
        self.refresh_overview()
        self.say(f"Refreshed {NAMES[self.selected]}")

    def auto_refresh_tick(self) -> None:
        if self.auto_refreshing:
            self.refresh_overview()

    def action_toggle_auto_refresh(self) -> None:
        self.auto_refreshing = not self.auto_refreshing
        self.say(f"Auto refresh {'on' if self.auto_refreshing else 'off'}")

    def action_archive(self) -> None:
        self.push_screen(ArchiveScreen(self.home, self.selected))

    def action_users(self) -> None:
        """F7: the users, each with the original's Exchange interface."""
        if self.club is None:
            opened = Club.open(self.home)
            if isinstance(opened, str):
                self.say(opened)
                return
            self.club = opened
        self.push_screen(UsersScreen(self.club))
