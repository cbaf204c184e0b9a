"""Whether a secret file on Windows is private, decided from its access list (DACL).

Pure decisions on what `windows_acl` reads from the file, so that they are tested on any system.
A file is private when no entry of its DACL that applies to the file itself allows anyone but
its owner, SYSTEM and the Administrators to read its content, or to change its permissions or
its owner (which is as good as reading it). Deny entries are not weighed: an entry that allows
another reader is refused even where a deny entry before it cancels it, as the fix is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

SYSTEM = "S-1-5-18"
ADMINISTRATORS = "S-1-5-32-544"
OWNER_RIGHTS = "S-1-3-4"  # stands for the file's owner

# ACE types and flags (winnt.h)
ACCESS_ALLOWED_ACE_TYPE = 0x0
ACCESS_DENIED_ACE_TYPE = 0x1
ACCESS_ALLOWED_CALLBACK_ACE_TYPE = 0x9
ACCESS_DENIED_CALLBACK_ACE_TYPE = 0xA
ALLOWING = frozenset({ACCESS_ALLOWED_ACE_TYPE, ACCESS_ALLOWED_CALLBACK_ACE_TYPE})
DENYING = frozenset({ACCESS_DENIED_ACE_TYPE, ACCESS_DENIED_CALLBACK_ACE_TYPE})
INHERIT_ONLY_ACE = 0x08  # the entry is only inherited by a folder's children, it does not apply here

# access rights that let a reader at the content
FILE_READ_DATA = 0x0000_0001
WRITE_DAC = 0x0004_0000
WRITE_OWNER = 0x0008_0000
GENERIC_ALL = 0x1000_0000
GENERIC_READ = 0x8000_0000
READ_ACCESS = FILE_READ_DATA | WRITE_DAC | WRITE_OWNER | GENERIC_ALL | GENERIC_READ

WELL_KNOWN = {
    "S-1-1-0": "Everyone",
    "S-1-5-7": "ANONYMOUS LOGON",
    "S-1-5-11": "Authenticated Users",
    "S-1-5-4": "INTERACTIVE",
    "S-1-5-32-545": "Users",
    "S-1-5-32-546": "Guests",
}


@dataclass(frozen=True)
class Ace:
    """One entry of a DACL, as Windows holds it."""

    type: int
    flags: int
    mask: int
    sid: str | None  # None for an entry of a type whose layout is not read here


@dataclass(frozen=True)
class Reader:
    """Someone a DACL lets read the file: a SID, or None where the entry could not be read."""

    sid: str | None
    description: str


def other_readers(dacl: Sequence[Ace] | None, owner: str) -> list[Reader]:
    """Who besides `owner`, SYSTEM and the Administrators may read the file (or change who may);
    `dacl` None is a NULL DACL, which lets everybody do everything."""
    if dacl is None:
        return [Reader(None, "everybody (the file has no access list at all)")]
    trusted = {owner, OWNER_RIGHTS, SYSTEM, ADMINISTRATORS}
    readers: list[Reader] = []
    for ace in dacl:
        if ace.flags & INHERIT_ONLY_ACE or ace.type in DENYING:
            continue
        if ace.type not in ALLOWING or ace.sid is None:
            reader = Reader(None, f"whoever an access entry of type {ace.type} names (one this check cannot read)")
        elif ace.mask & READ_ACCESS and ace.sid not in trusted:
            reader = Reader(ace.sid, f"{WELL_KNOWN[ace.sid]} ({ace.sid})" if ace.sid in WELL_KNOWN else ace.sid)
        else:
            continue
        if reader not in readers:
            readers.append(reader)
    return readers


def refusal(path: str, dacl: Sequence[Ace] | None, owner: str) -> str | None:
    """Why the secret file at `path` is refused, and how to fix it; None if it is private."""
    readers = other_readers(dacl, owner)
    if not readers:
        return None
    sids = [reader.sid for reader in readers if reader.sid is not None]
    if dacl is None:
        fix = f'`icacls "{path}" /grant:r *{owner}:F`'
    elif sids:
        remove = " ".join(f"*{sid}" for sid in sids)
        fix = f'`icacls "{path}" /inheritance:d`, then `icacls "{path}" /remove:g {remove}`'
    else:
        fix = f'remove the entries that `icacls "{path}"` shows for others'
    return (
        f"{path} can be read by other users: its access list lets {', '.join(r.description for r in readers)} "
        f"read it; allow only its owner, SYSTEM and the Administrators (e.g. {fix}) and start again"
    )


def private_descriptor(user_sid: str) -> str:
    """The security descriptor (SDDL) a secret file is created with: owned by `user_sid`, full
    control for it, SYSTEM and the Administrators, nothing inherited from the folder."""
    return f"O:{user_sid}D:P(A;;FA;;;{user_sid})(A;;FA;;;SY)(A;;FA;;;BA)"
