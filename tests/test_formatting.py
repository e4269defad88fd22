"""French formatting of dates (cpts_geo.formatting): what users read instead of the stored ISO UTC stamps."""

import pytest

from cpts_geo.formatting import fr_datetime


@pytest.mark.parametrize("stamp, shown", [
    ("2026-12-06T03:28:03+00:00", "6 décembre 2026, 04:28"),       # winter: UTC+1
    ("2026-07-14T10:05:00+00:00", "14 juillet 2026, 12:05"),       # summer: UTC+2
    ("2026-03-29T00:59:59+00:00", "29 mars 2026, 01:59"),          # the hour before the change to summer time…
    ("2026-03-29T01:00:00+00:00", "29 mars 2026, 03:00"),          # … and after it
    ("2026-07-31T22:30:00+00:00", "1er août 2026, 00:30"),         # next day in Paris, « 1er »
    ("2026-01-01", "1er janvier 2026, 01:00"),                      # saved before the stamps had a zone: UTC
    ("2026-02-10T09:00:00+09:00", "10 février 2026, 01:00"),       # another zone
    ("modifié à la main", "modifié à la main"),                     # not a date: given back
])
def test_dates_in_french_local_time(stamp, shown):
    assert fr_datetime(stamp) == shown
