"""Secret files on Windows: the decision on an access list (tested everywhere), and the real files
(on Windows only)."""

import subprocess
import sys

import pytest

from service_runtime.acl import (
    ACCESS_ALLOWED_ACE_TYPE,
    ACCESS_ALLOWED_CALLBACK_ACE_TYPE,
    ACCESS_DENIED_ACE_TYPE,
    ADMINISTRATORS,
    FILE_READ_DATA,
    GENERIC_ALL,
    GENERIC_READ,
    INHERIT_ONLY_ACE,
    OWNER_RIGHTS,
    SYSTEM,
    WRITE_DAC,
    WRITE_OWNER,
    Ace,
    other_readers,
    private_descriptor,
    refusal,
)
from service_runtime.home import Home, HomeError, check_private, ensure_token, read_token

OWNER = "S-1-5-21-1004336348-1177238915-682003330-1001"
COLLEAGUE = "S-1-5-21-1004336348-1177238915-682003330-1002"
EVERYONE, USERS, CREATOR_OWNER = "S-1-1-0", "S-1-5-32-545", "S-1-3-0"
FULL_CONTROL = 0x001F_01FF
READ_AND_EXECUTE = 0x0012_00A9  # icacls (RX)
ONLY_ATTRIBUTES = 0x0012_0080  # read attributes, read the permissions, synchronise


def allow(sid: str, mask: int = FULL_CONTROL, flags: int = 0) -> Ace:
    return Ace(ACCESS_ALLOWED_ACE_TYPE, flags, mask, sid)


def readers(dacl, owner=OWNER) -> list[str | None]:
    return [reader.sid for reader in other_readers(dacl, owner)]


def test_the_owner_system_and_administrators_may_read():
    private = [allow(OWNER), allow(SYSTEM), allow(ADMINISTRATORS), allow(OWNER_RIGHTS, READ_AND_EXECUTE)]
    assert readers(private) == []
    assert refusal(r"C:\caddie\gateway.token", private, OWNER) is None
    assert readers([]) == []  # an empty list lets nobody in


@pytest.mark.parametrize(
    "mask", [FILE_READ_DATA, READ_AND_EXECUTE, GENERIC_READ, GENERIC_ALL, FULL_CONTROL, WRITE_DAC, WRITE_OWNER]
)
def test_any_other_reader_is_refused(mask):
    assert readers([allow(OWNER), allow(COLLEAGUE, mask)]) == [COLLEAGUE]
    assert readers([allow(OWNER), allow(EVERYONE, mask)]) == [EVERYONE]


def test_what_is_not_reading_or_does_not_apply_to_the_file_passes():
    dacl = [
        allow(OWNER),
        allow(USERS, ONLY_ATTRIBUTES),  # may see that the file exists, not what it holds
        allow(CREATOR_OWNER, GENERIC_ALL, flags=INHERIT_ONLY_ACE),  # for a folder's children only
        Ace(ACCESS_DENIED_ACE_TYPE, 0, FULL_CONTROL, EVERYONE),
    ]
    assert readers(dacl) == []


def test_a_conditional_allow_counts_and_an_entry_that_cannot_be_read_is_refused():
    assert readers([Ace(ACCESS_ALLOWED_CALLBACK_ACE_TYPE, 0, GENERIC_READ, USERS)]) == [USERS]
    assert readers([Ace(0x5, 0, 0, None)]) == [None]  # an object entry: its SID is not where we look


def test_a_null_dacl_lets_everybody_in():
    assert readers(None) == [None]
    message = refusal(r"C:\caddie\secret.key", None, OWNER)
    assert message is not None and "no access list at all" in message
    assert f'icacls "C:\\caddie\\secret.key" /grant:r *{OWNER}:F' in message


def test_the_refusal_names_the_readers_and_how_to_remove_them():
    dacl = [allow(OWNER), allow(EVERYONE, READ_AND_EXECUTE), allow(COLLEAGUE, GENERIC_READ), allow(COLLEAGUE)]
    message = refusal(r"C:\caddie\gateway.token", dacl, OWNER)
    assert message == (
        r"C:\caddie\gateway.token can be read by other users: its access list lets Everyone (S-1-1-0), "
        f"{COLLEAGUE} read it; allow only its owner, SYSTEM and the Administrators (e.g. "
        r'`icacls "C:\caddie\gateway.token" /inheritance:d`, then `icacls "C:\caddie\gateway.token" /remove:g '
        f"*S-1-1-0 *{COLLEAGUE}`) and start again"
    )


def test_a_secret_file_is_made_for_its_user_system_and_administrators_only():
    assert private_descriptor(OWNER) == f"O:{OWNER}D:P(A;;FA;;;{OWNER})(A;;FA;;;SY)(A;;FA;;;BA)"


windows_only = pytest.mark.skipif(sys.platform != "win32", reason="real access lists exist on Windows only")


@windows_only
def test_windows_a_new_token_is_private_and_one_made_readable_is_refused(tmp_path):
    from service_runtime import windows_acl

    home = Home(tmp_path).prepare()
    token = ensure_token(home)
    owner, dacl = windows_acl.file_security(home.token_file)
    assert owner == windows_acl.current_user_sid()
    assert dacl is not None and {ace.sid for ace in dacl} == {owner, SYSTEM, ADMINISTRATORS}
    assert read_token(home) == token
    subprocess.run(["icacls", str(home.token_file), "/grant", f"*{EVERYONE}:R"], check=True, capture_output=True)
    with pytest.raises(HomeError, match=r"can be read by other users: its access list lets Everyone \(S-1-1-0\)"):
        read_token(home)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


@windows_only
def test_windows_a_file_that_inherits_a_readable_folder_is_refused(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    grant = f"*{USERS}:(OI)(CI)R"  # inherited by what is made in the folder
    subprocess.run(["icacls", str(folder), "/grant", grant], check=True, capture_output=True)
    secret = folder / "secret.key"
    secret.write_text("key")
    with pytest.raises(HomeError, match=r"Users \(S-1-5-32-545\)"):
        check_private(secret)
    check_private(folder / "missing.key")  # no file: nothing to refuse
