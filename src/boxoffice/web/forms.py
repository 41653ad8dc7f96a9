"""Reading what people type into the operator's forms: whole numbers and local times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from boxoffice.clock import LATEST_TIME


def whole_number(text: str, low: int, high: int) -> int | None:
    """A whole number in [low, high]; people write 50,000 or 50 000 as often as 50000. Only
    ASCII digits: `isdigit()` alone also takes "²" (which `int` refuses) and full-width digits."""
    digits = text.strip().replace(",", "").replace(" ", "").replace("_", "")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 15:
        return None
    value = int(digits)
    return value if low <= value <= high else None


def local_time(text: str, zone: ZoneInfo) -> datetime | None:
    """A `datetime-local` field's value, read in the person's zone, as UTC; None when it is not
    one, or lies past `LATEST_TIME`."""
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M")
    except ValueError:
        try:
            naive = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
    try:
        moment = naive.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # the first hours of year 1, east of UTC
        return None
    return moment if moment < LATEST_TIME else None
