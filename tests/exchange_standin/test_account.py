"""Setting up an exchangelib Account on the emulator: version, folders, traversal, access rules."""

from __future__ import annotations

import pytest
import requests
from exchangelib import BASIC, DELEGATE, Account, Build, Configuration, Credentials, FailFast
from exchangelib.errors import ErrorAccessDenied, ErrorFolderExists, UnauthorizedError
from exchangelib.folders import Calendar

from exchange_standin import EmulatorError, EmulatorServer

from .conftest import ANNA, BOB, NS, envelope, make_account, parse, post, response_codes


def test_the_version_exchangelib_guesses_is_exchange_2016(account):
    version = account.version
    assert version.build >= Build(15, 1)
    assert version.build.major_build == 2507
    assert version.api_version == "Exchange2016"


def test_the_server_version_header_announces_a_15_x_build(emulator):
    body = envelope(
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        '<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>'
    )
    response = post(emulator, body)
    info = parse(response).find(".//t:ServerVersionInfo", NS)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    assert (info.get("MajorVersion"), info.get("MinorVersion"), info.get("Version")) == ("15", "1", "V2017_07_11")


def test_distinguished_folders_and_traversal(account):
    assert account.calendar.name == "Calendar"
    assert account.contacts.name == "Contacts"
    assert account.inbox.name == "Inbox"
    assert account.trash.name == "Deleted Items"
    top = account.root / "Top of Information Store"
    assert (top / "Calendar").id == account.calendar.id
    assert account.root.tois.id == top.id
    names = {folder.name for folder in account.root.walk()}
    assert {"Calendar", "Contacts", "Inbox", "Sent Items", "Drafts", "Tasks", "Recoverable Items"} <= names


def test_a_sub_calendar_is_created_by_name_and_found_again(emulator, account):
    folder = Calendar(parent=account.calendar, name="Tee times")
    folder.save()
    assert folder.id

    fresh = make_account(emulator, *ANNA)
    found = fresh.calendar / "Tee times"
    assert found.id == folder.id
    assert isinstance(found, Calendar)
    assert [child.name for child in fresh.calendar.children] == ["Tee times"]
    assert (fresh.root / "Top of Information Store" / "Calendar" / "Tee times").id == folder.id
    with pytest.raises(ErrorFolderExists):
        Calendar(parent=fresh.calendar, name="tee TIMES").save()


def test_a_folder_can_be_renamed_and_deleted(account):
    folder = Calendar(parent=account.calendar, name="Lessons")
    folder.save()
    folder.name = "Lessons 2026"
    folder.save()
    account.root.refresh()
    assert (account.calendar / "Lessons 2026").id == folder.id
    folder.delete()
    account.root.refresh()
    assert list(account.calendar.children) == []


def test_a_wrong_password_gets_401_with_www_authenticate(emulator):
    body = envelope(
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>'
    )
    for auth in ((ANNA[0], "wrong"), ("nobody@club.example", "x"), None):
        response = requests.post(emulator.url, data=body, auth=auth)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="')


def test_exchangelib_reports_a_wrong_password(emulator):
    account = make_account(emulator, ANNA[0], "wrong")
    with pytest.raises(UnauthorizedError):
        account.calendar.refresh()


def test_a_user_may_not_open_another_mailbox(emulator, account):
    bob = make_account(emulator, *BOB)
    bob_item_id = bob.calendar.id
    config = account.protocol.config
    anna_as_bob = Account(BOB[0], config=config, autodiscover=False, access_type=DELEGATE)
    with pytest.raises(ErrorAccessDenied):
        anna_as_bob.calendar.refresh()
    body = envelope(
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>"
        f'<t:FolderId Id="{bob_item_id}"/>'
        '<t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>bob@club.example</t:EmailAddress>'
        "</t:Mailbox></t:DistinguishedFolderId>"
        '<t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>ghost@club.example</t:EmailAddress>'
        "</t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>"
    )
    assert response_codes(post(emulator, body)) == ["ErrorAccessDenied", "ErrorAccessDenied", "ErrorNonExistentMailbox"]
    assert account.calendar.id != bob.calendar.id


def test_the_username_may_be_given_as_domain_and_name(emulator):
    config = Configuration(
        service_endpoint=emulator.url,
        credentials=Credentials("CLUB\\anna", ANNA[1]),
        auth_type=BASIC,
        retry_policy=FailFast(),
    )
    account = Account(ANNA[0], config=config, autodiscover=False, access_type=DELEGATE)
    assert account.calendar.name == "Calendar"


def test_refuses_a_non_loopback_address():
    with pytest.raises(EmulatorError, match="loopback"):
        EmulatorServer("192.0.2.1", 0, [ANNA])


def test_impersonation_is_refused(emulator):
    header = (
        "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>bob@club.example</t:PrimarySmtpAddress>"
        "</t:ConnectingSID></t:ExchangeImpersonation>"
    )
    body = envelope(
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>',
        header,
    )
    response = post(emulator, body)
    assert response.status_code == 500
    assert response_codes(response) == ["ErrorImpersonateUserDenied"]
