"""Contacts through exchangelib: names, addresses, phones, e-mail addresses, filters, extended properties."""

from __future__ import annotations

import pytest
from exchangelib import Contact, Q
from exchangelib.errors import ErrorItemNotFound
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress

from .conftest import NS, envelope, parse, post, response_codes


def new_contact(account, **fields) -> Contact:
    values = dict(
        display_name="Max Muster",
        given_name="Max",
        surname="Muster",
        company_name="Golfclub",
        email_addresses=[EmailAddress(email="max@example.com", label="EmailAddress1")],
        phone_numbers=[
            PhoneNumber(label="MobilePhone", phone_number="+49 170 1234567"),
            PhoneNumber(label="HomePhone", phone_number="030 123456"),
        ],
        physical_addresses=[
            PhysicalAddress(label="Home", street="Hauptstr. 1", city="Berlin", zipcode="10115", country="DE"),
        ],
    )
    values.update(fields)
    contact = Contact(account=account, folder=account.contacts, **values)
    contact.save()
    return contact


def test_create_and_read_a_contact(account, caddie_id):
    contact = new_contact(account, caddie_id="P-1", file_as="Muster, Max", nickname="Maxi")
    got = account.contacts.get(id=contact.id)
    assert (got.display_name, got.given_name, got.surname, got.file_as) == (
        "Max Muster",
        "Max",
        "Muster",
        "Muster, Max",
    )
    assert got.company_name == "Golfclub" and got.nickname == "Maxi"
    assert got.email_addresses == [EmailAddress(email="max@example.com", label="EmailAddress1")]
    assert sorted((p.label, p.phone_number) for p in got.phone_numbers) == [
        ("HomePhone", "030 123456"),
        ("MobilePhone", "+49 170 1234567"),
    ]
    assert got.physical_addresses == [
        PhysicalAddress(label="Home", street="Hauptstr. 1", city="Berlin", zipcode="10115", country="DE")
    ]
    assert got.caddie_id == "P-1"
    assert got.item_class == "IPM.Contact"
    assert got.complete_name.first_name == "Max" and got.complete_name.last_name == "Muster"


def test_exchange_derives_display_name_and_file_as(emulator, account):
    body = envelope(
        '<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="contacts"/></m:SavedItemFolderId>'
        "<m:Items><t:Contact><t:GivenName>Erika</t:GivenName><t:Surname>Mustermann</t:Surname></t:Contact>"
        "</m:Items></m:CreateItem>"
    )
    item_id = parse(post(emulator, body)).find(".//t:ItemId", NS).get("Id")
    got = account.contacts.get(id=item_id)
    assert (got.display_name, got.file_as) == ("Erika Mustermann", "Mustermann, Erika")


def test_update_indexed_fields(account):
    contact = new_contact(account)
    contact.phone_numbers = [PhoneNumber(label="BusinessPhone", phone_number="089 1")]
    contact.physical_addresses = [PhysicalAddress(label="Business", street="Clubweg 2", city="Bonn")]
    contact.email_addresses = [
        EmailAddress(email="max@club.example", label="EmailAddress1"),
        EmailAddress(email="max@home.example", label="EmailAddress2"),
    ]
    contact.surname = "Mustermann"
    contact.save()
    got = account.contacts.get(id=contact.id)
    assert [(p.label, p.phone_number) for p in got.phone_numbers] == [("BusinessPhone", "089 1")]
    assert got.physical_addresses == [PhysicalAddress(label="Business", street="Clubweg 2", city="Bonn")]
    assert [e.email for e in got.email_addresses] == ["max@club.example", "max@home.example"]
    assert got.surname == "Mustermann"


def test_delete_a_contact(account):
    contact = new_contact(account)
    contact_id = contact.id
    contact.delete()
    with pytest.raises(ErrorItemNotFound):
        account.contacts.get(id=contact_id)


def test_filters_a_gateway_uses(account, caddie_id):
    new_contact(account, caddie_id="P-1")
    new_contact(
        account,
        display_name="Erika Beispiel",
        given_name="Erika",
        surname="Beispiel",
        email_addresses=[EmailAddress(email="erika@example.org", label="EmailAddress1")],
        caddie_id="P-2",
    )
    contacts = account.contacts
    assert [c.display_name for c in contacts.filter(given_name="erika")] == ["Erika Beispiel"]
    assert [c.display_name for c in contacts.filter(surname__startswith="Mus")] == ["Max Muster"]
    assert [c.display_name for c in contacts.filter(display_name__icontains="beisp")] == ["Erika Beispiel"]
    assert [c.display_name for c in contacts.filter(caddie_id="P-2")] == ["Erika Beispiel"]
    both = contacts.filter(Q(caddie_id="P-1") | Q(caddie_id="P-2")).order_by("display_name")
    assert [c.display_name for c in both] == ["Erika Beispiel", "Max Muster"]
    assert [c.display_name for c in contacts.filter(~Q(given_name="Max"))] == ["Erika Beispiel"]
    assert [c.display_name for c in contacts.filter(item_class="IPM.Contact", surname__exists=True)] != []


def test_filter_on_an_email_address(emulator, account):
    new_contact(account)
    body = envelope(
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>'
        '<m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/>'
        '<m:Restriction><t:IsEqualTo><t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress1"/>'
        '<t:FieldURIOrConstant><t:Constant Value="MAX@example.com"/></t:FieldURIOrConstant></t:IsEqualTo>'
        "</m:Restriction>"
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>'
    )
    root = parse(post(emulator, body))
    assert [e.text for e in root.iterfind(".//t:Contact/t:DisplayName", NS)] == ["Max Muster"]


def test_a_contact_cannot_go_into_the_calendar(emulator):
    body = envelope(
        '<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId>'
        "<m:Items><t:Contact><t:GivenName>X</t:GivenName></t:Contact></m:Items></m:CreateItem>"
    )
    assert response_codes(post(emulator, body)) == ["ErrorCannotCreateContactInNonContactFolder"]


def test_an_invalid_email_key_fails_schema_validation(emulator):
    body = envelope(
        '<m:CreateItem><m:Items><t:Contact><t:EmailAddresses><t:Entry Key="EmailAddress4">x@y.z</t:Entry>'
        "</t:EmailAddresses></t:Contact></m:Items></m:CreateItem>"
    )
    response = post(emulator, body)
    assert response.status_code == 500
    assert response_codes(response) == ["ErrorSchemaValidation"]
