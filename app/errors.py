"""Errors whose message is meant for the officer or administrator as it stands."""


class UserFacingError(Exception):
    """An error with a message that says what is wrong and, where possible, what to do."""
