"""`sync-service conflicts LOGIN`: a contact conflict's lost version in the text output too."""

import json


def _conflict(club, kind: str, lost: dict, person: int = 1) -> None:
    (user_id,) = club.rows("SELECT id FROM pcc_user WHERE login = 'alice'")[0]
    club.execute(
        "INSERT INTO sync_conflict (user_id, kind, appointment_id, exchange_id, winner, loser_content, created) "
        "VALUES (?, ?, ?, 'AAMk1', 'pccaddie', ?, '2026-05-01 10:00:00')",
        user_id,
        kind,
        person,
        json.dumps(lost, ensure_ascii=False),
    )


def test_a_contact_conflict_shows_the_values_that_lost(club):
    lost = {
        "side": "exchange",
        "title": "address of person 1",
        "start": "",
        "end": "",
        "address": ["Weg 2", "", "Köln", ""],
    }
    _conflict(club, "contacts", lost)
    header, line = club.ok("conflicts", "alice").splitlines()
    assert header.split() == ["WHEN", "AREA", "APPOINTMENT", "WINNER", "LOST", "VERSION"]
    assert line.split()[2:5] == ["contacts", "1", "pccaddie"]
    assert line.endswith("address of person 1: Weg 2, –, Köln, – (from exchange)")
    (row,) = club.json("conflicts", "alice")
    assert row["kind"] == "contacts" and row["lost"] == lost


def test_a_contact_conflict_whose_loser_was_empty(club):
    lost = {"side": "exchange", "title": "phone of person 1", "start": "", "end": "", "phone": ["", "", ""]}
    _conflict(club, "contacts", lost)
    assert club.ok("conflicts", "alice").splitlines()[1].endswith("phone of person 1: (empty) (from exchange)")


def test_an_appointment_conflict_still_shows_its_title_and_times(club):
    lost = {"side": "exchange", "title": "Medal (Outlook)", "start": "2026-05-02 09:00", "end": "2026-05-02 12:00"}
    _conflict(club, "calendar", lost, person=7)
    line = club.ok("conflicts", "alice").splitlines()[1]
    assert line.endswith("Medal (Outlook) (2026-05-02 09:00 – 2026-05-02 12:00, from exchange)")
    assert club.json("conflicts", "alice")[0]["kind"] == "calendar"
