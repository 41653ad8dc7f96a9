"""The service's one notion of "now". Every process compares times with it, never the database's."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


# The latest time a show or a sale opening may be set to: a year short of the calendar's end, so
# that such a time shown in any zone, or a show's end after its start, still fits in a datetime.
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)
