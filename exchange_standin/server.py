"""The emulator as an object: start it in a thread (tests) or serve in the foreground (the CLI),
add mailboxes, change passwords, switch faults on and look at its state."""

from __future__ import annotations

import collections
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from loguru import logger

from protocol.addresses import is_loopback

from .faults import FaultPlan, FaultRule
from .graph import Graph
from .httpserver import EmulatorHTTPServer, serve_in_thread
from .identity import AppSpec, Identity
from .store import Item, Mailbox, Store
from .tls import make_certificates, server_context, write_ca


class EmulatorError(Exception):
    """The emulator cannot start as asked (a refusal, not a usage error)."""


class EmulatorServer:
    """A stand-in Exchange server speaking EWS on http://HOST:PORT/EWS/Exchange.asmx; with `apps`
    also the identity platform and Microsoft Graph (/v1.0/), with `tls_dir` all of it over HTTPS
    (the CA in tls_dir/ca.pem)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        mailboxes: Iterable[tuple[str, str]] | dict[str, str] = (),
        *,
        fault_seed: int = 0,
        apps: Iterable[AppSpec] = (),
        tls_dir: Path | None = None,
    ) -> None:
        if not is_loopback(host):
            raise EmulatorError(f"refusing to listen on {host}: the emulator only listens on a loopback address")
        self.store = Store()
        self.faults = FaultPlan(seed=fault_seed)
        self.identity = Identity.of(apps)
        self.ca_file: Path | None = None
        self.stopping = threading.Event()
        self._requests: collections.Counter[str] = collections.Counter()
        self._statuses: collections.Counter[int] = collections.Counter()  # HTTP status of each answer
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=200)
        self._log_lock = threading.Lock()
        pairs = mailboxes.items() if isinstance(mailboxes, dict) else mailboxes
        for address, password in pairs:
            self.add_mailbox(address, password)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._http = EmulatorHTTPServer((host, port), self, family)
        except OSError as exc:
            raise EmulatorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        if tls_dir is not None:
            certificates = make_certificates()
            try:
                self.ca_file = write_ca(certificates, tls_dir)
            except OSError as exc:
                self._http.server_close()
                raise EmulatorError(f"cannot write the CA to {tls_dir}: {exc.strerror or exc}") from None
            # the handshake happens on the first read, in the request's own thread, not in accept()
            self._http.socket = server_context(certificates).wrap_socket(
                self._http.socket, server_side=True, do_handshake_on_connect=False
            )
        self.graph = Graph(self.store, self.identity, self.base_url)
        self._thread: threading.Thread | None = None

    # addresses ----------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._http.server_address[0])

    @property
    def port(self) -> int:
        return self._http.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ca_file is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The EWS endpoint, for exchangelib's Configuration(service_endpoint=...)."""
        return f"{self.base_url}/EWS/Exchange.asmx"

    # running ------------------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        """Serve in a background thread."""
        self._thread = serve_in_thread(self._http)
        logger.info(f"Emulator listening on {self.url}")
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until stop() is called (from another thread or a signal handler)."""
        logger.info(f"Emulator listening on {self.url}")
        self._http.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self.stopping.set()
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def request_stop(self) -> None:
        """Stop serve_forever() from a signal handler (shutdown() must run in another thread)."""
        self.stopping.set()
        threading.Thread(target=self._http.shutdown, daemon=True).start()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # mailboxes ----------------------------------------------------------------------------------

    def add_mailbox(self, address: str, password: str, display_name: str | None = None) -> Mailbox:
        if "@" not in address:
            raise ValueError(f"{address!r} is not an e-mail address")
        return self.store.add_mailbox(address, password, display_name)

    def change_password(self, address: str, password: str) -> None:
        with self.store.lock:
            mailbox = self.store.mailbox(address)
            if mailbox is None:
                raise KeyError(f"no mailbox {address}")
            mailbox.password = password
        logger.info(f"Emulator: the password of {mailbox.address} was changed")

    def authenticate(self, username: str, password: str) -> Mailbox | None:
        """The mailbox of a Basic-auth user: its address, or DOMAIN\\name / name of its local part."""
        name = username.strip()
        if "\\" in name:
            name = name.split("\\", 1)[1]
        with self.store.lock:
            mailbox = self.store.mailbox(name)
            if mailbox is None and "@" not in name:
                matches = [
                    box for box in self.store.mailboxes.values() if box.address.split("@")[0].lower() == name.lower()
                ]
                mailbox = matches[0] if len(matches) == 1 else None
            if mailbox is None or mailbox.password != password:
                return None
            return mailbox

    # the folder list changing under a client -----------------------------------------------------

    FOLDER_ACTIONS = ("delete", "trash", "rename")

    def change_folder(
        self, address: str, folder: str, action: str, new_name: str | None = None, parent: str = "calendar"
    ) -> dict[str, Any]:
        """What a user does to a sub-folder in Outlook: delete it for good, move it to Deleted
        Items ("trash"), or rename it to `new_name`. `folder` is matched as Exchange matches
        names (without regard to case) among the sub-folders of the distinguished `parent`."""
        if action not in self.FOLDER_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(self.FOLDER_ACTIONS)}")
        if action == "rename" and not (new_name or "").strip():
            raise ValueError("a rename needs a new name")
        with self.store.lock:
            mailbox = self.store.mailbox(address)
            if mailbox is None:
                raise KeyError(f"no mailbox {address}")
            top = mailbox.distinguished.get(parent)
            if top is None:
                raise ValueError(f"no distinguished folder {parent!r}")
            wanted = folder.strip().casefold()
            found = [f for f in mailbox.children(top) if f.display_name.casefold() == wanted]
            if not found:
                raise KeyError(f"no folder {folder!r} in {parent} of {address}")
            target = found[0]
            if action == "delete":
                mailbox.remove_folder(target)
            elif action == "trash":
                mailbox.move_folder(target, mailbox.distinguished["deleteditems"])
            else:
                target.display_name = str(new_name).strip()
                mailbox.touch_folder(target)
        logger.info(f"Emulator: folder {folder!r} of {address}: {action}")
        return {"kind": "folder_change", "mailbox": address, "folder": folder, "action": action, "applied": time.time()}

    def change_folder_from_json(self, data: dict[str, Any]) -> dict[str, Any]:
        if not {"mailbox", "folder", "action"} <= set(data):
            raise ValueError("a folder_change needs mailbox, folder and action (and name for a rename)")
        unknown = set(data) - {"kind", "mailbox", "folder", "action", "name", "parent"}
        if unknown:
            raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
        return self.change_folder(
            str(data["mailbox"]),
            str(data["folder"]),
            str(data["action"]),
            data.get("name"),
            str(data.get("parent", "calendar")),
        )

    # faults -------------------------------------------------------------------------------------

    def add_fault(self, kind: str, **options: Any) -> FaultRule:
        """Switch a fault on; see faults.FaultRule for the options (count, fraction, operations, ...)."""
        return self.faults.add(FaultRule(kind=kind, **options))

    def clear_faults(self) -> None:
        self.faults.clear()

    # inspection ---------------------------------------------------------------------------------

    def record(self, operation: str | None, mailbox: str | None, status: int | None, fault: str | None) -> None:
        with self._log_lock:
            self._requests[operation or "-"] += 1
            if status is not None:
                self._statuses[status] += 1
            self._log.append(
                {"time": time.time(), "operation": operation, "mailbox": mailbox, "status": status, "fault": fault}
            )

    @property
    def request_counts(self) -> dict[str, int]:
        with self._log_lock:
            return dict(self._requests)

    def state(self) -> dict[str, Any]:
        """What GET /emulator/state shows."""
        with self.store.lock:
            mailboxes = []
            for mailbox in self.store.mailboxes.values():
                folders = []
                for folder in [mailbox.distinguished["root"], *mailbox.descendants(mailbox.distinguished["root"])]:
                    path = "/".join(f.display_name for f in mailbox.path_of(folder)[1:])
                    folders.append(
                        {
                            "path": "/" + path,
                            "id": folder.id,
                            "distinguished": folder.distinguished,
                            "folder_class": folder.folder_class,
                            "items": len(folder.items),
                        }
                    )
                items = [
                    {
                        "id": item.id,
                        "changekey": item.changekey,
                        "type": item.element,
                        "folder": mailbox.folders[item.folder].display_name,
                        "subject": item.props.get("item:Subject"),
                        "display_name": item.props.get("contacts:DisplayName"),
                    }
                    | _series_state(item)
                    for item in mailbox.items.values()
                ]
                mailboxes.append(
                    {"address": mailbox.address, "last_change": mailbox.last_change, "folders": folders, "items": items}
                )
        with self._log_lock:
            requests = {
                "counts": dict(self._requests),
                "statuses": {str(k): v for k, v in self._statuses.items()},
                "recent": list(self._log)[-50:],
            }
        return {"url": self.url, "mailboxes": mailboxes, "faults": self.faults.describe(), "requests": requests}


def _series_state(item: Item) -> dict[str, Any]:
    """A recurring master's exceptions and deleted occurrences (their indexes), for the state."""
    if item.props.get("calendar:Recurrence") is None:
        return {}
    return {"exceptions": sorted(item.exceptions), "deleted_occurrences": sorted(item.deleted_occurrences)}
