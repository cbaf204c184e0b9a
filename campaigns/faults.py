"""Exchange fault campaign: the same two-way traffic and oracle as the crash campaign, but instead
of kills the stand-in Exchange misbehaves at random while the sync runs: throttling with back-off
hints, HTTP 500 and 503, slow answers, dropped connections (before or after doing the work), and
once the mailbox's password changed mid-sync and set anew by the technician. After each round the
faults stop and everything must converge; after the last, a few quiet cycles and every surviving
item edited once more on each side, each edit arriving. Both sides are compared in full (see
campaigns/crash.py): zero lost, duplicated, resurrected, stuck or unexpected, else it exits 1.
(That the gateway honours a back-off is checked by tests/exchange_gateway/ews/test_operations.py;
the emulator's log gives no send times to check it here.)

    python3 run.py -- python campaigns/faults.py --items 1000 --rounds 12 [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from campaigns.crash import Campaign, Report  # noqa: E402
from tests.e2e.world import external_id_visible  # noqa: E402

FAULTS: list[dict[str, Any]] = [
    {"kind": "server_busy", "back_off_ms": 800},
    {"kind": "server_busy", "back_off_ms": 800, "style": "message"},
    {"kind": "http_500"},
    {"kind": "http_503", "retry_after": 1},
    {"kind": "delay", "seconds": 1.5},
    {"kind": "drop"},
    {"kind": "drop", "process": True},
]


class FaultCampaign(Campaign):
    def __init__(self, *args, fault_seconds: float = 4.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fault_seconds = fault_seconds
        self.faults_hit = 0

    def disturb(self, round_number: int) -> str:
        """Three kinds of fault for a few seconds, hitting a quarter of the requests; in the middle
        round the mailbox's password changes too, and the technician sets it anew."""
        rules = self.random.sample(FAULTS, k=3)
        for rule in rules:
            self.world.control("/emulator/faults", {**rule, "fraction": 0.25})
        if round_number == max(1, self.rounds // 2):
            self.world.control("/emulator/password", {"mailbox": "anna@club.example", "password": "new-secret"})
            self.world.password = "new-secret"  # (the campaign's own Outlook client)
            time.sleep(self.fault_seconds)
            self.world.caddie("account", "set", "anna", "--ews-url", self.world.url, "--mailbox", "anna@club.example",
                              "--password-stdin", input="new-secret\n")  # fmt: skip
        time.sleep(self.fault_seconds)
        state = self.world.control("/emulator/faults", method="GET")
        self.faults_hit += sum(rule.get("hits", 0) for rule in state)
        self.world.control("/emulator/faults", method="DELETE")
        return f"{', '.join(r['kind'] for r in rules)} ({self.faults_hit} faults so far)"


def run_fault_campaign(home: Path, items: int, rounds: int, seed: int = 1, say: Callable[[str], None] = print,
                       timeout_per_round: float = 300.0) -> tuple[Report, int]:  # fmt: skip
    with external_id_visible():
        campaign = FaultCampaign(home, items, rounds, 0, seed, say)
        try:
            return campaign.run(timeout_per_round), campaign.faults_hit
        finally:
            campaign.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fault-campaign-") as folder:
        report, hits = run_fault_campaign(Path(folder) / "home", options.items, options.rounds, options.seed)
    for line in report.lines():
        print(line)
    print(f"faults injected and hit: {hits}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
