"""`sync-service contact add|list|remove`: the persons a user syncs as Exchange contacts."""

import pytest


@pytest.fixture
def people(club):
    """The club, plus persons 1 (Anna Schmidt) and 2 (Bernd Adler)."""
    club.ok("person", "add", "--first-name", "Anna", "--last-name", "Schmidt", "--email", "anna@example.com")
    club.ok("person", "add", "--first-name", "Bernd", "--last-name", "Adler")
    return club


def test_add_list_remove(people):
    assert people.ok("contact", "add", "alice", "--person", "1") == "person 1 added to alice's contacts\n"
    people.ok("contact", "add", "alice", "--person", "2")
    assert people.json("contact", "list", "alice") == [
        {
            "person": 2,
            "name": "Bernd Adler",
            "source": "person",
            "state": "waiting for the next cycle",
            "exchange_id": None,
        },
        {
            "person": 1,
            "name": "Anna Schmidt",
            "source": "person",
            "state": "waiting for the next cycle",
            "exchange_id": None,
        },
    ]
    lines = people.ok("contact", "list", "alice").splitlines()
    assert lines[0].split() == ["PERSON", "NAME", "ADDED", "BY", "STATE"]
    assert lines[1].split() == ["2", "Bernd", "Adler", "person", "waiting", "for", "the", "next", "cycle"]
    assert people.ok("contact", "remove", "alice", "2") == "person 2 removed from alice's contacts\n"
    assert people.json("contact", "list", "alice") == [
        {
            "person": 1,
            "name": "Anna Schmidt",
            "source": "person",
            "state": "waiting for the next cycle",
            "exchange_id": None,
        }
    ]


def test_empty_list(people):
    assert people.ok("contact", "list", "alice") == "(none)\n"
    assert people.json("contact", "list", "alice") == []


def test_add_needs_contact_permission(people):
    # bob has no group: his contacts setting 'group' means no.
    assert people.refused("contact", "add", "bob", "--person", "1").startswith("Error: bob may not sync contacts")
    people.ok("user", "permissions", "bob", "--contacts", "yes")
    people.ok("contact", "add", "bob", "--person", "1")
    people.ok("user", "permissions", "alice", "--contacts", "no")  # overrides Staff's yes
    assert people.refused("contact", "add", "alice", "--person", "1").startswith("Error: alice may not sync contacts")
    assert people.json("contact", "list", "alice") == []
    assert [c["person"] for c in people.json("contact", "list", "bob")] == [1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["ghost", "--person", "1"], "Error: unknown user 'ghost'"),
        (["alice", "--person", "999"], "Error: unknown person 999"),
    ],
)
def test_add_unknown_user_or_person(people, args, message):
    assert people.refused("contact", "add", *args).startswith(message)
    assert people.count("contact_subscription") == 0


def test_add_twice_is_refused(people):
    people.ok("contact", "add", "alice", "--person", "1")
    assert people.refused("contact", "add", "alice", "--person", "1") == (
        "Error: person 1 is on alice's contact list already"
    )
    assert people.count("contact_subscription") == 1


def test_remove_a_person_not_on_the_list(people):
    people.ok("contact", "add", "alice", "--person", "1")
    assert people.refused("contact", "remove", "alice", "2") == "Error: person 2 is not on alice's contact list"
    assert people.refused("contact", "remove", "ghost", "1").startswith("Error: unknown user 'ghost'")
    assert [c["person"] for c in people.json("contact", "list", "alice")] == [1]


def test_list_of_an_unknown_user(people):
    assert people.refused("contact", "list", "ghost").startswith("Error: unknown user 'ghost'")


@pytest.mark.parametrize(
    "args",
    [["contact", "add", "alice", "--person", "x"], ["contact", "add", "alice"], ["contact", "remove", "alice", "x"]],
)
def test_usage_errors(people, args):
    people.usage_error(*args)
    assert people.count("contact_subscription") == 0


def test_add_by_exchange_needs_the_users_exchange_account(people):
    result = people("contact", "add", "alice", "--exchange", "anna@example.com")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: the user 'alice' has no Exchange account")
    assert people.count("contact_subscription") == 0


def test_add_needs_a_source(people):
    result = people("contact", "add", "alice")
    assert result.exit_code == 2
    assert "exactly one of --person ID or --exchange" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--person", "1", "--new"], "--new goes with --exchange"),
        (["--exchange", "a@b.c", "--person", "1", "--new"], "give --person ID or --new, not both"),
    ],
)
def test_new_goes_with_an_exchange_contact_only(people, args, message):
    result = people("contact", "add", "alice", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert people.count("contact_subscription") == 0


def test_choosing_a_person_for_an_exchange_contact_checks_the_person_first(people):
    result = people("contact", "add", "alice", "--exchange", "a@b.c", "--person", "99")
    assert result.exit_code == 1 and "99" in result.stderr.strip().splitlines()[-1]


def test_remove_with_delete_in_exchange_marks_the_contact(people):
    people.ok("contact", "add", "alice", "--person", "1")
    (user_id,) = people.rows("SELECT id FROM pcc_user WHERE login = 'alice'")[0]
    people.execute(
        "INSERT INTO contact_link (user_id, person_id, exchange_id, origin, external_id, updated) "
        "VALUES (?, 1, 'AAMk1', 'pccaddie', 'pccaddie-contact:x', '2026-01-01 00:00:00')",
        user_id,
    )
    out = people.ok("contact", "remove", "alice", "1", "--delete-in-exchange")
    assert "deleted in the next cycle" in out
    assert people.rows("SELECT delete_in_exchange FROM contact_link") == [(1,)]
    assert people.json("contact", "list", "alice") == []


def test_the_contact_policy(club):
    assert club.ok("contact", "policy", "alice") == "alice's contacts: pccaddie-wins\n"
    assert club.ok("contact", "policy", "alice", "newest-wins") == "alice's contacts: newest-wins (was pccaddie-wins)\n"
    assert club.ok("contact", "policy", "alice") == "alice's contacts: newest-wins\n"
    club.usage_error("contact", "policy", "alice", "coin-toss")
    assert "unknown user" in club.refused("contact", "policy", "ghost", "exchange-wins")
