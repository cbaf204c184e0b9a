"""The product as a technician installs it on a club server: a wheel built from pyproject.toml,
installed with the pinned dependencies into a virtual environment of its own, run from a folder
that is not the source tree: both commands start and the demo runs to its end."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _run(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _modules(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for package in (
            "protocol",
            "service_runtime",
            "exchange_gateway",
            "exchange_standin",
            "sandbox",
            "sync_service",
        )
        for path in (root / package).rglob("*.py")
    }


def test_the_wheel_installs_and_runs_the_demo(tmp_path):
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = {name for name in archive.namelist() if name.endswith(".py")}
    assert packed == _modules(ROOT), f"missing from the wheel: {sorted(_modules(ROOT) - packed)}"
    assert not any(name.startswith("tests/") for name in packed)

    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    bindir = target / ("Scripts" if os.name == "nt" else "bin")
    python = str(bindir / "python")
    pins = _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "-r",
            str(ROOT / "requirements.lock"),
        ],
        cwd=tmp_path,
    )
    assert pins.returncode == 0, pins.stderr
    installed = _run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", str(wheel)],
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    check = _run([python, "-m", "pip", "check"], cwd=tmp_path)
    assert check.returncode == 0, check.stdout  # every dependency the wheel declares is there

    elsewhere = tmp_path / "club-server"
    elsewhere.mkdir()
    for command in ("sync-service", "exchange-gateway"):
        answer = _run([str(bindir / command), "--help"], cwd=elsewhere, timeout=60)
        assert answer.returncode == 0 and "Usage" in answer.stdout, answer.stderr
    where = _run([python, "-c", "import sync_service; print(sync_service.__file__)"], cwd=elsewhere, timeout=60)
    assert str(target) in where.stdout, where.stdout  # the installed copy, not the source tree
    demo = _run([str(bindir / "sync-service"), "demo"], cwd=elsewhere, timeout=300)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
