"""Per user, the original's Exchange interface (F7 in the window): the users, and for one user the
account (with check), APPOINTMENTS (the areas with their options: add, change in place, remove,
resume), filters, CONTACTS (+ADD from Exchange, with a search of the mailbox's contacts), STATISTICS
as a bar chart per day, week or month, the conflicts with the lost version, and the active items
(with reset).

Every list is a row of sync_service/admin/views.py and every action an admin function, the same the
commands call; a refusal is the command's message (admin/refusals.py), in one line. The lists are
read on the UI loop (short reads of the local database); the actions run in a worker thread, each
in its own transaction (`calendar set` holding the cycle lock, as the command does), and the
gateway is asked only from a worker thread.
"""

from __future__ import annotations

from typing import Callable, ClassVar, Sequence, TypeVar

import peewee as pw
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static, TabbedContent, TabPane, Tabs
from textual.widgets.option_list import Option

from protocol.entries import ContactEntry
from service_runtime.config import Config, ConfigError, load_config
from service_runtime.home import Home
from service_runtime.logsetup import configure_logging

from ..admin.between_cycles import between_cycles
from ..admin.exchange_calls import add_chosen_contact, check_account, exchange_contacts
from ..admin.refusals import refusal_message
from ..admin.subscriptions import (
    CalendarChange,
    CalendarOptions,
    add_calendar,
    add_filter,
    remove_calendar,
    remove_contact,
    remove_filter,
    resume_calendar,
    set_calendar,
)
from ..admin.sync_info import PERIODS, reset_items
from ..admin.views import (
    CALENDAR_HEADERS,
    CONFLICT_HEADERS,
    CONTACT_HEADERS,
    FILTER_HEADERS,
    ITEM_HEADERS,
    CalendarRow,
    Row,
    StatRow,
    account_lines,
    calendar_rows,
    conflict_rows,
    contact_rows,
    filter_rows,
    item_rows,
    mailbox_refusal,
    stat_rows,
    stats_total,
    user_rows,
)
from ..service import SERVICE_NAME
from ..store.database import DATABASE_FILE, open_database
from ..store.schema import SchemaError

T = TypeVar("T")
TABS = ("account", "appointments", "filters", "contacts", "statistics", "conflicts", "items")
TAB_TITLES = ("Account", "APPOINTMENTS", "Filters", "CONTACTS", "STATISTICS", "Conflicts", "Active items")
POLICY_ORDER = ("pccaddie-wins", "exchange-wins", "newest-wins")
BAR_WIDTH = 40
# the keys of each tab (Screen.check_action shows and allows only those of the tab shown)
TAB_ACTIONS = {
    "account": {"check"},
    "appointments": {"read_only", "hide_private", "reminders", "auto_contacts", "policy", "folder", "remove", "resume"},
    "filters": {"remove"},
    "contacts": {"remove"},
    "statistics": {"by_day", "by_week", "by_month"},
    "conflicts": set(),
    "items": {"reset", "reset_all"},
}


class Club:
    """The window's way into the club database and the config: opened when the users are first
    shown; each read and each action in a transaction of its own."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.config: Config = load_config(home)
        self.db: pw.SqliteDatabase = open_database(home.root / DATABASE_FILE)
        self._logging = False

    @classmethod
    def open(cls, home: Home) -> Club | str:
        """The club, or why it cannot be opened (one line)."""
        try:
            return cls(home)
        except (ConfigError, SchemaError, pw.OperationalError) as exc:
            return f"the club database cannot be opened: {exc}"

    def read(self, function: Callable[[], T]) -> T:
        with self.db.atomic():
            return function()

    def log_gateway_calls(self) -> None:
        """A call to the gateway is logged to the sync service's log, as a command's is."""
        if not self._logging:
            configure_logging(self.home, SERVICE_NAME, self.config.logs, stderr=None)
            self._logging = True


def bar_chart(rows: Sequence[StatRow], width: int = BAR_WIDTH) -> list[str]:
    """STATISTICS: a bar per period, as long as its synchronised entries (the longest `width`),
    with the numbers `stats` prints."""
    if not rows:
        return ["(nothing synchronised in this period)"]
    most = max(row.synchronised for row in rows) or 1
    label = max(len(row.period) for row in rows)
    lines = []
    for row in rows:
        bar = "█" * round(row.synchronised * width / most) if row.synchronised else ""
        lines.append(
            f"{row.period:<{label}} {bar:<{width}} {row.synchronised:>5}  "
            f"(→ Exchange {row.to_exchange}, → PC CADDIE {row.to_pccaddie}, skipped {row.skipped}, "
            f"conflicts {row.conflicts}, failed {row.failed})"
        )
    return [*lines, stats_total(tuple(rows))]


def next_policy(policy: str) -> str:
    return (
        POLICY_ORDER[(POLICY_ORDER.index(policy) + 1) % len(POLICY_ORDER)]
        if policy in POLICY_ORDER
        else POLICY_ORDER[0]
    )


class UsersScreen(Screen[None]):
    """F7: the users; Enter opens a user's Exchange interface; Escape or F7 goes back."""

    CSS = """
    #users-title { height: 1; padding: 0 1; background: $panel; }
    #users-message { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f7", "back", "Back"),
    ]

    def __init__(self, club: Club) -> None:
        super().__init__()
        self.club = club

    def compose(self) -> ComposeResult:
        yield Static("Users: Enter opens the user's Exchange interface", id="users-title")
        self.table: DataTable[str] = DataTable(id="users", cursor_type="row", zebra_stripes=True)
        yield self.table
        self.message_line = Static("", id="users-message")
        yield self.message_line
        yield Footer()

    def on_mount(self) -> None:
        self.table.add_columns("LOGIN", "NAME", "MAILBOX")
        self.reload()
        self.table.focus()

    def reload(self) -> None:
        rows = self.club.read(user_rows)
        self.table.clear()
        for row in rows:
            self.table.add_row(*row.cells(), key=row.login)
        if not rows:
            self.message_line.update("no users yet (sync-service user add LOGIN)")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(UserScreen(self.club, event.row_key.value))

    def action_back(self) -> None:
        self.app.pop_screen()


class UserScreen(Screen[None]):
    """One user's Exchange interface, a tab for each part of the original's."""

    CSS = """
    #user-title { height: 1; padding: 0 1; background: $panel; }
    #user-message { height: 1; padding: 0 1; background: $boost; }
    TabbedContent { height: 1fr; }
    DataTable { height: auto; max-height: 16; }
    #contacts-found { height: auto; max-height: 8; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f5", "reload", "Refresh"),
        Binding("c", "check", "Check"),
        Binding("r", "read_only", "Read only"),
        Binding("p", "hide_private", "Hide private"),
        Binding("m", "reminders", "No reminders"),
        Binding("o", "auto_contacts", "Auto contacts"),
        Binding("w", "policy", "Policy"),
        Binding("f", "folder", "Folder"),
        Binding("u", "resume", "Resume"),
        Binding("delete", "remove", "Remove"),
        Binding("d", "by_day", "Day"),
        Binding("k", "by_week", "Week"),
        Binding("n", "by_month", "Month"),
        Binding("t", "reset", "Reset item"),
        Binding("a", "reset_all", "Reset all"),
        *(Binding(str(number), f"tab('{tab}')", show=False) for number, tab in enumerate(TABS, start=1)),
    ]

    def __init__(self, club: Club, login: str) -> None:
        super().__init__()
        self.club = club
        self.login = login
        self.by = "day"
        self.found: list[ContactEntry] = []
        self.last_message = ""
        self.tables: dict[str, DataTable[str]] = {}

    # --- layout

    def compose(self) -> ComposeResult:
        yield Static(f"Exchange interface of {self.login}  (1 … 7: the tabs; Escape: back)", id="user-title")
        with TabbedContent(id="tabs"):
            with TabPane(TAB_TITLES[0], id="account"):
                yield Static("", id="account-fields")
                yield Static("c: check the login through the gateway", classes="hint")
            with TabPane(TAB_TITLES[1], id="appointments"):
                yield self._table("appointments", CALENDAR_HEADERS)
                yield Input(placeholder="an area to add (Enter); for f: the folder ('' = main calendar)", id="area")
                yield Static(
                    "r read only · p hide private · m no reminders · o auto sync contacts · w policy · "
                    "f folder · u resume · Del remove",
                    classes="hint",
                )
            with TabPane(TAB_TITLES[2], id="filters"):
                yield self._table("filters", FILTER_HEADERS)
                yield Input(placeholder="a filter to add (Enter): Test, *Test, Test*, A*B", id="pattern")
            with TabPane(TAB_TITLES[3], id="contacts"):
                yield self._table("contacts", CONTACT_HEADERS)
                yield Input(placeholder="+ADD: search the mailbox's contacts, a name or an e-mail (Enter)", id="search")
                yield OptionList(id="contacts-found")
            with TabPane(TAB_TITLES[4], id="statistics"):
                yield Static("", id="chart-title")
                yield Static("", id="chart")
            with TabPane(TAB_TITLES[5], id="conflicts"):
                yield self._table("conflicts", CONFLICT_HEADERS)
            with TabPane(TAB_TITLES[6], id="items"):
                yield self._table("items", ITEM_HEADERS)
        self.message_line = Static("", id="user-message")
        yield self.message_line
        yield Footer()

    def _table(self, name: str, headers: Sequence[str]) -> DataTable[str]:
        table: DataTable[str] = DataTable(id=f"{name}-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*headers)
        self.tables[name] = table
        return table

    def on_mount(self) -> None:
        self.reload_all()
        refused = self.club.read(lambda: mailbox_refusal(self.login))
        self.say(f"{self.login}: {refused}" if refused else "")

    @property
    def tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active or TABS[0]

    def show_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        self._focus_list(always=True)

    def action_tab(self, tab: str) -> None:
        """1 … 7: the tab of that number."""
        self.show_tab(tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_list(always=False)

    def _focus_list(self, *, always: bool) -> None:
        """The tab's list has the keys (letters typed into a field are the field's); without a
        list, the tabs themselves. Unless `always`, a focus inside the tab stays where it is."""
        tabs = self.query_one("#tabs", TabbedContent)
        pane, focused = tabs.active_pane, self.focused
        if always or not (pane is not None and focused is not None and pane in focused.ancestors):
            (self.tables.get(self.tab) or tabs.query_one(Tabs)).focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("back", "reload", "tab"):
            return True
        if not any(action in actions for actions in TAB_ACTIONS.values()):
            return True  # the app's own (F2 … and the like)
        return action in TAB_ACTIONS[self.tab]

    def say(self, message: str) -> None:
        self.message_line.update(message)
        self.last_message = message

    # --- the lists

    def reload_all(self) -> None:
        for tab in TABS:
            self.reload(tab)

    def reload(self, tab: str) -> bool:
        """Read one tab's list again; a refusal (say, the user was removed meanwhile) is one line."""
        try:
            self._reload(tab)
        except Exception as exc:
            message = refusal_message(exc)
            if message is None:
                raise
            self.say(message)
            return False
        return True

    def _reload(self, tab: str) -> None:
        login = self.login
        if tab == "account":
            try:
                lines = self.club.read(lambda: account_lines(login))
            except Exception as exc:
                lines = (refusal_message(exc) or str(exc),)
            self.query_one("#account-fields", Static).update("\n".join(lines))
        elif tab == "statistics":
            stats = self.club.read(lambda: stat_rows(login, None, None, self.by))
            self.query_one("#chart-title", Static).update(
                f"Synchronised entries per {self.by} (d day · k week · n month)"
            )
            self.query_one("#chart", Static).update("\n".join(bar_chart(stats)))
        else:
            reader: dict[str, Callable[[], Sequence[Row]]] = {
                "appointments": lambda: calendar_rows(login),
                "filters": lambda: filter_rows(login),
                "contacts": lambda: contact_rows(login),
                "conflicts": lambda: conflict_rows(login),
                "items": lambda: item_rows(False, login),
            }
            rows = self.club.read(reader[tab])
            table = self.tables[tab]
            table.clear()
            for index, row in enumerate(rows):
                table.add_row(*row.cells(), key=self._key(tab, row, index))

    @staticmethod
    def _key(tab: str, row: object, index: int) -> str:
        name = {"appointments": "area", "filters": "pattern", "contacts": "person", "items": "id"}.get(tab)
        return str(getattr(row, name)) if name else str(index)

    def shown(self, tab: str) -> list[tuple[str, ...]]:
        """What a tab's table shows, row by row (for the tests)."""
        table = self.tables[tab]
        return [tuple(str(cell) for cell in table.get_row_at(index)) for index in range(table.row_count)]

    def chart(self) -> str:
        return str(self.query_one("#chart", Static).render())

    def selected(self, tab: str) -> str | None:
        table = self.tables[tab]
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    # --- actions: each in a worker thread, through the admin layer

    def act(self, doing: str, work: Callable[[], str], tab: str | None = None) -> None:
        self.say(f"{doing} …")
        self.app.run_worker(lambda: self._carry_out(work, tab or self.tab), thread=True, group="user")

    def _carry_out(self, work: Callable[[], str], tab: str) -> None:
        try:
            message = work()
        except Exception as exc:  # a refusal is the command's line; anything else one line too
            message = refusal_message(exc) or f"failed: {type(exc).__name__}: {exc}"
        finally:
            self.club.db.close()  # this thread's connection
        self.app.call_from_thread(self._done, message, tab)

    def _done(self, message: str, tab: str) -> None:
        if self.is_attached:
            self.reload_all()  # a check may lift a refused login, a reset changes the statistics' …
        self.say(message)

    def _in_transaction(self, function: Callable[[], str]) -> Callable[[], str]:
        def work() -> str:
            with self.club.db.atomic():
                return function()

        return work

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        if all([self.reload(tab) for tab in TABS]):
            self.say(f"{self.login}: read again")

    # account

    def action_check(self) -> None:
        club, login = self.club, self.login

        def check() -> str:
            club.log_gateway_calls()
            return " · ".join(check_account(club.db, club.home, club.config, login).lines())

        self.act(f"Checking {login}'s Exchange login", check, "account")

    # APPOINTMENTS

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value
        login = self.login
        if event.input.id == "area":
            area = value.strip()

            def add() -> str:
                add_calendar(login, area, CalendarOptions())
                return f"{login} now syncs {area} with the main calendar"

            self.act(f"Adding {area}", self._in_transaction(add), "appointments")
        elif event.input.id == "pattern":
            self.act(
                f"Adding the filter {value!r}",
                self._in_transaction(lambda: f"filter {add_filter(login, value)!r} added for {login}"),
                "filters",
            )
            event.input.value = ""
        elif event.input.id == "search":
            self.search_contacts(value.strip())

    def _calendar(self) -> CalendarRow | None:
        area = self.selected("appointments")
        if area is None:
            self.say(f"{self.login} syncs no area yet: type one below and press Enter")
            return None
        rows = self.club.read(lambda: calendar_rows(self.login))
        return next((row for row in rows if row.area == area), None)

    def change(self, describe: str, make: Callable[[CalendarRow], CalendarChange]) -> None:
        """Change one option of the selected calendar in place: `calendar set`, between cycles."""
        row = self._calendar()
        if row is None:
            return
        club, login, change = self.club, self.login, make(row)

        def work() -> str:
            with between_cycles(club.home.cycle_lock_file), club.db.atomic():
                done = set_calendar(login, row.area, change)
            if not done.changed:
                return f"{login}'s {row.area}: nothing changed"
            changed = ", ".join(name.replace("_", " ") for name in done.changed)
            return " · ".join([f"{login}'s {row.area}: {changed} changed", *done.consequences])

        self.act(f"Changing {row.area}: {describe}", work, "appointments")

    def action_read_only(self) -> None:
        self.change("read only", lambda row: CalendarChange(read_only=not row.read_only))

    def action_hide_private(self) -> None:
        self.change("hide private", lambda row: CalendarChange(hide_private=not row.hide_private))

    def action_reminders(self) -> None:
        self.change("reminders", lambda row: CalendarChange(disable_reminders=not row.disable_reminders))

    def action_auto_contacts(self) -> None:
        self.change("auto sync contacts", lambda row: CalendarChange(auto_sync_contacts=not row.auto_sync_contacts))

    def action_policy(self) -> None:
        self.change("policy", lambda row: CalendarChange(policy=next_policy(row.policy)))

    def action_folder(self) -> None:
        folder = self.query_one("#area", Input).value
        self.change("folder", lambda row: CalendarChange(folder_name=folder))

    def action_resume(self) -> None:
        area, login = self.selected("appointments"), self.login
        if area is None:
            return

        def work() -> str:
            reason = resume_calendar(login, area)
            return (
                f"{login}'s {area} resumed (it was paused: {reason})" if reason else f"{login}'s {area} was not paused"
            )

        self.act(f"Resuming {area}", self._in_transaction(work), "appointments")

    def action_remove(self) -> None:
        login, tab = self.login, self.tab
        chosen = self.selected(tab)
        if chosen is None:
            self.say("nothing selected to remove")
            return

        def work() -> str:
            if tab == "appointments":
                remove_calendar(login, chosen)
                return f"{login} no longer syncs {chosen}"
            if tab == "filters":
                remove_filter(login, chosen)
                return f"filter {chosen.strip()!r} removed for {login}"
            deleting = remove_contact(login, int(chosen))
            return f"person {chosen} removed from {login}'s contacts" + (
                "; its Exchange contact is deleted in the next cycle" if deleting else ""
            )

        self.act(f"Removing {chosen}", self._in_transaction(work), tab)

    # CONTACTS: +ADD

    def search_contacts(self, text: str) -> None:
        club, login = self.club, self.login

        def search() -> str:
            club.log_gateway_calls()
            found = exchange_contacts(club.db, club.home, club.config, login, text, search=True)
            self.app.call_from_thread(self._found, found)
            if not found:
                return f"no Exchange contact matches {text!r}"
            return f"{len(found)} Exchange contact(s) match {text!r}: Enter adds the one selected"

        self.act(f"Searching {login}'s Exchange contacts for {text!r}", search, "contacts")

    def _found(self, found: list[ContactEntry]) -> None:
        self.found = found
        options = self.query_one("#contacts-found", OptionList)
        options.clear_options()
        options.add_options(
            [
                Option(f"{c.display_name or '?'}  <{', '.join(c.emails)}>", id=str(index))
                for index, c in enumerate(found)
            ]
        )
        if found:
            options.highlighted = 0
            options.focus()

    def found_shown(self) -> list[str]:
        options = self.query_one("#contacts-found", OptionList)
        return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "contacts-found" or event.option.id is None:
            return
        chosen, club, login = self.found[int(event.option.id)], self.club, self.login
        self.act(f"Adding {chosen.display_name or chosen.id}", lambda: add_chosen_contact(club.db, login, chosen))

    # STATISTICS

    def _by(self, by: str) -> None:
        assert by in PERIODS
        self.by = by
        if self.reload("statistics"):
            self.say(f"STATISTICS per {by}")

    def action_by_day(self) -> None:
        self._by("day")

    def action_by_week(self) -> None:
        self._by("week")

    def action_by_month(self) -> None:
        self._by("month")

    # active items

    def action_reset(self) -> None:
        chosen = self.selected("items")
        if chosen is None:
            self.say(f"{self.login} has no active items")
            return
        item = int(chosen)
        self.act(
            f"Resetting item {item}",
            self._in_transaction(lambda: f"{reset_items([item])} item(s) will be tried again in the next cycle"),
            "items",
        )

    def action_reset_all(self) -> None:
        ids = [
            int(key) for key in (self.tables["items"].get_row_at(i)[0] for i in range(self.tables["items"].row_count))
        ]
        if not ids:
            self.say(f"{self.login} has no active items")
            return
        self.act(
            f"Resetting {self.login}'s items",
            self._in_transaction(lambda: f"{reset_items(ids)} item(s) will be tried again in the next cycle"),
            "items",
        )
