"""What technicians use to run the services: the overview, the log viewers, across kill -9 and
log rotation; real processes."""

import subprocess
import time

import pytest

from sandbox.processes import command, run_command

pytestmark = pytest.mark.e2e


def overview(home):
    result = run_command("sync-service", "--home", str(home), "overview")
    assert result.returncode == 0, result.stderr
    return {line.split("  ")[0]: line for line in result.stdout.splitlines()[1:3]}


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_overview_tells_the_truth(services, tmp_path, port):
    home = tmp_path / "home"
    start_gateway, start_sync = services
    rows = overview(home)
    assert "Never started" in rows["Exchange gateway"] and "Never started" in rows["Synchronisation service"]
    gateway = start_gateway()
    gateway.wait_for("Listener started")
    sync = start_sync("--interval", "1")
    sync.wait_for(f"127.0.0.1:{port}: Connect confirmed")
    wait_for(lambda: "Running since" in overview(home)["Synchronisation service"])
    rows = overview(home)
    assert "Running since" in rows["Exchange gateway"] and str(gateway.process.pid) in rows["Exchange gateway"]
    assert "user_exch" in rows["Exchange gateway"] and "user_sync" in rows["Synchronisation service"]
    gateway.kill()  # kill -9: its status file still says running
    assert "Stopped (ended without stopping)" in overview(home)["Exchange gateway"]
    assert sync.stop() == 0
    assert overview(home)["Synchronisation service"].split("  ")[1].strip() == "Stopped"


def test_log_viewer_follows_across_a_rotation(services, tmp_path, port):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[logs]\nrotation = "3 KB"\nretention = 10\ncompression = "gz"\n')
    start_gateway, start_sync = services
    gateway = start_gateway()
    gateway.wait_for("Listener started")
    sync = start_sync("--interval", "0.2")  # a cycle every 0.2 s: three log lines each
    sync.wait_for("Sync ended")
    follower = subprocess.Popen(
        command("sync-service") + ["--home", str(home), "logs", "--follow", "--lines", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_for(lambda: len(list((home / "logs").glob("sync-service.*.log*"))) >= 2, timeout=60)
        assert sync.stop() == 0
        time.sleep(1.5)  # the follower's last looks (it polls twice a second)
    finally:
        follower.terminate()
        output, _ = follower.communicate(timeout=10)
    followed = output.splitlines()
    cycles = [line for line in followed if line.endswith(": Sync ended")]
    assert len(cycles) >= 20, "it kept following across at least two rotations"
    assert followed[-1].endswith("Synchronisation service stopped after " + followed[-1].rsplit(" after ", 1)[1])
    archived = run_command("sync-service", "--home", str(home), "logs", "--archive")
    names = archived.stdout.split()[0::3]
    assert all(n.startswith("sync-service.") and n.endswith(".log.gz") for n in names) and len(names) >= 2
    shown = run_command("sync-service", "--home", str(home), "logs", "--archive", names[0], "--grep", "SYNC ENDED")
    assert shown.returncode == 0 and shown.stdout and all("Sync ended" in line for line in shown.stdout.splitlines())
    grep = run_command("sync-service", "--home", str(home), "logs", "--lines", "5", "--grep", "stopped after")
    assert grep.stdout.count("stopped after") == 1
