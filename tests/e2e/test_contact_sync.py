"""Contact sync end to end: PC CADDIE through the command line, Exchange through plain exchangelib."""

from __future__ import annotations

import sqlite3

import pytest
from exchangelib import Contact
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.protocol import close_connections

from sandbox.world import World, local_day

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path):
    started = World.start(tmp_path / "home")
    started.caddie("param", "set", "SYNC_EXCH", "1")
    started.caddie("user", "add", "anna")
    # names always; address both ways, phone export only, e-mail never
    started.caddie(
        "user",
        "permissions",
        "anna",
        "--contacts",
        "yes",
        "--address",
        "sync",
        "--phone",
        "export",
        "--email",
        "no",
        "--appointments",
        "all",
    )
    started.caddie(
        "account",
        "set",
        "anna",
        "--ews-url",
        started.url,
        "--mailbox",
        "anna@club.example",
        "--password-stdin",
        input="anna-secret\n",
    )
    yield started
    started.stop()
    close_connections()


def contacts(world) -> dict[str, Contact]:
    account = world.outlook()
    return {c.surname: c for c in account.contacts.all() if isinstance(c, Contact)}


def test_each_field_group_follows_its_mode(world):
    person = world.caddie(
        "person",
        "add",
        "--first-name",
        "Max",
        "--last-name",
        "Muster",
        "--street",
        "Weg 1",
        "--zip",
        "50667",
        "--city",
        "Köln",
        "--phone-mobile",
        "+49 170 1",
        "--email",
        "max@example.com",
    ).stdout.strip()
    world.caddie("contact", "add", "anna", "--person", person)
    world.sync_now()
    max_ = contacts(world)["Muster"]
    assert max_.given_name == "Max" and max_.display_name == "Max Muster"
    assert [(a.label, a.city) for a in max_.physical_addresses] == [("Home", "Köln")]
    assert [(p.label, p.phone_number) for p in max_.phone_numbers] == [("MobilePhone", "+49 170 1")]
    assert not max_.email_addresses  # e-mail: no, never written

    # in Outlook: the address (sync) and the phone (export) change, an e-mail is added (no)
    max_.physical_addresses = [PhysicalAddress(label="Home", street="Neuer Weg 5", city="Bonn", zipcode="53111")]
    max_.phone_numbers = [PhoneNumber(label="MobilePhone", phone_number="+49 999")]
    max_.email_addresses = [EmailAddress(label="EmailAddress1", email="private@example.org")]
    max_.save(update_fields=["physical_addresses", "phone_numbers", "email_addresses"])
    world.sync_now()
    (listed,) = [p for p in world.json("person", "list") if p["id"] == int(person)]
    assert (listed["street"], listed["city"]) == ("Neuer Weg 5", "Bonn")  # taken over
    assert listed["phone_mobile"] == "+49 170 1"  # export only: Exchange's edit ignored
    assert listed["emails"] == ["max@example.com"]  # untouched
    assert [e.email for e in contacts(world)["Muster"].email_addresses] == ["private@example.org"]  # left alone

    world.caddie("person", "update", person, "--phone-mobile", "+49 170 2")
    world.sync_now()
    assert [p.phone_number for p in contacts(world)["Muster"].phone_numbers] == ["+49 170 2"]


def test_plus_add_by_email_and_deletions_on_each_side(world):
    account = world.outlook()
    Contact(
        account=account,
        folder=account.contacts,
        given_name="Eva",
        surname="Golf",
        display_name="Eva Golf",
        email_addresses=[EmailAddress(label="EmailAddress1", email="eva@example.com")],
    ).save()
    existing = world.caddie(
        "person", "add", "--first-name", "Eva", "--last-name", "Golf", "--email", "eva@example.com"
    ).stdout.strip()
    added = world.caddie("contact", "add", "anna", "--exchange", "eva@example.com", "--gateway", world.gateway)
    assert f"as person {existing} (matched by e-mail)" in added.stdout
    world.sync_now()
    assert list(contacts(world)) == ["Golf"]  # linked, not duplicated

    # deleted in Exchange: off the list, the member stays
    contacts(world)["Golf"].delete()
    world.sync_now()
    assert world.json("contact", "list", "anna") == []
    assert [p["last_name"] for p in world.json("person", "list")] == ["Golf"]

    # a person the sync exported, then deleted in PC CADDIE (by PC CADDIE itself): its contact goes too
    tom = world.caddie("person", "add", "--first-name", "Tom", "--last-name", "Tee").stdout.strip()
    world.caddie("contact", "add", "anna", "--person", tom)
    world.sync_now()
    assert "Tee" in contacts(world)
    connection = sqlite3.connect(world.home / "pccaddie.sqlite3")
    connection.execute("PRAGMA foreign_keys = ON")
    with connection:
        connection.execute("DELETE FROM person WHERE id = ?", (int(tom),))
    connection.close()
    world.sync_now()
    assert "Tee" not in contacts(world)


def test_auto_sync_contacts_from_a_booking(world):
    world.caddie("area", "add", "Lessons")
    world.caddie("calendar", "add", "anna", "Lessons", "--auto-sync-contacts")
    pupil = world.caddie("person", "add", "--first-name", "Lena", "--last-name", "Birdie").stdout.strip()
    start = local_day(2, 10)
    world.caddie(
        "appointment",
        "add",
        "Lessons",
        "--title",
        "Lesson: Lena",
        "--start",
        start.isoformat(),
        "--end",
        start.replace(hour=11).isoformat(),
        "--person",
        pupil,
    )
    world.sync_now()  # the booking puts Lena on the list…
    world.sync_now()  # …and the next cycle exports her
    assert [c["person"] for c in world.json("contact", "list", "anna")] == [int(pupil)]
    assert "Birdie" in contacts(world)


def test_plus_add_never_guesses_and_merges_without_losing_what_outlook_holds(world):
    """Issue 14, from outside: a family address shared by two members, a State and a display name
    of the user's own, Outlook numbers PC CADDIE lacks."""
    account = world.outlook()
    Contact(
        account=account,
        folder=account.contacts,
        given_name="Erika",
        surname="Muster",
        display_name="Dr. Erika Muster",
        file_as="Muster (Golf)",
        email_addresses=[EmailAddress(label="EmailAddress1", email="familie@muster.de")],
        phone_numbers=[
            PhoneNumber(label="MobilePhone", phone_number="0171 5"),
            PhoneNumber(label="BusinessPhone", phone_number="0221 7"),
        ],
        physical_addresses=[PhysicalAddress(label="Home", street="Lindenweg 2", city="Köln", state="NRW")],
    ).save()
    world.caddie("person", "add", "--first-name", "Max", "--last-name", "Muster", "--email", "familie@muster.de")
    erika = world.caddie(
        "person", "add", "--first-name", "Erika", "--last-name", "Muster", "--email", "familie@muster.de"
    ).stdout.strip()
    world.caddie("person", "add", "--first-name", "Erika", "--last-name", "Muster")  # a namesake, no e-mail
    refused = world.caddie(
        "contact", "add", "anna", "--exchange", "familie@muster.de", "--gateway", world.gateway, ok=False
    )
    assert (
        refused.returncode == 1 and "--person ID" in refused.stderr and f"person {erika} Erika Muster" in refused.stderr
    )
    assert world.json("contact", "list", "anna") == []
    added = world.caddie(
        "contact", "add", "anna", "--exchange", "familie@muster.de", "--person", erika, "--gateway", world.gateway
    )
    assert f"as person {erika} (as chosen): Erika Muster <familie@muster.de>" in added.stdout
    world.sync_now()
    world.sync_now()
    erika_contact = contacts(world)["Muster"]
    assert (erika_contact.display_name, erika_contact.file_as) == ("Dr. Erika Muster", "Muster (Golf)")
    assert {(p.label, p.phone_number) for p in erika_contact.phone_numbers} == {
        ("MobilePhone", "0171 5"),
        ("BusinessPhone", "0221 7"),
    }
    (listed,) = [p for p in world.json("person", "list") if p["id"] == int(erika)]
    assert (listed["street"], listed["city"]) == ("Lindenweg 2", "Köln")  # address: sync, only Outlook had it
    assert listed["phone_mobile"] == ""  # phone: export, nothing comes in; nor is Outlook's wiped

    world.caddie("person", "update", erika, "--city", "Bonn")
    world.sync_now()
    (home,) = [a for a in contacts(world)["Muster"].physical_addresses if a.label == "Home"]
    assert (home.street, home.city, home.state) == ("Lindenweg 2", "Bonn", "NRW")  # the State is kept


def test_an_existing_contact_is_looked_for_before_one_is_made(world):
    """Issue 14, from outside: removed and added again, one contact; a pupil already in Outlook is
    adopted by auto sync, and stays the user's when the booking goes; a pupil the sync exported
    leaves with the booking, the contact too."""
    world.caddie("user", "permissions", "anna", "--email", "sync")
    tom = world.caddie("person", "add", "--first-name", "Tom", "--last-name", "Tee").stdout.strip()
    world.caddie("contact", "add", "anna", "--person", tom)
    world.sync_now()
    world.caddie("contact", "remove", "anna", tom)
    world.sync_now()
    world.caddie("contact", "add", "anna", "--person", tom)
    world.sync_now()
    assert [c.surname for c in contacts(world).values()] == ["Tee"] and len(list(world.outlook().contacts.all())) == 1

    account = world.outlook()
    Contact(
        account=account,
        folder=account.contacts,
        given_name="Lena",
        surname="Birdie",
        display_name="Lena Birdie",
        email_addresses=[EmailAddress(label="EmailAddress1", email="lena@example.com")],
        phone_numbers=[PhoneNumber(label="HomePhone", phone_number="0221 9")],
    ).save()
    lena = world.caddie(
        "person", "add", "--first-name", "Lena", "--last-name", "Birdie", "--email", "lena@example.com"
    ).stdout.strip()
    ben = world.caddie("person", "add", "--first-name", "Ben", "--last-name", "Putt").stdout.strip()
    world.caddie("area", "add", "Lessons")
    world.caddie("calendar", "add", "anna", "Lessons", "--auto-sync-contacts")
    start = local_day(2, 10)
    lessons = [
        world.caddie(
            "appointment",
            "add",
            "Lessons",
            "--title",
            f"Lesson {n}",
            "--start",
            start.replace(hour=10 + n).isoformat(),
            "--end",
            start.replace(hour=11 + n).isoformat(),
            "--person",
            who,
        ).stdout.strip()
        for n, who in enumerate((lena, ben))
    ]
    world.sync_now()  # the bookings put them on the list…
    world.sync_now()  # …and the next cycle links Lena's contact and exports Ben
    assert sorted(contacts(world)) == ["Birdie", "Putt", "Tee"]
    assert len(list(world.outlook().contacts.all())) == 3  # Lena's contact adopted, not made again
    listed = {p["id"]: p for p in world.json("person", "list")}
    assert listed[int(lena)]["phone_home"] == ""  # phone: export, nothing comes in…
    phones = {(p.label, p.phone_number) for p in contacts(world)["Birdie"].phone_numbers or []}
    assert ("HomePhone", "0221 9") in phones  # …and Outlook's number is not wiped

    for lesson in lessons:
        world.caddie("appointment", "delete", lesson)
    world.sync_now()
    world.sync_now()
    assert [c["person"] for c in world.json("contact", "list", "anna")] == [int(tom)]
    assert sorted(contacts(world)) == ["Birdie", "Tee"]  # Ben's contact went; Lena's is the user's own
    assert {p["last_name"] for p in world.json("person", "list")} >= {"Birdie", "Putt", "Tee"}

    # a contact conflict: `conflicts` shows the version that lost in its text output too
    world.caddie("person", "update", tom, "--city", "Bonn")
    tee = contacts(world)["Tee"]
    tee.physical_addresses = [PhysicalAddress(label="Home", city="Köln")]
    tee.save(update_fields=["physical_addresses"])
    world.sync_now()
    (line,) = [row for row in world.caddie("conflicts", "anna").stdout.splitlines() if f"person {tom}" in row]
    assert "contacts" in line and line.endswith(f"address of person {tom}: –, –, Köln, – (from exchange)")
