"""F6, the log archive: the selected service's rotated log files (service_runtime.logview's
`archives`), oldest first; Enter shows one (compressed or not); Escape or F6 goes back."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Log, OptionList, Static
from textual.widgets.option_list import Option

from service_runtime.home import Home
from service_runtime.logview import Archive, archives, read_archive

from .control import NAMES


def describe(archive: Archive) -> str:
    modified = dt.datetime.fromtimestamp(archive.modified).strftime("%d.%m.%Y %H:%M:%S")
    return f"{archive.path.name}  {archive.size:>10} bytes  {modified}"


class ArchiveScreen(Screen[None]):
    CSS = """
    #archives { height: auto; max-height: 10; }
    #archive-title { height: 1; padding: 0 1; background: $panel; }
    #archive-log { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f6", "back", "Back"),
    ]

    def __init__(self, home: Home, service: str) -> None:
        super().__init__()
        self.home = home
        self.service = service
        self.files = archives(home.logs_dir, service)

    def compose(self) -> ComposeResult:
        yield Static(f"Log archive of {NAMES[self.service]} ({self.home.logs_dir})", id="archive-title")
        if self.files:
            yield OptionList(*(Option(describe(item), id=item.path.name) for item in self.files), id="archives")
        else:
            yield Static("(no rotated log files yet)", id="archives")
        yield Log(id="archive-log", highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        if self.files:
            self.query_one("#archives", OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.show(event.option_index)

    def show(self, index: int) -> None:
        archive = self.files[index]
        log = self.query_one("#archive-log", Log)
        log.clear()
        try:
            text = read_archive(archive.path)
        except (OSError, EOFError) as exc:
            self.query_one("#archive-title", Static).update(f"{archive.path.name} cannot be read: {exc}")
            return
        self.query_one("#archive-title", Static).update(f"{archive.path.name} ({NAMES[self.service]})")
        log.write_lines(text.splitlines())

    def shown_lines(self) -> list[str]:
        return list(self.query_one("#archive-log", Log).lines)

    def action_back(self) -> None:
        self.app.pop_screen()
