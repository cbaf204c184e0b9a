import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_service.filters import ExclusionFilter, FilterError, is_excluded


@pytest.mark.parametrize(
    "pattern, title, excluded",
    [
        # the original's four examples
        ("Test", "A Test round", True),
        ("Test", "Probe", False),
        ("*Test", "Greenfee test", True),
        ("*Test", "Test of greenfee", False),
        ("Test*", "Test of greenfee", True),
        ("Test*", "Greenfee test", False),
        ("Test*Test", "Test and Test", True),
        ("Test*Test", "Test round", False),  # our reading: starts AND ends with
        ("Test*Test", "Round test", False),
        # case is ignored, both ways
        ("test", "UNIT TEST", True),
        ("TEST*", "testing", True),
        ("*Straße", "Kurs STRASSE", True),  # casefold: ß matches ss
        # the prefix and suffix may not overlap
        ("ab*ba", "aba", False),
        ("ab*ba", "abba", True),
        ("  Lesson  ", "Private lesson", True),  # trimmed
    ],
)
def test_matching(pattern, title, excluded):
    assert ExclusionFilter.parse(pattern).matches(title) is excluded


@pytest.mark.parametrize(
    "pattern, complaint",
    [
        ("", "may not be empty"),
        ("   ", "may not be empty"),
        ("a**", "2 '*'"),
        ("*a*", "2 '*'"),
        ("Test*Test*", "2 '*'"),
        ("*", "would exclude everything"),
    ],
)
def test_refused_patterns(pattern, complaint):
    with pytest.raises(FilterError, match=complaint):
        ExclusionFilter.parse(pattern)


def test_trimmed_pattern_is_kept():
    assert ExclusionFilter.parse("  *Test ").pattern == "*Test"


def test_is_excluded_by_any():
    filters = [ExclusionFilter.parse("Test*"), ExclusionFilter.parse("*Private")]
    assert is_excluded("Test", filters)
    assert is_excluded("very private", filters)
    assert not is_excluded("Tee time", filters)
    assert not is_excluded("anything", [])


words = st.text(alphabet="abcXYZ ", min_size=1, max_size=6).filter(lambda w: w.strip())


@given(words, st.text(alphabet="abcXYZ ", max_size=10))
def test_contains_agrees_with_a_plain_search(word, title):
    assert ExclusionFilter.parse(word).matches(title) == (word.strip().casefold() in title.casefold())


@given(words, words, st.text(alphabet="abcXYZ ", max_size=10))
def test_star_agrees_with_a_glob(prefix, suffix, title):
    import fnmatch

    pattern = f"{prefix.strip()}*{suffix.strip()}"
    expected = fnmatch.fnmatchcase(title.casefold(), pattern.casefold().replace("[", "[[]"))
    assert ExclusionFilter.parse(pattern).matches(title) == expected
