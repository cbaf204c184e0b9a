"""SOAP 1.1 envelopes: reading a request, writing a response or a fault the way Exchange does."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .errors import EwsError, SoapFault, schema_error
from .namespaces import RESPONSE_NSMAP, SOAP, XSD, XSI, E, M, T, local, m, namespace, s, t

XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'

# The build the emulator announces: Exchange Server 2016 CU 23.
SERVER_VERSION = {
    "MajorVersion": "15",
    "MinorVersion": "1",
    "MajorBuildNumber": "2507",
    "MinorBuildNumber": "6",
    "Version": "V2017_07_11",
}
# RequestServerVersion values an Exchange 2016 server accepts.
REQUEST_VERSIONS = (
    "Exchange2007",
    "Exchange2007_SP1",
    "Exchange2009",
    "Exchange2010",
    "Exchange2010_SP1",
    "Exchange2010_SP2",
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2016",
    "V2015_10_05",
    "V2016_01_06",
    "V2016_04_13",
    "V2016_07_13",
    "V2016_10_10",
    "V2017_01_07",
    "V2017_04_14",
    "V2017_07_11",
)

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
)


@dataclass
class Request:
    operation: str
    element: etree._Element  # the operation's element (m:GetFolder ...)
    server_version: str | None = None
    impersonation: etree._Element | None = None
    timezone_id: str | None = None


def impersonated_address(request: Request) -> str | None:
    """The mailbox an ExchangeImpersonation header names (its SMTP address), if any."""
    if request.impersonation is None:
        return None
    for name in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName"):
        found = request.impersonation.find(f".//{t(name)}")
        if found is not None and (found.text or "").strip():
            return found.text.strip()
    return None


def parse_request(body: bytes) -> Request:
    """Parse a SOAP request. Raises SoapFault for anything that is not a well-formed EWS request."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise schema_error(f"The request is not well-formed XML: {exc}") from None
    if root.tag != s("Envelope"):
        raise SoapFault("ErrorInvalidRequest", "The request is not a SOAP 1.1 envelope.")
    header = root.find(s("Header"))
    body_elem = root.find(s("Body"))
    if body_elem is None:
        raise SoapFault("ErrorInvalidRequest", "The SOAP envelope has no Body.")
    children = [child for child in body_elem if isinstance(child.tag, str)]
    if len(children) != 1:
        raise SoapFault("ErrorInvalidRequest", "The SOAP Body must hold exactly one operation.")
    operation = children[0]
    if namespace(operation.tag) != M:
        raise SoapFault(
            "ErrorInvalidRequest",
            f"The request is invalid: '{local(operation.tag)}' is not an operation of "
            "the Exchange Web Services messages namespace.",
        )
    request = Request(operation=local(operation.tag), element=operation)
    if header is not None:
        for elem in header:
            name = local(elem.tag)
            if name == "RequestServerVersion":
                version = elem.get("Version")
                if version not in REQUEST_VERSIONS:
                    raise SoapFault(
                        "ErrorInvalidServerVersion", "The specified server version is invalid.", violation=version
                    )
                request.server_version = version
            elif name == "ExchangeImpersonation":
                request.impersonation = elem
            elif name == "TimeZoneContext":
                definition = elem.find(t("TimeZoneDefinition"))
                if definition is not None:
                    request.timezone_id = definition.get("Id")
    return request


def _server_version_header() -> etree._Element:
    header = etree.Element(s("Header"))
    info = etree.SubElement(header, f"{{{T}}}ServerVersionInfo", nsmap={"h": T, None: T, "xsd": XSD, "xsi": XSI})
    for name, value in SERVER_VERSION.items():
        info.set(name, value)
    return header


def envelope(response: etree._Element) -> bytes:
    """A whole response document around an operation's response element."""
    root = etree.Element(s("Envelope"), nsmap={"s": SOAP})
    root.append(_server_version_header())
    body = etree.SubElement(root, s("Body"), nsmap={"xsi": XSI, "xsd": XSD})
    body.append(response)
    return XML_DECLARATION + etree.tostring(root, encoding="utf-8")


def fault(exc: SoapFault, *, with_header: bool = True) -> bytes:
    """A SOAP fault as Exchange writes it (sent with HTTP status 500)."""
    root = etree.Element(s("Envelope"), nsmap={"s": SOAP})
    if with_header:
        root.append(_server_version_header())
    body = etree.SubElement(root, s("Body"))
    fault_elem = etree.SubElement(body, s("Fault"))
    code = etree.SubElement(fault_elem, "faultcode", nsmap={"a": T})
    code.text = f"a:{exc.code}"
    text = etree.SubElement(fault_elem, "faultstring")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    text.text = exc.text + (f" {exc.violation}" if exc.violation else "")
    detail = etree.SubElement(fault_elem, "detail")
    etree.SubElement(detail, f"{{{E}}}ResponseCode", nsmap={"e": E}).text = exc.code
    etree.SubElement(detail, f"{{{E}}}Message", nsmap={"e": E}).text = exc.text
    if exc.violation or exc.message_xml:
        message_xml = etree.SubElement(detail, t("MessageXml"), nsmap={"t": T})
        if exc.violation:
            etree.SubElement(message_xml, t("LineNumber")).text = "1"
            etree.SubElement(message_xml, t("LinePosition")).text = "1"
            etree.SubElement(message_xml, t("Violation")).text = exc.violation
        for name, value in exc.message_xml:
            etree.SubElement(message_xml, t("Value"), Name=name).text = value
    return XML_DECLARATION + etree.tostring(root, encoding="utf-8")


class ResponseBuilder:
    """The m:<Operation>Response element with one response message per requested object."""

    def __init__(self, operation: str, message_name: str | None = None) -> None:
        self.operation = operation
        self.message_name = message_name or f"{operation}ResponseMessage"
        self.root = etree.Element(m(f"{operation}Response"), nsmap=RESPONSE_NSMAP)
        self.messages = etree.SubElement(self.root, m("ResponseMessages"))

    def success(self) -> etree._Element:
        msg = etree.SubElement(self.messages, m(self.message_name), ResponseClass="Success")
        etree.SubElement(msg, m("ResponseCode")).text = "NoError"
        return msg

    def error(self, exc: EwsError, response_class: str = "Error") -> etree._Element:
        msg = etree.SubElement(self.messages, m(self.message_name), ResponseClass=response_class)
        etree.SubElement(msg, m("MessageText")).text = exc.text
        etree.SubElement(msg, m("ResponseCode")).text = exc.code
        etree.SubElement(msg, m("DescriptiveLinkKey")).text = "0"
        if exc.message_xml or exc.field_uri is not None:
            message_xml = etree.SubElement(msg, m("MessageXml"))
            if exc.field_uri is not None:
                message_xml.append(exc.field_uri)
            for name, value in exc.message_xml:
                etree.SubElement(message_xml, t("Value"), Name=name).text = value
        return msg
