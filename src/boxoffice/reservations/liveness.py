"""What makes a reservation "live". A TEMPORARY hold past its `expires_at` is dead at once,
whether or not the sweeper has marked it yet; every reader and writer asks this module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select

from boxoffice.tables import reservation, seat


def is_live(now: datetime, table: Any = reservation) -> ColumnElement[bool]:
    return or_(
        table.c.status == "CONFIRMED",
        and_(table.c.status == "TEMPORARY", table.c.expires_at > now),
    )


def seat_is_taken(now: datetime) -> ColumnElement[bool]:
    """True for a `seat` row covered by a live reservation. The seat's own status is checked
    first, so a free seat never costs a lookup."""
    return and_(
        seat.c.status == "UNAVAILABLE",
        exists(select(reservation.c.id).where(reservation.c.seat_id == seat.c.id, is_live(now))),
    )
