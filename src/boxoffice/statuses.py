"""Every status name the service stores, in one place. The migrations spell them out as they
were when each ran; everything else names them through these enums."""

from __future__ import annotations

from enum import StrEnum


class ScheduleStatus(StrEnum):
    """A schedule as buyers see it: on sale until it starts, then closed; or cancelled."""

    ON_SALE = "ON_SALE"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class SeatStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    UNAVAILABLE = "UNAVAILABLE"


class ReservationStatus(StrEnum):
    TEMPORARY = "TEMPORARY"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class PaymentStatus(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class EntryType(StrEnum):
    """Kinds of point-history entry: money in (CHARGE, REFUND) and out (USE)."""

    CHARGE = "CHARGE"
    USE = "USE"
    REFUND = "REFUND"


class TicketStatus(StrEnum):
    """A waiting-room ticket: in line, admitted, or done."""

    WAITING = "WAITING"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"


# The reservation statuses that occupy a seat (a TEMPORARY one only until it expires: see
# `boxoffice.liveness`). The unique index of "one seat, one owner" is over these.
SEAT_OCCUPYING = (ReservationStatus.TEMPORARY, ReservationStatus.CONFIRMED)


def sql_in(column: str, *values: StrEnum) -> str:
    """`column IN ('A', 'B')`, for check constraints and partial indexes."""
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"
