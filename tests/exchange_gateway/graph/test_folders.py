from exchange_gateway.graph.folders import Folder, FolderListings

KEY = ("https://graph.example/v1.0/users/anna@club.example", "anna@club.example", "calendar")


def test_a_listing_is_trusted_for_its_max_age_and_names_compare_as_exchanges():
    now = [0.0]
    listings = FolderListings(max_age=60, clock=lambda: now[0])
    assert listings.find(KEY, "Lessons") is None
    listings.keep(KEY, [Folder("F1", "Lessons")])
    assert listings.find(KEY, " lessons ") == Folder("F1", "Lessons")
    now[0] = 61.0
    assert listings.find(KEY, "Lessons") is None


def test_a_forgotten_listing_is_read_again():
    listings = FolderListings()
    listings.keep(KEY, [Folder("F1", "Lessons")])
    listings.forget(KEY)
    assert listings.find(KEY, "Lessons") is None
