"""Items a folder holds besides its own kind: contact groups (t:DistributionList) in a contacts
folder, messages in a calendar, as exchangelib sees them in GetItem, FindItem and SyncFolderItems."""

from __future__ import annotations

import pytest
from exchangelib import Contact, DistributionList, HTMLBody, Mailbox, Message
from exchangelib.errors import ErrorCannotCreateContactInNonContactFolder
from exchangelib.properties import Member

from .conftest import NS, envelope, parse, post

EXTERNAL = "max@elsewhere.example"


def new_group(account, name: str = "Flight 3", members=None) -> DistributionList:
    group = DistributionList(account=account, folder=account.contacts, display_name=name, members=members)
    group.save()
    return group


def external_member(address: str = EXTERNAL, name: str = "Max") -> Member:
    return Member(mailbox=Mailbox(email_address=address, name=name, mailbox_type="OneOff"))


def test_a_contact_group_reads_back_as_a_distribution_list(account):
    group = new_group(account, members=["bob@club.example", external_member()])
    assert group.id and group.changekey
    got = account.contacts.get(id=group.id)
    assert isinstance(got, DistributionList)
    assert (got.id, got.changekey) == (group.id, group.changekey)
    assert got.display_name == got.file_as == "Flight 3"
    assert got.item_class == "IPM.DistList"
    assert got.contact_source == "Store"
    assert [(m.mailbox.email_address, m.mailbox.name, m.mailbox.mailbox_type, m.status) for m in got.members] == [
        ("bob@club.example", "bob", "Mailbox", "Normal"),
        (EXTERNAL, "Max", "OneOff", "Normal"),
    ]
    assert b"Subject: Flight 3" in got.mime_content and EXTERNAL.encode() in got.mime_content


def test_a_group_without_members(account):
    group = new_group(account, "Empty")
    got = list(account.fetch(ids=[group]))[0]
    assert isinstance(got, DistributionList) and got.members is None and got.file_as == "Empty"


def test_find_item_lists_contacts_and_groups_together(account):
    Contact(
        account=account, folder=account.contacts, given_name="Anna", surname="Berg", display_name="Anna Berg"
    ).save()
    new_group(account, "Juniors")
    found = {(type(item).__name__, item.display_name) for item in account.contacts.all()}
    assert found == {("Contact", "Anna Berg"), ("DistributionList", "Juniors")}
    only_names = account.contacts.all().only("display_name", "file_as")
    assert {(type(item).__name__, item.file_as) for item in only_names} == {
        ("Contact", "Berg, Anna"),
        ("DistributionList", "Juniors"),
    }
    assert [item.display_name for item in account.contacts.filter(display_name="Juniors")] == ["Juniors"]


def test_sync_reports_groups_created_changed_and_deleted(account):
    list(account.contacts.sync_items())
    state = account.contacts.item_sync_state
    group = new_group(account, "Seniors")
    [(kind, got)] = list(account.contacts.sync_items(sync_state=state))
    assert kind == "create" and isinstance(got, DistributionList)
    assert (got.id, got.changekey, got.display_name, got.file_as) == (group.id, group.changekey, "Seniors", "Seniors")
    state = account.contacts.item_sync_state

    group.display_name = "Seniors 65+"
    group.members = [external_member()]
    group.save(update_fields=["display_name", "members"])
    [(kind, got)] = list(account.contacts.sync_items(sync_state=state, only_fields=["display_name", "file_as"]))
    assert kind == "update" and isinstance(got, DistributionList)
    assert (got.changekey, got.display_name, got.file_as) == (group.changekey, "Seniors 65+", "Seniors 65+")
    state = account.contacts.item_sync_state

    group_id = group.id
    group.delete()
    assert [(kind, item.id) for kind, item in account.contacts.sync_items(sync_state=state)] == [("delete", group_id)]


def test_id_only_sync_names_the_kind_of_each_item(account):
    contact = Contact(account=account, folder=account.contacts, given_name="Eva", display_name="Eva")
    contact.save()
    group = new_group(account)
    changes = list(account.contacts.sync_items(only_fields=["id"]))
    assert sorted((type(item).__name__, item.id) for _kind, item in changes) == sorted(
        [("Contact", contact.id), ("DistributionList", group.id)]
    )


def test_raw_get_item_answers_in_exchange_shape(emulator, account):
    group = new_group(account, members=[external_member()])
    body = envelope(
        "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>"
        f'<m:ItemIds><t:ItemId Id="{group.id}"/></m:ItemIds></m:GetItem>'
    )
    item = parse(post(emulator, body)).find(".//m:Items/t:DistributionList", NS)
    assert item is not None
    names = [child.tag.rpartition("}")[2] for child in item]
    assert names[:2] == ["ItemId", "ParentFolderId"]
    assert names[-4:] == ["DisplayName", "FileAs", "ContactSource", "Members"]
    assert item.findtext("t:ItemClass", namespaces=NS) == "IPM.DistList"
    member = item.find("t:Members/t:Member", NS)
    assert member.get("Key")
    assert [child.tag.rpartition("}")[2] for child in member] == ["Mailbox", "Status"]
    assert [child.tag.rpartition("}")[2] for child in member.find("t:Mailbox", NS)] == [
        "Name",
        "EmailAddress",
        "RoutingType",
        "MailboxType",
    ]


def test_members_can_be_appended(emulator, account):
    group = new_group(account, members=[external_member()])
    body = envelope(
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{group.id}"/><t:Updates><t:AppendToItemField>'
        '<t:FieldURI FieldURI="distributionlist:Members"/><t:DistributionList><t:Members><t:Member><t:Mailbox>'
        "<t:EmailAddress>bob@club.example</t:EmailAddress></t:Mailbox></t:Member></t:Members></t:DistributionList>"
        "</t:AppendToItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
    assert parse(post(emulator, body)).find(".//m:UpdateItemResponseMessage", NS).get("ResponseClass") == "Success"
    got = account.contacts.get(id=group.id)
    assert [m.mailbox.email_address for m in got.members] == [EXTERNAL, "bob@club.example"]
    assert got.changekey != group.changekey


def test_a_group_cannot_go_into_a_calendar(account):
    group = DistributionList(account=account, folder=account.calendar, display_name="Nope")
    with pytest.raises(ErrorCannotCreateContactInNonContactFolder):
        group.save()


def test_a_message_in_a_calendar_is_reported_as_a_message(account):
    list(account.calendar.sync_items())
    state = account.calendar.item_sync_state
    message = Message(account=account, folder=account.calendar, subject="Tee times", body=HTMLBody("<p>9:00</p>"))
    message.save()
    [(kind, got)] = list(account.calendar.sync_items(sync_state=state))
    assert kind == "create" and isinstance(got, Message)
    assert (got.id, got.changekey, got.subject, got.item_class) == (
        message.id,
        message.changekey,
        "Tee times",
        "IPM.Note",
    )
    assert [type(item).__name__ for item in account.calendar.all()] == ["Message"]
    assert isinstance(list(account.fetch(ids=[message]))[0], Message)


def test_a_meeting_request_message_in_a_calendar(emulator, account):
    list(account.calendar.sync_items())
    state = account.calendar.item_sync_state
    body = envelope(
        '<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/>'
        "</m:SavedItemFolderId><m:Items><t:Message><t:ItemClass>IPM.Schedule.Meeting.Request</t:ItemClass>"
        "<t:Subject>Board meeting</t:Subject></t:Message></m:Items></m:CreateItem>"
    )
    created = parse(post(emulator, body)).find(".//m:Items/t:Message/t:ItemId", NS)
    [(kind, got)] = list(account.calendar.sync_items(sync_state=state))
    assert kind == "create" and isinstance(got, Message)
    assert (got.id, got.item_class, got.subject) == (created.get("Id"), "IPM.Schedule.Meeting.Request", "Board meeting")
