"""F7: each user's Exchange interface in the window, driven with Textual's pilot on a real club
database (made with the CLI). Every refusal must be the CLI's own line (what follows "Error: ")."""

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import filelock
import pytest

from protocol.entries import ContactEntry
from sync_service.admin import between_cycles as between_cycles_module
from sync_service.admin import exchange_calls
from sync_service.gateway_calls import GatewayCallFailed
from sync_service.manager.app import ManagerApp
from sync_service.manager.control import ProcessControl
from sync_service.manager.users import UserScreen, UsersScreen, bar_chart, next_policy
from sync_service.store.models import ALL_MODELS
from tests.sync_service.commands.support import Cli

from .support import club_home, drive

DOCS = Path(__file__).resolve().parents[3] / "docs"
ERROR = "Error: "


@pytest.fixture
def home(tmp_path):
    return club_home(tmp_path / "home")


class WindowCli(Cli):
    """The CLI in-process, next to the window: a command binds the models to its own database (a
    process runs either), so after each the window's database is bound again."""

    app: ManagerApp | None = None

    def __call__(self, *args, input=None):
        result = super().__call__(*args, input=input)
        if self.app is not None and self.app.club is not None:
            self.app.club.db.bind(ALL_MODELS, bind_refs=False, bind_backrefs=False)
        return result


@pytest.fixture
def cli(home):
    """The small club of the command tests, and alice's Exchange account."""
    run = WindowCli(home.root)
    run.ok("group", "add", "Staff")
    run.ok("group", "permissions", "Staff", "--appointments", "all", "--contacts", "yes")
    run.ok("user", "add", "alice", "--group", "Staff", "--name", "Alice Adler")
    run.ok("user", "add", "bob")
    run.ok("area", "add", "Tee")
    run.ok("area", "add", "Pro", "--owner", "bob")
    run.ok(
        "account",
        "set",
        "alice",
        "--ews-url",
        "https://mail.club.example/EWS/Exchange.asmx",
        "--mailbox",
        "alice@club.example",
        "--password-stdin",
        input="alice-secret\n",
    )
    return run


def cli_refusal(cli, *args):
    """The CLI's refusal of the same action, as the window must say it."""
    line = cli.refused(*args)
    return line[len(ERROR) :]


def app_for(home, cli):
    cli.app = ManagerApp(home, ProcessControl(home), log_poll=0.02)
    return cli.app


async def open_user(pilot, login):
    """F7, then the user's row and Enter: the user's screen."""
    await pilot.press("f7")
    await pilot.pause()
    users = pilot.app.screen
    assert isinstance(users, UsersScreen)
    logins = [str(users.table.get_row_at(i)[0]) for i in range(users.table.row_count)]
    users.table.move_cursor(row=logins.index(login))
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, UserScreen) and screen.login == login
    return screen


async def on_tab(pilot, screen, tab):
    """Show a tab: its list (or the tabs, where there is none) has the focus and the keys."""
    screen.show_tab(tab)
    await pilot.pause()
    await pilot.pause()
    if tab in screen.tables:
        assert screen.focused is screen.tables[tab]


async def done(pilot):
    """Wait for the action a key started (a worker thread) and its answer on the screen."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def type_in(pilot, screen, selector, text):
    field = screen.query_one(selector)
    field.focus()
    await pilot.pause()
    assert screen.focused is field
    field.value = text
    await pilot.press("enter")
    await done(pilot)


def shot(app, tmp_path, name, *expected):
    """Keep the screen as SVG (docs/NAME with UPDATE_SCREENSHOTS=1); it must show `expected`."""
    app.save_screenshot(name, str(tmp_path))
    svg = (tmp_path / name).read_text()
    for text in expected:
        assert text.replace(" ", "&#160;") in svg, text
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(tmp_path / name, DOCS / name)


def test_f7_lists_the_users_and_the_account_tab_shows_the_account_as_account_show_does(home, cli, tmp_path):
    app = app_for(home, cli)
    shown = cli.ok("account", "show", "alice").splitlines()

    async def scenario(pilot):
        await pilot.press("f7")
        await pilot.pause()
        users = app.screen
        rows = [tuple(str(c) for c in users.table.get_row_at(i)) for i in range(users.table.row_count)]
        assert rows == [("alice", "Alice Adler", "alice@club.example"), ("bob", "bob", "(no Exchange account)")]
        await pilot.press("escape")
        screen = await open_user(pilot, "alice")
        fields = str(screen.query_one("#account-fields").render()).splitlines()
        assert fields == shown and "password: ********" in fields
        shot(app, tmp_path, "manager-user-account.svg", "Exchange interface of alice", "alice@club.example")
        for number, tab in enumerate(("account", "appointments", "filters", "contacts"), start=1):
            await pilot.press(str(number))  # the tabs by number
            await pilot.pause()
            assert screen.tab == tab
            if tab in screen.tables:
                assert screen.focused is screen.tables[tab]
        await pilot.press("escape")
        await pilot.press("escape")
        bob = await open_user(pilot, "bob")
        assert str(bob.query_one("#account-fields").render()) == cli_refusal(cli, "account", "show", "bob")

    drive(app, scenario)


def test_check_asks_the_gateway_from_a_worker_and_a_refused_login_blocks_the_mailbox(home, cli, monkeypatch):
    app = app_for(home, cli)
    answers = []

    def gateway(home_, config, op, args, timeout=120.0):
        answers.append((op, args["account"]["mailbox"]))
        if len(answers) == 1:
            raise GatewayCallFailed("auth_failed", "Exchange refused the login (auth_failed)", "password_refused")
        return {"mailbox": "alice@club.example", "server_version": "15.1", "calendar": "Calendar"}

    monkeypatch.setattr(exchange_calls, "call_gateway", gateway)

    async def scenario(pilot):
        screen = await open_user(pilot, "alice")
        await on_tab(pilot, screen, "appointments")
        await type_in(pilot, screen, "#area", "Tee")
        await on_tab(pilot, screen, "account")
        await pilot.press("c")
        await done(pilot)
        assert screen.last_message == "Exchange refused the login (auth_failed)"
        assert screen.shown("appointments")[0][3] == "login refused"  # the sync leaves the mailbox alone
        await pilot.press("c")
        await done(pilot)
        assert screen.last_message == (
            "alice: OK, mailbox alice@club.example on Exchange 15.1 (calendar: Calendar) · "
            "alice: the login works again: the sync takes this mailbox up again with its next cycle"
        )
        assert screen.shown("appointments")[0][3] == "active"
        assert answers == [("exchange.check", "alice@club.example")] * 2
        await pilot.press("escape")
        await pilot.press("escape")
        bob = await open_user(pilot, "bob")
        await on_tab(pilot, bob, "account")
        await pilot.press("c")
        await done(pilot)
        assert bob.last_message == cli_refusal(cli, "account", "check", "bob")
        assert len(answers) == 2  # refused before the gateway is asked

    drive(app, scenario)


def test_appointments_add_change_in_place_remove_and_resume(home, cli, tmp_path):
    app = app_for(home, cli)

    async def scenario(pilot):
        screen = await open_user(pilot, "alice")
        await on_tab(pilot, screen, "appointments")
        await type_in(pilot, screen, "#area", "Tee")
        assert screen.last_message == "alice now syncs Tee with the main calendar"
        assert screen.shown("appointments") == [("Tee", "(main calendar)", "-", "active")]
        await type_in(pilot, screen, "#area", "Nowhere")
        assert screen.last_message == cli_refusal(cli, "calendar", "add", "alice", "Nowhere")
        await type_in(pilot, screen, "#area", "Tee")
        assert screen.last_message == cli_refusal(cli, "calendar", "add", "alice", "Tee")

        screen.tables["appointments"].focus()
        for key in ("r", "m"):
            await pilot.press(key)
            await done(pilot)
        assert screen.last_message.startswith("alice's Tee: disable reminders changed · appointments written to")
        assert screen.shown("appointments") == [("Tee", "(main calendar)", "read only, disable reminders", "active")]
        await pilot.press("w")
        await done(pilot)
        assert cli.json("calendar", "list", "alice")[0]["policy"] == "exchange-wins"
        assert cli.json("calendar", "list", "alice")[0]["read_only"] is True
        screen.query_one("#area").value = "Club"
        screen.tables["appointments"].focus()
        await pilot.press("f")
        await done(pilot)
        assert screen.last_message.startswith("alice's Tee: folder name changed")
        assert screen.shown("appointments")[0][1] == "Club"
        shot(app, tmp_path, "manager-user-appointments.svg", "APPOINTMENTS", "read only, disable reminders")

        cli.execute("UPDATE calendar_subscription SET paused_reason = 'mass deletion guard'")
        await pilot.press("f5")
        await pilot.pause()
        assert screen.shown("appointments")[0][3] == "paused: mass deletion guard"
        await pilot.press("u")
        await done(pilot)
        assert screen.last_message == "alice's Tee resumed (it was paused: mass deletion guard)"
        assert screen.shown("appointments")[0][3] == "active"
        await pilot.press("delete")
        await done(pilot)
        assert screen.last_message == "alice no longer syncs Tee"
        assert screen.shown("appointments") == [] and cli.json("calendar", "list", "alice") == []

    drive(app, scenario)


def test_a_change_in_place_waits_for_the_running_cycle_as_calendar_set_does(home, cli, monkeypatch):
    cli.ok("calendar", "add", "alice", "Tee")
    monkeypatch.setattr(between_cycles_module, "WAIT_SECONDS", 0.05)
    app = app_for(home, cli)
    cycle = filelock.FileLock(str(home.cycle_lock_file))

    async def scenario(pilot):
        screen = await open_user(pilot, "alice")
        await on_tab(pilot, screen, "appointments")
        with cycle:  # a sync cycle is running (in this process: filelock is per lock object)
            await pilot.press("r")
            await done(pilot)
        assert screen.last_message == "a sync cycle has been running for over 0.05 s; try again when it has ended"
        assert screen.shown("appointments")[0][2] == "-"  # nothing changed
        await pilot.press("r")
        await done(pilot)
        assert screen.shown("appointments")[0][2] == "read only"

    drive(app, scenario)
    with cycle:
        assert cli_refusal(cli, "calendar", "set", "alice", "Tee", "--no-read-only") == (
            "a sync cycle has been running for over 0.05 s; try again when it has ended"
        )


def test_filters_add_and_remove(home, cli, tmp_path):
    app = app_for(home, cli)

    async def scenario(pilot):
        screen = await open_user(pilot, "alice")
        await on_tab(pilot, screen, "filters")
        await type_in(pilot, screen, "#pattern", "Test*")
        assert screen.last_message == "filter 'Test*' added for alice"
        await type_in(pilot, screen, "#pattern", "A*B*")
        assert screen.last_message == cli_refusal(cli, "filter", "add", "alice", "A*B*")
        await type_in(pilot, screen, "#pattern", "*Private")
        assert screen.shown("filters") == [(p,) for p in cli.json("filter", "list", "alice")]
        assert cli.json("filter", "list", "alice") == ["*Private", "Test*"]
        shot(app, tmp_path, "manager-user-filters.svg", "Test*", "*Private")
        screen.tables["filters"].focus()
        await pilot.press("delete")
        await done(pilot)
        assert screen.last_message == "filter '*Private' removed for alice"
        cli.ok("filter", "remove", "alice", "Test*")
        await pilot.press("delete")  # gone meanwhile: the CLI's refusal
        await done(pilot)
        assert screen.last_message == "alice has no filter 'Test*'"
        assert screen.shown("filters") == []

    drive(app, scenario)


def wire_contact(**values):
    return ContactEntry(**values).to_wire()


def test_contacts_add_from_exchange_with_a_search_and_remove(home, cli, tmp_path, monkeypatch):
    asked = []
    anna = wire_contact(
        given_name="Anna", surname="Berg", display_name="Anna Berg", emails=("anna@x.example",), id="AAA"
    )
    other = wire_contact(given_name="Anne", surname="Bergh", display_name="Anne Bergh", id="BBB")

    def gateway(home_, config, op, args, timeout=120.0):
        asked.append((op, args.get("text")))
        return [anna, other]

    monkeypatch.setattr(exchange_calls, "call_gateway", gateway)
    app = app_for(home, cli)

    async def scenario(pilot):
        screen = await open_user(pilot, "alice")
        await on_tab(pilot, screen, "contacts")
        await type_in(pilot, screen, "#search", "Berg")
        assert asked == [("exchange.search_contacts", "Berg")]
        assert screen.last_message == "2 Exchange contact(s) match 'Berg': Enter adds the one selected"
        assert screen.found_shown() == ["Anna Berg  <anna@x.example>", "Anne Bergh  <>"]
        assert screen.focused is screen.query_one("#contacts-found")
        await pilot.press("enter")  # the first: Anna, a new person (nobody of that name yet)
        await done(pilot)
        assert screen.last_message.startswith(
            "Exchange contact 'Anna Berg' added to alice's contacts as person 1 (a new person): Anna Berg"
        )
        assert screen.shown("contacts") == [tuple(str(v) for v in r) for r in _contact_cells(cli)]
        shot(app, tmp_path, "manager-user-contacts.svg", "CONTACTS", "Anna Berg")
        await pilot.press("enter")  # the same again: the CLI's refusal
        await done(pilot)
        assert screen.last_message == "that Exchange contact is on alice's contact list already (person 1)"
        await on_tab(pilot, screen, "contacts")
        await pilot.press("delete")
        await done(pilot)
        assert screen.last_message == "person 1 removed from alice's contacts"
        assert screen.shown("contacts") == []
        await pilot.press("escape")
        await pilot.press("escape")
        bob = await open_user(pilot, "bob")
        await on_tab(pilot, bob, "contacts")
        await type_in(pilot, bob, "#search", "Berg")
        assert bob.last_message == cli_refusal(cli, "contact", "add", "bob", "--exchange", "anna@x.example")
        assert len(asked) == 1  # refused before Exchange is asked

    drive(app, scenario)


def _contact_cells(cli):
    return [(r["person"], r["name"], r["source"], r["state"]) for r in cli.json("contact", "list", "alice")]


def statistic(cli, user_id, when, direction, created=0, updated=0, skipped=0, conflicts=0, failed=0):
    cli.execute(
        "INSERT INTO sync_statistic (user_id, kind, cycle_started, direction, created, updated, deleted, skipped,"
        " conflicts, failed) VALUES (?, 'calendar', ?, ?, ?, ?, 0, ?, ?, ?)",
        user_id,
        when,
        direction,
        created,
        updated,
        skipped,
        conflicts,
        failed,
    )


def test_statistics_a_bar_chart_per_day_week_or_month_of_the_numbers_stats_prints(home, cli, tmp_path):
    alice = cli.rows("SELECT id FROM pcc_user WHERE login = 'alice'")[0][0]
    statistic(cli, alice, "2026-11-30 08:00:00", "to-exchange", created=4, updated=2)
    statistic(cli, alice, "2026-11-30 09:00:00", "to-pccaddie", created=1, skipped=1)
    statistic(cli, alice, "2026-12-01 08:00:00", "to-exchange", updated=3, conflicts=1)
    statistic(cli, alice, "2026-12-02 08:00:00", "to-exchange", created=12, failed=2)
    app = app_for(home, cli)

    async def scenario(pilot):
        screen = await open_user(pilot, "alice")
        await on_tab(pilot, screen, "statistics")
        for key, by in (("d", "day"), ("k", "week"), ("n", "month")):
            await pilot.press(key)
            await pilot.pause()
            assert screen.last_message == f"STATISTICS per {by}"
            lines = screen.chart().splitlines()
            stats = cli.json("stats", "alice", "--by", by)
            assert [line.split()[0] for line in lines[:-1]] == [r["period"] for r in stats]
            for line, row in zip(lines, stats):
                assert (
                    f" {row['synchronised']:>5}  (→ Exchange {row['to_exchange']}, → PC CADDIE {row['to_pccaddie']}"
                    in line
                )
            assert lines[-1] == cli.ok("stats", "alice", "--by", by).splitlines()[-1]
            if by == "day":
                assert [line.count("█") for line in lines[:-1]] == [23, 10, 40]  # 7, 3 and 12 of 12, in 40 columns
                shot(app, tmp_path, "manager-user-statistics.svg", "2026-12-02", "total: 22 synchronised entries")
        cli.ok("user", "remove", "alice", "--force")
        await pilot.press("d")
        await pilot.pause()
        assert screen.last_message == cli_refusal(cli, "stats", "alice")

    drive(app, scenario)


def test_bar_chart_of_nothing_and_the_policies_in_turn():
    assert bar_chart([]) == ["(nothing synchronised in this period)"]
    assert [next_policy(p) for p in ("pccaddie-wins", "exchange-wins", "newest-wins")] == [
        "exchange-wins",
        "newest-wins",
        "pccaddie-wins",
    ]


def test_conflicts_show_the_lost_version_as_conflicts_prints_it(home, cli, tmp_path):
    cli.ok("calendar", "add", "alice", "Tee")
    alice = cli.rows("SELECT id FROM pcc_user WHERE login = 'alice'")[0][0]
    subscription = cli.rows("SELECT id FROM calendar_subscription")[0][0]
    lost = {"side": "exchange", "title": "Lesson (Outlook)", "start": "2026-12-01T10:00", "end": "2026-12-01T11:00"}
    cli.execute(
        "INSERT INTO sync_conflict (user_id, kind, subscription_id, appointment_id, exchange_id, winner,"
        " loser_content, created) VALUES (?, 'calendar', ?, 7, 'X1', 'pccaddie', ?, ?)",
        alice,
        subscription,
        json.dumps(lost),
        "2026-12-01 09:30:00",
    )
    app = app_for(home, cli)

    async def scenario(pilot):
        screen = await open_user(pilot, "alice")
        await on_tab(pilot, screen, "conflicts")
        printed = cli.ok("conflicts", "alice").splitlines()[1]
        (row,) = screen.shown("conflicts")
        assert row[-1] == "Lesson (Outlook) (2026-12-01T10:00 – 2026-12-01T11:00, from exchange)"
        assert printed.split() == " ".join(row).split()  # the same cells as the command's table
        shot(app, tmp_path, "manager-user-conflicts.svg", "Lesson (Outlook)")
        cli.ok("user", "remove", "alice", "--force")
        await pilot.press("f5")
        await pilot.pause()
        assert screen.last_message == cli_refusal(cli, "conflicts", "alice")

    drive(app, scenario)


def item(cli, subscription, title, attempts, stopped=False):
    cli.execute(
        "INSERT INTO appointment_link (subscription_id, appointment_id, digest, origin, external_id, attempts,"
        " last_error, stopped, title, updated) VALUES (?, NULL, '', 'pccaddie', ?, ?, 'the server said no', ?, ?, ?)",
        subscription,
        f"ext-{title}",
        attempts,
        stopped,
        title,
        dt.datetime(2026, 12, 1, 9).isoformat(" "),
    )


def test_active_items_of_the_user_with_reset(home, cli, tmp_path):
    cli.ok("calendar", "add", "alice", "Tee")
    cli.ok("user", "permissions", "bob", "--appointments", "all")
    cli.ok("calendar", "add", "bob", "Pro")
    alice_tee, bob_pro = (row[0] for row in cli.rows("SELECT id FROM calendar_subscription ORDER BY id"))
    item(cli, alice_tee, "Lesson", 3)
    item(cli, alice_tee, "Course", 10, stopped=True)
    item(cli, bob_pro, "Bob's", 2)
    app = app_for(home, cli)

    async def scenario(pilot):
        screen = await open_user(pilot, "alice")
        await on_tab(pilot, screen, "items")
        everyone = [r for r in cli.ok("items").splitlines()[1:]]
        assert [" ".join(r).split() for r in screen.shown("items")] == [
            line.split() for line in everyone if " alice " in line
        ]
        assert [r[4] for r in screen.shown("items")] == ["Lesson", "Course"]
        shot(app, tmp_path, "manager-user-items.svg", "Lesson", "stopped")
        await pilot.press("t")
        await done(pilot)
        assert screen.last_message == "1 item(s) will be tried again in the next cycle"
        assert [r[4] for r in screen.shown("items")] == ["Course"]
        (course,) = screen.shown("items")
        cli.execute("DELETE FROM appointment_link WHERE id = ?", int(course[0]))
        await pilot.press("t")  # gone meanwhile: the CLI's refusal
        await done(pilot)
        assert screen.last_message == cli_refusal(cli, "items", "reset", course[0])
        item(cli, alice_tee, "Again", 1)
        await pilot.press("f5")
        await pilot.press("a")
        await done(pilot)
        assert screen.last_message == "1 item(s) will be tried again in the next cycle"
        assert [r["title"] for r in cli.json("items")] == ["Bob's"]  # only alice's were reset

    drive(app, scenario)
