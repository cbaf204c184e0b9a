"""`sync-service person add|update|list`."""

import pytest

EMPTY = {
    "street": "",
    "postal_code": "",
    "city": "",
    "country": "",
    "phone_home": "",
    "phone_business": "",
    "phone_mobile": "",
    "emails": [],
}


def test_add_prints_the_new_id_only(run):
    assert run.ok("person", "add", "--first-name", "Anna", "--last-name", "Schmidt") == "1\n"
    assert run.ok("person", "add", "--first-name", "Bernd", "--last-name", "Meier") == "2\n"
    assert run.json("person", "list") == [
        {"id": 2, "first_name": "Bernd", "last_name": "Meier", **EMPTY},
        {"id": 1, "first_name": "Anna", "last_name": "Schmidt", **EMPTY},
    ]


def test_add_with_every_field(run):
    person_id = run.ok(
        "person",
        "add",
        "--first-name",
        " Jürgen ",
        "--last-name",
        "Müller",
        "--street",
        "Hauptstr. 1",
        "--zip",
        "12345",
        "--city",
        "Köln",
        "--country",
        "DE",
        "--phone-home",
        "0221 1",
        "--phone-business",
        "0221 2",
        "--phone-mobile",
        "0170 3",
        "--email",
        "j@example.com",
        "--email",
        "jm@example.org",
    ).strip()
    assert run.json("person", "list") == [
        {
            "id": int(person_id),
            "first_name": "Jürgen",
            "last_name": "Müller",
            "street": "Hauptstr. 1",
            "postal_code": "12345",
            "city": "Köln",
            "country": "DE",
            "phone_home": "0221 1",
            "phone_business": "0221 2",
            "phone_mobile": "0170 3",
            "emails": ["j@example.com", "jm@example.org"],
        }
    ]
    lines = run.ok("person", "list").splitlines()
    assert lines[0].split() == ["ID", "NAME", "CITY", "PHONE", "E-MAIL"]
    assert lines[1].split() == ["1", "Müller,", "Jürgen", "Köln", "0170", "3", "j@example.com,", "jm@example.org"]


def test_list_is_by_name(run):
    assert run.ok("person", "list") == "(none)\n"
    assert run.json("person", "list") == []
    for first, last in [("Zoe", "Adler"), ("Anna", "Zander"), ("Bea", "Adler")]:
        run.ok("person", "add", "--first-name", first, "--last-name", last)
    assert [(p["last_name"], p["first_name"]) for p in run.json("person", "list")] == [
        ("Adler", "Bea"),
        ("Adler", "Zoe"),
        ("Zander", "Anna"),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--last-name", "Schmidt"],
        ["--first-name", "Anna"],
        ["--first-name", " ", "--last-name", "Schmidt"],
        ["--first-name", "Anna", "--last-name", ""],
    ],
)
def test_add_needs_first_and_last_name(run, args):
    run.refused("person", "add", *args)
    assert run.count("person") == 0


@pytest.mark.parametrize(
    "emails, message",
    [
        (["a@example.com", "b@example.com", "c@example.com", "d@example.com"], "at most 3 e-mail addresses, 4"),
        (["not-an-address"], "'not-an-address' is not an e-mail address"),
        (["a@example.com", "a@b"], "'a@b' is not an e-mail address"),
    ],
)
def test_add_with_bad_emails(run, emails, message):
    args = [a for e in emails for a in ("--email", e)]
    line = run.refused("person", "add", "--first-name", "Anna", "--last-name", "Schmidt", *args)
    assert message in line
    assert run.count("person") == 0


def test_three_emails_are_fine(run):
    emails = ["a@example.com", "b@example.com", "c@example.com"]
    run.ok(
        "person", "add", "--first-name", "Anna", "--last-name", "Schmidt", *[a for e in emails for a in ("--email", e)]
    )
    assert run.json("person", "list")[0]["emails"] == emails


@pytest.fixture
def anna(run):
    run.ok(
        "person",
        "add",
        "--first-name",
        "Anna",
        "--last-name",
        "Schmidt",
        "--city",
        "Bonn",
        "--phone-mobile",
        "0170",
        "--email",
        "anna@example.com",
        "--email",
        "a.s@example.org",
    )
    return run


def test_update_changes_only_what_is_given(anna):
    assert anna.ok("person", "update", "1", "--last-name", "Schmidt-Weber", "--street", "Weg 2") == (
        "person 1 updated\n"
    )
    [person] = anna.json("person", "list")
    assert person == {
        "id": 1,
        "first_name": "Anna",
        "last_name": "Schmidt-Weber",
        **EMPTY,
        "street": "Weg 2",
        "city": "Bonn",
        "phone_mobile": "0170",
        "emails": ["anna@example.com", "a.s@example.org"],
    }


def test_update_empty_value_clears_a_field(anna):
    anna.ok("person", "update", "1", "--city", "")
    assert anna.json("person", "list")[0]["city"] == ""


def test_update_emails_replaces_them_all(anna):
    anna.ok("person", "update", "1", "--email", "new@example.net")
    assert anna.json("person", "list")[0]["emails"] == ["new@example.net"]
    anna.ok("person", "update", "1", "--email", "")
    assert anna.json("person", "list")[0]["emails"] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--first-name", ""], "the first name may not be empty"),
        (["--last-name", "  "], "the last name may not be empty"),
        (["--email", "a@x.de", "--email", "b@x.de", "--email", "c@x.de", "--email", "d@x.de"], "at most 3"),
        (["--email", "broken"], "'broken' is not an e-mail address"),
    ],
)
def test_update_refusals_change_nothing(anna, args, message):
    before = anna.json("person", "list")
    assert message in anna.refused("person", "update", "1", "--city", "Berlin", *args)
    assert anna.json("person", "list") == before


def test_update_an_unknown_person(anna):
    assert anna.refused("person", "update", "999", "--city", "Berlin").startswith("Error: unknown person 999")


def test_update_with_a_non_integer_id_is_a_usage_error(anna):
    anna.usage_error("person", "update", "one", "--city", "Berlin")
    assert anna.json("person", "list")[0]["city"] == "Bonn"
