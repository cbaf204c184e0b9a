"""The XML namespaces of EWS SOAP and helpers to build qualified names."""

from __future__ import annotations

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"

RESPONSE_NSMAP = {"m": M, "t": T}


def m(name: str) -> str:
    """The qualified name of an element in the messages namespace."""
    return f"{{{M}}}{name}"


def t(name: str) -> str:
    """The qualified name of an element in the types namespace."""
    return f"{{{T}}}{name}"


def s(name: str) -> str:
    """The qualified name of an element in the SOAP envelope namespace."""
    return f"{{{SOAP}}}{name}"


def local(tag: object) -> str:
    """The local part of an element's tag ('' for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace(tag: object) -> str:
    if not isinstance(tag, str) or not tag.startswith("{"):
        return ""
    return tag[1:].partition("}")[0]
