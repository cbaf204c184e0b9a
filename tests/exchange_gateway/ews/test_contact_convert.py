"""What the gateway writes into an Exchange contact of what it does not own (issue 14): the State
of the home address, a display name and File-as of the user's own."""

from exchangelib import Contact
from exchangelib.indexed_properties import PhysicalAddress

from exchange_gateway.ews.convert import apply_contact, contact_entry, new_contact, register_external_id
from protocol.entries import ContactEntry

register_external_id()


def test_writing_the_address_keeps_its_state():
    contact = Contact(
        physical_addresses=[
            PhysicalAddress(label="Home", street="Weg 1", city="Köln", state="NRW"),
            PhysicalAddress(label="Business", street="Allee 2"),
        ]
    )
    apply_contact(contact, ContactEntry(street="Neuer Weg 5", city="Bonn"), {"street", "city"})
    (home,) = [a for a in contact.physical_addresses if a.label == "Home"]
    assert (home.street, home.city, home.state) == ("Neuer Weg 5", "Bonn", "NRW")
    assert [a.street for a in contact.physical_addresses if a.label == "Business"] == ["Allee 2"]
    apply_contact(contact, ContactEntry(), {"street", "city", "postal_code", "country"})
    (home,) = [a for a in contact.physical_addresses if a.label == "Home"]
    assert (home.street, home.state) == (None, "NRW")  # the State is not ours to clear


def test_a_display_name_and_file_as_of_the_users_own_are_kept():
    contact = Contact(given_name="Max", surname="Muster", display_name="Dr. Max Muster", file_as="Muster (Golf)")
    apply_contact(contact, ContactEntry(given_name="Max", surname="Mustermann"), {"given_name", "surname"})
    assert (contact.surname, contact.display_name, contact.file_as) == ("Mustermann", "Dr. Max Muster", "Muster (Golf)")


def test_a_display_name_made_from_the_names_follows_them():
    contact = new_contact(ContactEntry(given_name="Max", surname="Muster"))
    assert (contact.display_name, contact.file_as) == ("Max Muster", "Muster, Max")
    apply_contact(contact, ContactEntry(given_name="Max", surname="Mustermann"), {"given_name", "surname"})
    assert (contact.display_name, contact.file_as) == ("Max Mustermann", "Mustermann, Max")
    assert contact_entry(contact).display_name == "Max Mustermann"
