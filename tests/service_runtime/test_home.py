import stat
import subprocess
import sys

import pytest

from service_runtime.home import (
    HOME_ENVIRONMENT_VARIABLE,
    MAX_TOKEN_LENGTH,
    Home,
    HomeError,
    create_exclusively,
    ensure_token,
    read_token,
    resolve_home,
)


def test_resolution_order(tmp_path):
    assert resolve_home(str(tmp_path / "a"), {HOME_ENVIRONMENT_VARIABLE: str(tmp_path / "b")}).root == tmp_path / "a"
    assert resolve_home(None, {HOME_ENVIRONMENT_VARIABLE: str(tmp_path / "b")}).root == tmp_path / "b"
    default = resolve_home(None, {}).root
    assert default.is_absolute() and "caddie-sync" in str(default)


def test_prepare_creates_private_folders(tmp_path):
    home = Home(tmp_path / "home").prepare()
    assert home.logs_dir.is_dir()
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700


def test_prepare_reports_an_unusable_place(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HomeError, match="cannot create the home folder"):
        Home(blocker / "home").prepare()


def test_token_created_once_with_mode_0600(tmp_path):
    home = Home(tmp_path).prepare()
    token = ensure_token(home)
    assert len(token) >= 40
    assert stat.S_IMODE(home.token_file.stat().st_mode) == 0o600
    assert ensure_token(home) == token
    assert read_token(home) == token
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_create_exclusively_keeps_the_first(tmp_path):
    path = tmp_path / "f"
    assert create_exclusively(path, b"one") is True
    assert create_exclusively(path, b"two") is False
    assert path.read_bytes() == b"one"


def test_processes_starting_together_agree_on_the_token(tmp_path):
    home = Home(tmp_path).prepare()
    code = (
        "import sys, pathlib; from service_runtime.home import Home, ensure_token;"
        " print(ensure_token(Home(pathlib.Path(sys.argv[1]))))"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    tokens = {p.communicate(timeout=60)[0].strip() for p in processes}
    assert len(tokens) == 1
    assert tokens == {read_token(home)}


def test_missing_or_empty_token_is_a_clear_error(tmp_path):
    home = Home(tmp_path).prepare()
    with pytest.raises(HomeError, match="does not exist"):
        read_token(home)
    home.token_file.write_text("\n")
    home.token_file.chmod(0o600)
    with pytest.raises(HomeError, match="is empty"):
        read_token(home)


def test_a_token_too_long_for_the_first_frame_is_a_clear_error(tmp_path):
    home = Home(tmp_path).prepare()
    home.token_file.write_text("t" * (MAX_TOKEN_LENGTH + 1) + "\n")
    home.token_file.chmod(0o600)
    with pytest.raises(HomeError, match=f"longer than {MAX_TOKEN_LENGTH} characters"):
        read_token(home)
    home.token_file.write_text("t" * MAX_TOKEN_LENGTH + "\n")
    assert read_token(home) == "t" * MAX_TOKEN_LENGTH


def test_a_token_readable_by_others_is_refused(tmp_path):
    home = Home(tmp_path).prepare()
    ensure_token(home)
    home.token_file.chmod(0o644)
    with pytest.raises(HomeError, match=r"can be read by other users \(mode 0644\).*chmod 600"):
        read_token(home)
