"""The deployment files: systemd units that systemd itself accepts, WinSW files that parse."""

import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_units_verify(tmp_path):
    for unit in (DEPLOY / "systemd").glob("*.service"):
        # verify wants the program to exist: point it at this checkout's
        text = unit.read_text().replace("/opt/caddie-sync/.venv/bin", str(VENV_BIN))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *map(str, tmp_path.glob("*.service"))],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "caddie" not in result.stderr, result.stderr  # no complaint about our units


def test_units_stop_gracefully_and_restart_on_failure():
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text()
        for setting in (
            "KillSignal=SIGTERM",
            "Restart=on-failure",
            "StartLimitBurst=",
            "User=caddie-sync",
            "StateDirectory=caddie-sync",
            "CADDIE_SYNC_HOME=/var/lib/caddie-sync",
        ):
            assert setting in text, (unit.name, setting)


def test_winsw_files_parse():
    for path in (DEPLOY / "windows").glob("*.xml"):
        root = ElementTree.parse(path).getroot()
        assert root.tag == "service"
        assert root.findtext("id").startswith("caddie-")
        assert root.findtext("stopparentprocessfirst") == "true"
        assert "run" in root.findtext("arguments")
