"""The deployment files: systemd units that systemd itself accepts, WinSW files that parse, both
running the console scripts of the product's own virtual environment; deploy/install.sh making
that environment from the wheel and the pinned dependencies (and changing nothing when it fails);
the pins complete on Windows too."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTALL_SH = DEPLOY / "install.sh"
LOCK = ROOT / "requirements.lock"
WINDOWS_LOCK = DEPLOY / "windows" / "requirements-windows.lock"
VENV_BIN = ROOT / ".venv" / "bin"
PREFIX = "/opt/caddie-exchange-sync"
WINDOWS_SCRIPTS = "C:\\Program Files\\caddie-exchange-sync\\venv\\Scripts\\"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]*?))?\s*\\?$", re.MULTILINE)
WINDOWS = {"sys_platform": "win32", "os_name": "nt", "platform_system": "Windows", "extra": ""}

systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")


def _verify_units(tmp_path: Path, bindir: Path) -> subprocess.CompletedProcess[str]:
    """systemd-analyze verify on copies of the units whose programs are those in `bindir`."""
    units = tmp_path / "units"
    units.mkdir(exist_ok=True)
    for unit in (DEPLOY / "systemd").glob("*.service"):
        # verify wants the program to exist
        (units / unit.name).write_text(unit.read_text().replace(f"{PREFIX}/venv/bin", str(bindir)))
    return subprocess.run(
        ["systemd-analyze", "verify", *map(str, units.glob("*.service"))], capture_output=True, text=True, timeout=60
    )


@systemd
def test_systemd_units_verify(tmp_path):
    result = _verify_units(tmp_path, VENV_BIN)
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


def test_units_run_the_console_scripts_of_the_products_environment():
    programs = {}
    for unit in (DEPLOY / "systemd").glob("*.service"):
        (start,) = [line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
        programs[unit.name] = start.removeprefix("ExecStart=")
    assert programs == {
        "caddie-exchange-gateway.service": f"{PREFIX}/venv/bin/exchange-gateway run",
        "caddie-sync-service.service": f"{PREFIX}/venv/bin/sync-service run",
    }


def test_winsw_files_parse():
    for path in (DEPLOY / "windows").glob("*.xml"):
        root = ElementTree.parse(path).getroot()
        assert root.tag == "service"
        assert root.findtext("id").startswith("caddie-")
        assert root.findtext("stopparentprocessfirst") == "true"
        assert "run" in root.findtext("arguments")


def test_winsw_files_run_the_console_scripts_of_the_products_environment():
    programs = {
        path.name: ElementTree.parse(path).getroot().findtext("executable")
        for path in (DEPLOY / "windows").glob("*.xml")
    }
    assert programs == {
        "caddie-exchange-gateway.xml": WINDOWS_SCRIPTS + "exchange-gateway.exe",
        "caddie-sync-service.xml": WINDOWS_SCRIPTS + "sync-service.exe",
    }


def _pins(path: Path) -> dict[str, tuple[str, str | None]]:
    return {canonicalize_name(name): (version, marker) for name, version, marker in PIN.findall(path.read_text())}


def test_the_windows_lock_pins_what_the_lock_leaves_out_on_windows():
    """requirements.lock is compiled on Linux: what its packages need only on Windows (colorama,
    win32-setctime, sspilib) is pinned, hash-checked, in deploy/windows/requirements-windows.lock,
    or pip's --require-hashes refuses to install there."""
    lock, windows = _pins(LOCK), _pins(WINDOWS_LOCK)
    assert lock and windows
    assert not set(lock) & set(windows), "pinned twice"
    pinned = {name: version for name, (version, _) in {**lock, **windows}.items()}
    unpinned = []
    for name in [*lock, "caddie-exchange-sync"]:
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue  # a build dependency not installed here
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate(WINDOWS):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted not in pinned:
                unpinned.append(f"{name} needs {text}")
            else:
                assert requirement.specifier.contains(pinned[wanted], prereleases=True), (text, pinned[wanted])
    assert unpinned == []
    for name, (_, marker) in windows.items():  # nothing of it on Linux
        assert marker is not None and marker.replace("'", '"') == 'sys_platform == "win32"', name
    text = WINDOWS_LOCK.read_text()
    for name, _, _ in PIN.findall(text):  # hash-checked
        assert re.search(rf"^{re.escape(name)}==[^\n]*\\\n\s+--hash=sha256:[0-9a-f]{{64}}", text, re.MULTILINE), name


def _install(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        ["bash", str(INSTALL_SH), *args], capture_output=True, text=True, env=env, timeout=timeout, cwd="/"
    )


def test_install_sh_refuses_bad_arguments_with_one_line(tmp_path):
    asked = _install("--help")
    assert asked.returncode == 0 and "--prefix DIR" in asked.stdout and "--wheel FILE" in asked.stdout
    wrong = _install("--frobnicate")
    assert wrong.returncode == 2 and "unknown argument: --frobnicate" in wrong.stderr and "--prefix DIR" in wrong.stderr
    missing = _install("--prefix", str(tmp_path / "opt"), "--wheel", str(tmp_path / "nothing.whl"))
    assert missing.returncode == 1 and f"no wheel: {tmp_path / 'nothing.whl'}" in missing.stderr
    assert "Traceback" not in missing.stderr
    no_lock = _install("--prefix", str(tmp_path / "opt"), "--lock", str(tmp_path / "none.lock"))
    assert no_lock.returncode == 1 and "no lock file" in no_lock.stderr
    old_python = tmp_path / "python2"
    old_python.write_text("#!/bin/sh\nexec python3 -c 'raise SystemExit(1)'\n")
    old_python.chmod(0o755)
    too_old = _install("--prefix", str(tmp_path / "opt"), "--python", str(old_python))
    assert too_old.returncode == 1 and "Python 3.11 or newer is needed" in too_old.stderr


def _release(prefix: Path) -> Path:
    link = prefix / "venv"
    assert link.is_symlink(), "venv is the link to the release in use"
    target = Path(os.readlink(link))
    assert target.parent == Path("releases"), target
    return prefix / target


def _runs_from_elsewhere(prefix: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "club-server"
    elsewhere.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for script in ("sync-service", "exchange-gateway"):
        answer = subprocess.run(
            [str(prefix / "venv" / "bin" / script), "--help"],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert answer.returncode == 0 and "Usage" in answer.stdout, answer.stderr
    where = subprocess.run(
        [
            str(prefix / "venv" / "bin" / "python"),
            "-c",
            "import sync_service, exchange_gateway, protocol; print(sync_service.__file__)",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(prefix / "venv" / "lib")), where.stdout  # the installed copy
    editable = subprocess.run(
        [str(prefix / "venv" / "bin" / "python"), "-m", "pip", "list", "--editable"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "caddie" not in editable.stdout, editable.stdout


@pytest.mark.e2e
def test_install_sh_installs_upgrades_and_changes_nothing_when_it_fails(tmp_path):
    prefix = tmp_path / "opt" / "caddie-exchange-sync"
    # 1. from the source tree: the wheel is built in the new environment with the lock's setuptools
    first = _install("--prefix", str(prefix), "--python", sys.executable)
    assert first.returncode == 0, first.stdout + first.stderr
    release_one = _release(prefix)
    _runs_from_elsewhere(prefix, tmp_path)
    if shutil.which("systemd-analyze") is not None:  # the units run what install.sh installed
        verified = _verify_units(tmp_path, prefix / "venv" / "bin")
        assert verified.returncode == 0 and "caddie" not in verified.stderr, verified.stderr

    # 2. a failing upgrade (a pinned file whose hash does not match): nothing changes
    wheel_dir = tmp_path / "dist"
    built = subprocess.run(
        [
            str(prefix / "venv" / "bin" / "python"),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(wheel_dir),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheel_dir.glob("caddie_exchange_sync-*.whl")
    bad_lock = tmp_path / "bad.lock"
    text = LOCK.read_text()
    bad_lock.write_text(
        re.sub(
            r"(^msgpack==[^\n]*\n(?:\s+--hash=[^\n]*\n)+)",
            lambda m: re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, m.group(1)),
            text,
            flags=re.MULTILINE,
        )
    )
    assert bad_lock.read_text() != text
    before = sorted(p.name for p in (prefix / "releases").iterdir())
    failed = _install(
        "--prefix", str(prefix), "--python", sys.executable, "--wheel", str(wheel), "--lock", str(bad_lock)
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "install.sh: failed:" in failed.stderr and "nothing was changed" in failed.stderr
    assert "Traceback" not in failed.stderr.split("install.sh: failed:")[-1]
    assert _release(prefix) == release_one
    assert sorted(p.name for p in (prefix / "releases").iterdir()) == before
    assert not (prefix / "venv.next").exists()
    _runs_from_elsewhere(prefix, tmp_path)

    # 3. an upgrade from the wheel: a new release, the link switched, the one before kept, older removed
    older = prefix / "releases" / "19990101-000000"
    older.mkdir()
    upgrade = _install("--prefix", str(prefix), "--python", sys.executable, "--wheel", str(wheel))
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    release_two = _release(prefix)
    assert release_two != release_one
    assert sorted(p.name for p in (prefix / "releases").iterdir()) == sorted([release_one.name, release_two.name])
    assert f"ln -s releases/{release_one.name} " in upgrade.stdout  # how to go back
    _runs_from_elsewhere(prefix, tmp_path)
