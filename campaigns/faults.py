"""Exchange fault campaign: the same two-way traffic and oracle as the crash campaign, but instead
of kills the stand-in Exchange misbehaves at random while the sync runs, as real Exchange does
(issue 13): throttling with back-off hints (a SOAP fault or a response message), HTTP 500, HTTP 503
with and without Retry-After, slow answers, dropped and reset connections (before or after doing
the work), a full mailbox refusing every write, a store that is unavailable or being moved, a
batch carried out and then answered with ErrorTimeoutExpired (after some of its messages, or all)
or with a SOAP fault, an invalid sync state; and once the mailbox's password changed mid-sync and
set anew by the technician. After each round the faults stop and everything must converge; after
the last, a few quiet cycles and every surviving item edited once more on each side, each edit
arriving. Both sides are compared in full (see campaigns/crash.py): zero lost, duplicated,
resurrected, stuck (which counts the items the sync stopped trying, and a calendar stalled for
good never converges) or unexpected, else it exits 1. The logins Exchange refused are counted too
(a wrong password tried again and again would lock the user's Windows account).
(That the gateway honours a back-off is checked by tests/exchange_gateway/ews/test_operations.py;
the emulator's log gives no send times to check it here.)

    python3 run.py -- python campaigns/faults.py --items 1000 --rounds 12 [--seed N] [--backend graph]

With `--backend graph` the sync service's user is on Microsoft Graph with the club's app (see
campaigns/crash.py; the campaign's "Outlook" stays plain exchangelib on the same mailbox's EWS), and
the faults are Graph's (GRAPH_FAULTS; exchange_standin/graph_http.py): 429 TooManyRequests with
Retry-After, for a whole request or request by request inside a `$batch` (the first few carried
out), 503 with and without Retry-After, 500, slow answers, dropped and reset connections (before or
after doing the work: a `$batch` of creates done and its answer lost), a request done and then
answered 504 (in a `$batch` after its first request, or all of it), a 401 of a token Graph no
longer takes, a delta round's next page answered 410 (the sync state gone); and in the middle round
every token the identity platform gave expires and Graph forgets every delta token (the gateway
must fetch a new token by itself, the sync read the calendar afresh without a duplicate). The
refused requests counted are Graph's 401s.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from campaigns.crash import Campaign, Report  # noqa: E402
from sandbox.outlook import external_id_visible  # noqa: E402
from sandbox.world import BACKENDS  # noqa: E402

FAULTS: list[dict[str, Any]] = [
    {"kind": "server_busy", "back_off_ms": 800},
    {"kind": "server_busy", "back_off_ms": 800, "style": "message"},
    {"kind": "http_500"},
    {"kind": "http_503", "retry_after": 1},
    {"kind": "http_503"},
    {"kind": "delay", "seconds": 1.5},
    {"kind": "drop"},
    {"kind": "drop", "process": True},
    {"kind": "drop", "process": True, "reset": True},
    # Exchange's own failures of a mailbox (issue 13)
    {"kind": "quota_exceeded"},
    {"kind": "error_message", "code": "ErrorMailboxStoreUnavailable"},
    {"kind": "error_message", "code": "ErrorMailboxMoveInProgress", "operations": ["CreateItem", "UpdateItem"]},
    {"kind": "timeout_after_work", "keep": 1, "operations": ["CreateItem", "UpdateItem", "DeleteItem"]},
    {"kind": "timeout_after_work", "operations": ["CreateItem", "UpdateItem", "DeleteItem"]},
    {"kind": "fault_after_work", "operations": ["CreateItem", "UpdateItem", "DeleteItem"]},
    {"kind": "invalid_sync_state"},
]
GRAPH_FAULTS: list[dict[str, Any]] = [
    {"kind": "throttled", "retry_after": 1},
    {"kind": "throttled", "retry_after": 1, "style": "message", "keep": 3},
    {"kind": "http_503", "retry_after": 1},
    {"kind": "http_503"},
    {"kind": "http_500"},
    {"kind": "delay", "seconds": 1.5},
    {"kind": "drop"},
    {"kind": "drop", "process": True},
    {"kind": "drop", "process": True, "reset": True},
    {"kind": "timeout_after_work", "keep": 1},
    {"kind": "timeout_after_work"},
    # A token Graph no longer takes (expired early, revoked): the next request meets a 401. A 401
    # on the fresh token the gateway then asks for is the app refused, which waits for `app set` by
    # design (store/mailbox_blocks.py), so this rule is one request, not a share of them.
    {"kind": "unauthorized", "count": 1},
    {"kind": "invalid_sync_state"},
]
FAULTS_OF = {"ews": FAULTS, "graph": GRAPH_FAULTS}


class FaultCampaign(Campaign):
    def __init__(self, *args, fault_seconds: float = 4.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fault_seconds = fault_seconds
        self.faults_hit = 0
        self.kinds_hit: dict[str, int] = {}

    def disturb(self, round_number: int) -> str:
        """Four kinds of fault for a few seconds, hitting a quarter of the requests; in the middle
        round the mailbox's password changes too, and the technician sets it anew."""
        middle = round_number == max(1, self.rounds // 2)
        drawn_from = FAULTS_OF[self.backend]
        if middle and self.backend == "graph":
            # every token lapses in this round: a 401 fault on the fresh token the gateway asks for
            # then would be a fresh token refused, which is the app refused (it waits for `app set`
            # by design), not a fault the sync must ride out
            drawn_from = [rule for rule in drawn_from if rule["kind"] != "unauthorized"]
        rules = self.random.sample(drawn_from, k=4)
        for rule in rules:
            self.world.control("/emulator/faults", rule if "count" in rule else {**rule, "fraction": 0.25})
        if round_number > 1:  # (in the first round the first sync has not agreed yet)
            self.report.changes += self.writes_under_faults(f"f{round_number}")
        if middle:
            if self.backend == "graph":
                self.world.control("/emulator/tokens/expire")
                self.world.control("/emulator/graph/forget-delta-tokens")
            else:
                self.world.control("/emulator/password", {"mailbox": "anna@club.example", "password": "new-secret"})
                self.world.password = "new-secret"  # (the campaign's own Outlook client)
                time.sleep(self.fault_seconds)
                self.world.set_account("anna", "new-secret")
        time.sleep(self.fault_seconds)
        state = self.world.control("/emulator/faults", method="GET")
        self.faults_hit += sum(rule.get("hits", 0) for rule in state)
        for rule in state:
            self.kinds_hit[rule["kind"]] = self.kinds_hit.get(rule["kind"], 0) + rule.get("hits", 0)
        self.world.control("/emulator/faults", method="DELETE")
        return f"{', '.join(r['kind'] for r in rules)} ({self.faults_hit} faults so far)"

    def writes_under_faults(self, label: str) -> int:
        """PC CADDIE edits, deletes and new appointments made while the faults are on, so that the
        sync's writes to Exchange meet them (the campaign's own Outlook client would meet them too,
        so Exchange is left alone until the faults stop)."""
        oracle = self.oracle
        # (those PC CADDIE holds, and not changed by this round already: a PC CADDIE delete of an
        # item whose Outlook edit the sync has not read yet is a conflict the edit wins, by design)
        alive = sorted(
            t.key for t in oracle.ledger.alive() if t.row_id is not None and t.key not in oracle.changed_last_round
        )
        self.random.shuffle(alive)
        share = max(1, len(alive) // 10)
        edits = {key: oracle.edited(key, label)[0] for key in alive[:share]}
        deletes = alive[share : share + max(1, share // 2)]
        with oracle.lock.acquire(timeout=120):
            oracle.edit_in_pccaddie(edits)
            oracle.delete_in_pccaddie(deletes)
        new = len(deletes)  # as many new as deleted: the same size (the moves at the end count the items)
        oracle.create_in_pccaddie(new)
        return len(edits) + len(deletes) + new


def run_fault_campaign(
    home: Path,
    items: int,
    rounds: int,
    seed: int = 1,
    say: Callable[[str], None] = print,
    timeout_per_round: float = 300.0,
    backend: str = "ews",
) -> tuple[Report, int]:
    with external_id_visible():
        campaign = FaultCampaign(home, items, rounds, 0, seed, say, backend)
        try:
            report = campaign.run(timeout_per_round)
            refused = campaign.world.control("/emulator/state", method="GET")["requests"]["statuses"].get("401", 0)
            say(f"faults hit by kind: {', '.join(f'{k} {v}' for k, v in sorted(campaign.kinds_hit.items()))}")
            say(f"{'logins' if backend == 'ews' else 'tokens'} Exchange refused: {refused}")
            return report, campaign.faults_hit
        finally:
            campaign.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=BACKENDS, default="ews", help="how the sync reaches the mailbox")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="run in DIR (a new folder) and keep it: the home, its logs and the stand-in's, to read after a failure",
    )
    options = parser.parse_args()
    if options.keep is not None and options.keep.exists():
        parser.error(f"--keep {options.keep}: the folder exists already; give a new one")
    with contextlib.ExitStack() as stack:
        if options.keep is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fault-campaign-")))
        else:
            folder = options.keep
            folder.mkdir(parents=True)
        report, hits = run_fault_campaign(
            folder / "home",
            options.items,
            options.rounds,
            options.seed,
            say=lambda line: print(line, flush=True),
            backend=options.backend,
        )
    for line in report.lines():
        print(line)
    print(f"faults injected and hit: {hits}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
