import stat
import subprocess
import sys

import pytest

from service_runtime.home import Home
from sync_service.vault import PasswordVault, VaultError


def test_round_trip_and_key_file(tmp_path):
    home = Home(tmp_path).prepare()
    vault = PasswordVault.for_home(home)
    token = vault.encrypt("geheim-Passwort")
    assert b"geheim" not in token
    assert PasswordVault.for_home(home).decrypt(token) == "geheim-Passwort"  # the key is kept
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_another_key_cannot_decrypt(tmp_path):
    token = PasswordVault.from_key_file(tmp_path / "a.key").encrypt("x")
    with pytest.raises(VaultError, match="cannot be decrypted"):
        PasswordVault.from_key_file(tmp_path / "b.key").decrypt(token)


def test_damaged_key(tmp_path):
    (tmp_path / "bad.key").write_text("not a key")
    with pytest.raises(VaultError, match="damaged"):
        PasswordVault.from_key_file(tmp_path / "bad.key")


def test_a_key_readable_by_others_is_refused(tmp_path):
    PasswordVault.from_key_file(tmp_path / "secret.key")
    (tmp_path / "secret.key").chmod(0o640)
    with pytest.raises(VaultError, match="can be read by other users"):
        PasswordVault.from_key_file(tmp_path / "secret.key")


@pytest.mark.skipif(sys.platform != "win32", reason="real access lists exist on Windows only")
def test_windows_the_key_is_made_private_and_refused_once_others_may_read_it(tmp_path):
    from service_runtime import windows_acl

    key_file = tmp_path / "secret.key"
    PasswordVault.from_key_file(key_file)
    owner, dacl = windows_acl.file_security(key_file)
    assert dacl is not None and {ace.sid for ace in dacl} == {owner, "S-1-5-18", "S-1-5-32-544"}
    subprocess.run(["icacls", str(key_file), "/grant", "*S-1-5-32-545:R"], check=True, capture_output=True)
    with pytest.raises(VaultError, match="can be read by other users"):
        PasswordVault.from_key_file(key_file)
