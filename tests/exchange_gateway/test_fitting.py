from exchange_gateway.fitting import fit, shorten, utf16_length
from protocol.entries import CalendarEntry, ContactEntry


def test_shortening_counts_as_exchange_does_and_never_splits_a_character():
    assert shorten("abc", 255) == "abc"
    assert shorten("a" * 300, 255) == "a" * 255
    assert shorten("😀" * 200, 255) == "😀" * 127  # two UTF-16 units each
    assert utf16_length(shorten("x" + "😀" * 200, 255)) <= 255
    assert shorten("word " * 60, 255) == ("word " * 51).rstrip()


def test_an_entry_within_the_limits_is_left_as_it_is():
    entry = CalendarEntry(subject="Medal", start="2027-01-01T10:00:00Z", end="2027-01-01T11:00:00Z")
    assert fit(entry) == (entry, ())


def test_the_fields_over_the_limits_are_shortened_and_named():
    entry = CalendarEntry(
        subject="s" * 256,
        start="2027-01-01T10:00:00Z",
        end="2027-01-01T11:00:00Z",
        location="l" * 300,
        body="b" * 100_000,
        categories=("c" * 300, "Lessons"),
    )
    fitted, shortened = fit(entry)
    assert shortened == ("subject", "location", "categories")
    assert (len(fitted.subject), len(fitted.location), len(fitted.body)) == (255, 255, 100_000)
    assert fitted.categories == ("c" * 255, "Lessons")
    person, names = fit(ContactEntry(given_name="g" * 256, city="Köln"))
    assert names == ("given_name",) and len(person.given_name) == 255 and person.city == "Köln"
