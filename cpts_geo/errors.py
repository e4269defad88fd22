"""Errors carrying a French message meant for the end user."""

from cpts_geo.user_text import terminal_text


class CptsGeoError(Exception):
    """Base error: ``str(err)`` is a French sentence that names the problem, safe to show (:func:`terminal_text`:
    a file, layer or column name holding a terminal escape or a bidi override is shown with placeholders)."""

    def __str__(self) -> str:
        return terminal_text(super().__str__())


class InputError(CptsGeoError):
    """The user's input (codes, file, upload) cannot be used as given."""


class DataError(CptsGeoError):
    """The reference data (mirror, download, bundle) is missing or malformed."""
