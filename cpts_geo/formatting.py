"""French formatting of numbers and dates, shared by every interface."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

#: Time zone of the dates shown to users (the store keeps them in UTC).
LOCAL_TIME = ZoneInfo("Europe/Paris")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def fr_int(value: float) -> str:
    """``48454`` → ``48 454`` (narrow no-break space, French thousands separator)."""
    return f"{round(value):,}".replace(",", "\u202f")


def fr_percent(share: float | None, digits: int = 1) -> str:
    """``0.1599`` → ``16,0 %``; ``None`` → ``n.d.``. A share short of 1 (or above 0) never reads ``100,0 %``
    (or ``0,0 %``): more digits are given until it shows (``0.99973`` → ``99,97 %``)."""
    if share is None:
        return "n.d."
    while digits < 6 and ((0 < share < 1 and round(share * 100, digits) in (0, 100))):
        digits += 1
    return f"{share * 100:.{digits}f}".replace(".", ",") + "\u00a0%"


def fr_euros(amount: float) -> str:
    """``105000`` → ``105 000 €``."""
    return f"{fr_int(amount)}\u00a0€"


def fr_decimal(value: float | None, digits: int, missing: str = "n.d.") -> str:
    """``1234.5`` → ``1 234,5``; ``None`` or NaN → ``missing``."""
    if value is None or value != value:
        return missing
    return f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def fr_datetime(stamp: str) -> str:
    """A stored ISO date (UTC) in French local time: ``2026-12-06T03:28:03+00:00`` → ``6 décembre 2026, 04:28``
    (``1er`` for the first of a month; a date without zone is taken as UTC; text that is no date is given back)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp)
    local = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(LOCAL_TIME)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"
