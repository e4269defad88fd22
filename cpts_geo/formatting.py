"""French formatting of numbers, shared by every interface."""


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
