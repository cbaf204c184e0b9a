"""The Windows calls behind private secret files (advapi32 and kernel32 through ctypes).

Imported on Windows only (by service_runtime.home); what is private is decided in service_runtime.acl.
"""

from __future__ import annotations

import ctypes
import msvcrt
import sys
from ctypes import wintypes
from pathlib import Path
from typing import Any

from .acl import ALLOWING, DENYING, Ace, private_descriptor

assert sys.platform == "win32"

SE_FILE_OBJECT = 1
OWNER_SECURITY_INFORMATION = 0x1
DACL_SECURITY_INFORMATION = 0x4
TOKEN_QUERY = 0x8
TOKEN_USER = 1  # the TOKEN_INFORMATION_CLASS of the token's user
SDDL_REVISION_1 = 1
GENERIC_WRITE = 0x4000_0000
FILE_SHARE_READ, FILE_SHARE_WRITE = 0x1, 0x2
CREATE_NEW = 1
FILE_ATTRIBUTE_NORMAL = 0x80
INVALID_HANDLE_VALUE = ctypes.c_void_p(-1).value


class _AceHeader(ctypes.Structure):
    _fields_ = [("type", ctypes.c_ubyte), ("flags", ctypes.c_ubyte), ("size", ctypes.c_ushort)]


class _AccessAce(ctypes.Structure):
    """The start of ACCESS_ALLOWED_ACE, ACCESS_DENIED_ACE and their callback forms; the SID follows."""

    _fields_ = [("header", _AceHeader), ("mask", ctypes.c_uint32)]


class _Acl(ctypes.Structure):
    _fields_ = [
        ("revision", ctypes.c_ubyte),
        ("sbz1", ctypes.c_ubyte),
        ("size", ctypes.c_ushort),
        ("count", ctypes.c_ushort),
        ("sbz2", ctypes.c_ushort),
    ]


class _SecurityAttributes(ctypes.Structure):
    _fields_ = [("length", wintypes.DWORD), ("descriptor", ctypes.c_void_p), ("inherit_handle", wintypes.BOOL)]


_advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_out = ctypes.POINTER(ctypes.c_void_p)


def _declare(function: Any, restype: Any, *argtypes: Any) -> Any:
    function.restype, function.argtypes = restype, argtypes
    return function


_GetNamedSecurityInfoW = _declare(
    _advapi32.GetNamedSecurityInfoW,
    wintypes.DWORD,
    wintypes.LPCWSTR,
    ctypes.c_int,
    wintypes.DWORD,
    _out,
    _out,
    _out,
    _out,
    _out,
)
_GetAce = _declare(_advapi32.GetAce, wintypes.BOOL, ctypes.c_void_p, wintypes.DWORD, _out)
_ConvertSidToStringSidW = _declare(_advapi32.ConvertSidToStringSidW, wintypes.BOOL, ctypes.c_void_p, _out)
_ConvertStringSecurityDescriptor = _declare(
    _advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW,
    wintypes.BOOL,
    wintypes.LPCWSTR,
    wintypes.DWORD,
    _out,
    ctypes.POINTER(wintypes.ULONG),
)
_OpenProcessToken = _declare(
    _advapi32.OpenProcessToken, wintypes.BOOL, wintypes.HANDLE, wintypes.DWORD, ctypes.POINTER(wintypes.HANDLE)
)
_GetTokenInformation = _declare(
    _advapi32.GetTokenInformation,
    wintypes.BOOL,
    wintypes.HANDLE,
    ctypes.c_int,
    ctypes.c_void_p,
    wintypes.DWORD,
    ctypes.POINTER(wintypes.DWORD),
)
_GetCurrentProcess = _declare(_kernel32.GetCurrentProcess, wintypes.HANDLE)
_CloseHandle = _declare(_kernel32.CloseHandle, wintypes.BOOL, wintypes.HANDLE)
_LocalFree = _declare(_kernel32.LocalFree, ctypes.c_void_p, ctypes.c_void_p)
_CreateFileW = _declare(
    _kernel32.CreateFileW,
    wintypes.HANDLE,
    wintypes.LPCWSTR,
    wintypes.DWORD,
    wintypes.DWORD,
    ctypes.POINTER(_SecurityAttributes),
    wintypes.DWORD,
    wintypes.DWORD,
    wintypes.HANDLE,
)


def _error(code: int, path: Path | None = None) -> OSError:
    """The OSError of a Windows error code (FileNotFoundError, PermissionError, … as it maps)."""
    return OSError(None, ctypes.FormatError(code), None if path is None else str(path), code)


def _sid_string(sid: int | None) -> str:
    text = ctypes.c_void_p()
    if not _ConvertSidToStringSidW(sid, ctypes.byref(text)):
        raise _error(ctypes.get_last_error())
    try:
        return ctypes.wstring_at(text)
    finally:
        _LocalFree(text)


def current_user_sid() -> str:
    """The SID of the user this process runs as, e.g. S-1-5-19 for LocalService."""
    token = wintypes.HANDLE()
    if not _OpenProcessToken(_GetCurrentProcess(), TOKEN_QUERY, ctypes.byref(token)):
        raise _error(ctypes.get_last_error())
    try:
        size = wintypes.DWORD(0)
        _GetTokenInformation(token, TOKEN_USER, None, 0, ctypes.byref(size))  # fails, saying the size needed
        buffer = ctypes.create_string_buffer(size.value)
        if not _GetTokenInformation(token, TOKEN_USER, buffer, size, ctypes.byref(size)):
            raise _error(ctypes.get_last_error())
        return _sid_string(ctypes.c_void_p.from_buffer(buffer).value)  # TOKEN_USER begins with the SID's address
    finally:
        _CloseHandle(token)


def _entries(acl: int) -> list[Ace]:
    entries = []
    sid_offset = ctypes.sizeof(_AccessAce)
    for index in range(_Acl.from_address(acl).count):
        address = ctypes.c_void_p()
        if not _GetAce(acl, index, ctypes.byref(address)):
            raise _error(ctypes.get_last_error())
        assert address.value is not None
        ace = _AccessAce.from_address(address.value)
        if ace.header.type in ALLOWING | DENYING:
            entries.append(Ace(ace.header.type, ace.header.flags, ace.mask, _sid_string(address.value + sid_offset)))
        else:  # another layout: the decision refuses what it cannot read
            entries.append(Ace(ace.header.type, ace.header.flags, 0, None))
    return entries


def file_security(path: Path) -> tuple[str, list[Ace] | None]:
    """The file's owner (a SID) and its DACL, None for a NULL DACL. Raises OSError
    (FileNotFoundError if there is no such file)."""
    owner, dacl, descriptor = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    error = _GetNamedSecurityInfoW(
        str(path),
        SE_FILE_OBJECT,
        OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
        ctypes.byref(owner),
        None,
        ctypes.byref(dacl),
        None,
        ctypes.byref(descriptor),
    )
    if error:
        raise _error(error, path)
    try:
        return _sid_string(owner.value), None if dacl.value is None else _entries(dacl.value)
    finally:
        _LocalFree(descriptor)


def create_private_file(path: Path) -> int:
    """Create `path`, which must not exist (FileExistsError), private from its first moment: owned
    by this process's user, with a protected DACL of full control for that user, SYSTEM and the
    Administrators (service_runtime.acl.private_descriptor), nothing inherited. Returns a file descriptor
    open for writing."""
    descriptor = ctypes.c_void_p()
    if not _ConvertStringSecurityDescriptor(
        private_descriptor(current_user_sid()), SDDL_REVISION_1, ctypes.byref(descriptor), None
    ):
        raise _error(ctypes.get_last_error())
    try:
        attributes = _SecurityAttributes(ctypes.sizeof(_SecurityAttributes), descriptor.value, False)
        handle = _CreateFileW(
            str(path),
            GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            ctypes.byref(attributes),
            CREATE_NEW,
            FILE_ATTRIBUTE_NORMAL,
            None,
        )
        if handle is None or handle == INVALID_HANDLE_VALUE:
            raise _error(ctypes.get_last_error(), path)
    finally:
        _LocalFree(descriptor)
    return msvcrt.open_osfhandle(handle, 0)
