"""Errors a user can act on: the CLI prints the message and exits non-zero, with no traceback."""


class PlmprofError(Exception):
    """Base of every error whose message is meant for the user as it stands."""


class InvalidInputError(PlmprofError):
    """A value, file or flag the user gave is malformed or out of range."""


class UnknownModelError(InvalidInputError):
    """A model id that the catalog does not hold."""


class UnsupportedError(PlmprofError):
    """A device, dtype or optimization combination that cannot run here."""
