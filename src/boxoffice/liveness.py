"""What makes a reservation live, in one place: a CONFIRMED booking is, and a TEMPORARY hold is
until its `expires_at`. A hold past its expiry is EXPIRED at once, whether or not the sweeper has
marked it yet. Queries, services and the audit all ask this module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, or_, select

from boxoffice.statuses import ReservationStatus, SeatStatus
from boxoffice.tables import reservation, seat

# `now` is a datetime, or a bound parameter in statements built once.
Now = datetime | ColumnElement[Any]


def is_live(now: Now, table: Any = reservation) -> ColumnElement[bool]:
    return or_(table.c.status == ReservationStatus.CONFIRMED, is_live_hold(now, table))


def is_live_hold(now: Now, table: Any = reservation) -> ColumnElement[bool]:
    return and_(table.c.status == ReservationStatus.TEMPORARY, table.c.expires_at > now)


def is_expired_hold(now: Now, table: Any = reservation) -> ColumnElement[bool]:
    """A hold whose time is up that still reads TEMPORARY (the sweeper has not got to it)."""
    return and_(table.c.status == ReservationStatus.TEMPORARY, table.c.expires_at <= now)


def shown_status(now: Now, table: Any = reservation) -> ColumnElement[str]:
    """The status as a reader must see it: an expired hold reads EXPIRED."""
    return case(
        (is_expired_hold(now, table), ReservationStatus.EXPIRED.value), else_=table.c.status
    )


def seat_is_taken(now: Now) -> ColumnElement[bool]:
    """True for a `seat` row covered by a live reservation. The seat's own status is checked
    first, so a free seat never costs a lookup."""
    return and_(
        seat.c.status == SeatStatus.UNAVAILABLE,
        exists(select(reservation.c.id).where(reservation.c.seat_id == seat.c.id, is_live(now))),
    )


def status_at(status: str, expires_at: datetime | None, now: datetime) -> ReservationStatus:
    """The same rule for a reservation already read into Python."""
    if status == ReservationStatus.TEMPORARY and expires_at is not None and expires_at <= now:
        return ReservationStatus.EXPIRED
    return ReservationStatus(status)
