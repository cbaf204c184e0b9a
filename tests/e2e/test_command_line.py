"""Bad command-line values and unusable environments: one clear line, the right exit status."""

import socket

import pytest

from sandbox.processes import run_command

pytestmark = pytest.mark.e2e


def one_clear_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    return lines[-1]


def test_gateway_refuses_a_non_loopback_address(tmp_path):
    result = run_command("exchange-gateway", "--home", str(tmp_path), "run", "--listen", "0.0.0.0:3999")
    assert result.returncode == 1
    assert one_clear_line(result) == (
        "Error: refusing to listen on 0.0.0.0:3999: not a loopback address (give --allow-remote to allow it)"
    )


@pytest.mark.parametrize("value", ["3000", "localhost:port", "127.0.0.1:99999", "::1:3000"])
def test_gateway_bad_listen_value_is_a_usage_error(tmp_path, value):
    result = run_command("exchange-gateway", "--home", str(tmp_path), "run", "--listen", value)
    assert result.returncode == 2
    assert "Invalid value for '--listen'" in result.stderr
    assert "Traceback" not in result.stderr


def test_gateway_port_in_use(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run_command("exchange-gateway", "--home", str(tmp_path), "run", "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert one_clear_line(result) == f"Error: cannot listen on 127.0.0.1:{port}: address already in use"


@pytest.mark.parametrize(
    "args", [["run", "--interval", "0"], ["run", "--interval", "x"], ["run", "--gateway", "nohost"]]
)
def test_sync_service_bad_values_are_usage_errors(tmp_path, args):
    result = run_command("sync-service", "--home", str(tmp_path), *args)
    assert result.returncode == 2
    assert "Invalid value" in result.stderr and "Traceback" not in result.stderr


def test_sync_now_without_a_gateway_fails_in_one_line(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        result = run_command("sync-service", "--home", str(tmp_path), "sync-now", "--gateway", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert one_clear_line(result) == (
        f"Error: the Exchange gateway at 127.0.0.1:{port} is not reachable: Connection refused"
    )


def test_home_that_cannot_be_a_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for program in ("exchange-gateway", "sync-service"):
        result = run_command(program, "--home", str(blocker / "home"), "run")
        assert result.returncode == 1
        assert one_clear_line(result).startswith(f"Error: cannot create the home folder {blocker / 'home'}")


def test_bad_config_file_names_the_setting(tmp_path):
    (tmp_path / "config.toml").write_text("[sync]\ninterval_seconds = -1\n")
    result = run_command("sync-service", "--home", str(tmp_path), "run")
    assert result.returncode == 1
    assert one_clear_line(result).endswith("[sync] interval_seconds must be a number greater than 0")


def test_home_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CADDIE_SYNC_HOME", str(tmp_path / "env-home"))
    result = run_command("sync-service", "sync-now", "--gateway", "127.0.0.1:1")
    assert result.returncode == 1
    assert (tmp_path / "env-home" / "gateway.token").exists()
    assert (tmp_path / "env-home" / "logs" / "sync-service.log").exists()


def test_versions():
    for program in ("exchange-gateway", "sync-service"):
        result = run_command(program, "--version")
        assert result.returncode == 0 and program in result.stdout


def test_demo_runs_the_whole_story_and_exits_0():
    result = run_command("sync-service", "demo", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ("0. ", "1. ", "2. ", "3. ", "4. ", "5. ", "6. ", "7. ", "8. ", "9. ", "Done."):
        assert f"\n{step}" in out or out.startswith(step)
    assert "Outlook, contacts:            ['Anna Berger, Köln']" in out  # a contact synced
    assert "Lesson: Ben Carter (moved to the range)" in out and "pccaddie  Lesson: Ben Carter (cancelled?)" in out
    assert "Dentist" not in out.split("5. A change each way")[0].split("$ sync-service appointment list")[-1]
    assert "Monthly medal" in out and "Test booking" not in out.split("Outlook, main calendar:")[1].split("\n")[0]
    assert "Running since" in out and "Traceback" not in out + result.stderr


def test_services_refuse_to_start_with_a_token_others_can_read(tmp_path):
    (tmp_path / "gateway.token").write_text("a-token\n")
    (tmp_path / "gateway.token").chmod(0o644)
    for program, args in (("exchange-gateway", ["run", "--listen", "127.0.0.1:0"]), ("sync-service", ["sync-now"])):
        result = run_command(program, "--home", str(tmp_path), *args)
        assert result.returncode == 1
        assert "can be read by other users (mode 0644)" in one_clear_line(result)
