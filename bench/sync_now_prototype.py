"""`sync-service` with the bulk writes of bench/export_engine.py's prototype in place of the
engine's row-by-row ones, for `bench/first_sync.py --prototype`: the end-to-end figure of that
proposal, measured without changing the engine.

    python bench/sync_now_prototype.py --home DIR sync-now --gateway HOST:PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.export_engine import install_prototype  # noqa: E402
from sync_service.cli import main  # noqa: E402

if __name__ == "__main__":
    install_prototype(True)
    sys.argv[0] = "sync-service"
    main()
