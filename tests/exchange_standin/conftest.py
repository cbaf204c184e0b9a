"""The emulator in a thread of the test process, on a free loopback port, and exchangelib accounts on it."""

from __future__ import annotations

import pytest
import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    Account,
    CalendarItem,
    Configuration,
    Contact,
    Credentials,
    EWSTimeZone,
    ExtendedProperty,
    FailFast,
)
from exchangelib.protocol import close_connections
from lxml import etree

from exchange_standin import EmulatorServer

ANNA = ("anna@club.example", "anna-secret")
BOB = ("bob@club.example", "bob-secret")
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
S = "http://schemas.xmlsoap.org/soap/envelope/"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
NS = {"m": M, "t": T, "s": S, "e": E}


class CaddieId(ExtendedProperty):
    """What a sync gateway marks its items with: a named string property in its own property set."""

    property_set_id = "3f1c5b1e-6d4f-4a43-9b57-5a1d0c2e9d11"
    property_name = "CaddieSyncId"
    property_type = "String"


@pytest.fixture
def emulator():
    server = EmulatorServer(mailboxes=[ANNA, BOB]).start()
    yield server
    server.stop()
    close_connections()


def make_account(server: EmulatorServer, address: str, password: str, **account_options) -> Account:
    config = Configuration(
        service_endpoint=server.url,
        credentials=Credentials(address, password),
        auth_type=BASIC,
        retry_policy=FailFast(),
    )
    return Account(address, config=config, autodiscover=False, access_type=DELEGATE, **account_options)


@pytest.fixture
def account(emulator: EmulatorServer) -> Account:
    return make_account(emulator, *ANNA, default_timezone=EWSTimeZone("Europe/Berlin"))


@pytest.fixture
def caddie_id():
    CalendarItem.register("caddie_id", CaddieId)
    Contact.register("caddie_id", CaddieId)
    yield "caddie_id"
    CalendarItem.deregister("caddie_id")
    Contact.deregister("caddie_id")


def envelope(operation: str, header: str = "") -> bytes:
    """A SOAP request around an operation written with the prefixes m: and t:."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{S}" xmlns:m="{M}" xmlns:t="{T}">'
        f'<s:Header><t:RequestServerVersion Version="Exchange2016"/>{header}</s:Header>'
        f"<s:Body>{operation}</s:Body></s:Envelope>"
    ).encode()


def post(server: EmulatorServer, body: bytes, auth: tuple[str, str] = ANNA, **options) -> requests.Response:
    return requests.post(
        server.url, data=body, auth=auth, headers={"Content-Type": "text/xml; charset=utf-8"}, **options
    )


def parse(response: requests.Response) -> etree._Element:
    return etree.fromstring(response.content)


def response_codes(response: requests.Response) -> list[str]:
    root = parse(response)
    codes = [code.text for code in root.iterfind(".//m:ResponseCode", NS)]
    return codes or [code.text for code in root.iterfind(".//e:ResponseCode", NS)]
