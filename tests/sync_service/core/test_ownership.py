"""Which area an Outlook item goes into when several areas share one Exchange calendar."""

from sync_service.core.ownership import SharedCalendar, area_key, shared_calendar


def test_the_first_category_naming_an_area_wins_else_the_import_area():
    calendar = shared_calendar(2, [(2, "Tee times", False), (5, "Lessons", False), (9, "Rooms", False)])
    assert calendar.owner([]) == 2  # the first subscription takes the rest
    assert calendar.owner(["Red category", "lessons", "Rooms"]) == 5
    assert calendar.owner(["  ROOMS "]) == 9
    assert calendar.takes(["Tee Times"]) and not calendar.takes(["Lessons"])
    assert calendar.mates == (5, 9)


def test_a_marked_import_area_takes_uncategorised_items():
    calendar = shared_calendar(5, [(2, "Tee times", False), (5, "Lessons", True)])
    assert calendar.owner(["Blue"]) == 5 and calendar.takes([])
    assert not shared_calendar(2, [(2, "Tee times", False), (5, "Lessons", True)]).takes([])


def test_alone_on_a_calendar_takes_everything():
    assert SharedCalendar(3).takes(["Lessons"]) and SharedCalendar(3, ((3, "Tee times"),)).takes(["Other"])


def test_names_compare_without_case_spacing_or_unicode_form():
    assert area_key("Platzreife  Kurs") == area_key(" platzreife kurs")
    assert area_key("Jugend Müller") == area_key("Jugend Mu\u0308ller")
