"""Use cases: show a fan their ticket; check a ticket in at the door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from boxoffice import sales_metrics
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.errors import ReservationNotFound, TicketAlreadyUsed, TicketNotFound, TicketNotIssued
from boxoffice.statuses import ReservationStatus
from boxoffice.tickets import repository
from boxoffice.tickets.codes import reservation_id_of, ticket_code
from boxoffice.tickets.qr import qr_svg
from boxoffice.tickets.schemas import CheckInOut


@dataclass(frozen=True)
class Ticket:
    """A fan's ticket: its code, the code as a QR symbol, and when it let someone in."""

    reservation_id: int
    code: str
    qr_svg: str
    checked_in_at: datetime | None


async def get_ticket(db: Database, settings: Settings, user_id: int, reservation_id: int) -> Ticket:
    async with db.reading() as conn:
        row = await repository.find_ticket(conn, reservation_id)
    if row is None or row.user_id != user_id:
        raise ReservationNotFound(f"Reservation {reservation_id} does not exist.")
    if row.status != ReservationStatus.CONFIRMED:
        raise TicketNotIssued(
            f"Reservation {reservation_id} is not confirmed, so it has no ticket."
        )
    code = ticket_code(settings, reservation_id)
    return Ticket(reservation_id, code, qr_svg(code), row.checked_in_at)


async def check_in(db: Database, settings: Settings, code: str) -> CheckInOut:
    """Let the ticket in, once. Each scan is counted by its verdict once its transaction has
    ended, whichever door (the API or the check-in page) made it."""
    try:
        entered = await _let_in(db, settings, code)
    except TicketAlreadyUsed:
        sales_metrics.count_checkin("already_used")
        raise
    except TicketNotFound:
        sales_metrics.count_checkin("not_found")
        raise
    sales_metrics.count_checkin("admitted")
    return entered


async def _let_in(db: Database, settings: Settings, code: str) -> CheckInOut:
    reservation_id = reservation_id_of(settings, code)
    if reservation_id is None:
        raise TicketNotFound("No ticket has this code.")
    async with db.transaction() as conn:
        checked_in_at = await repository.mark_checked_in(conn, reservation_id, utcnow())
        row = await repository.find_ticket(conn, reservation_id)
    if row is None or row.status != ReservationStatus.CONFIRMED:
        # A genuine code of a reservation cancelled since (or never paid): not a ticket.
        raise TicketNotFound("No valid ticket has this code.")
    if checked_in_at is None:
        raise TicketAlreadyUsed(
            f"This ticket was checked in at {_iso(row.checked_in_at)}.",
            checked_in_at=_iso(row.checked_in_at),
        )
    return CheckInOut(
        reservation_id=row.id,
        seat_number=row.seat_number,
        schedule_id=row.schedule_id,
        checked_in_at=checked_in_at,
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
