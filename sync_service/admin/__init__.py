"""What the admin commands do to the club database, apart from the command line itself.

Every function runs in one transaction (the caller's `db.atomic()`), validates everything before
writing anything, and raises AdminError with a sentence for the user.
"""


class AdminError(Exception):
    """Refused: the message says why, in words for the person at the keyboard."""
