"""Errors carrying a French message meant for the end user."""


class CptsGeoError(Exception):
    """Base error: ``str(err)`` is a French sentence that names the problem."""


class InputError(CptsGeoError):
    """The user's input (codes, file, upload) cannot be used as given."""


class DataError(CptsGeoError):
    """The reference data (mirror, download, bundle) is missing or malformed."""
