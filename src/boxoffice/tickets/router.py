from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from boxoffice.api import AppSettings, Db, path_id
from boxoffice.auth import AdminOnly, CurrentUserId
from boxoffice.errors import (
    ReservationNotFound,
    TicketAlreadyUsed,
    TicketNotFound,
    TicketNotIssued,
)
from boxoffice.problems import DocumentedRoute, answers
from boxoffice.tickets import service
from boxoffice.tickets.schemas import CheckInIn, CheckInOut, ETicketOut

router = APIRouter(tags=["tickets"], route_class=DocumentedRoute)
admin = APIRouter(tags=["admin"], dependencies=[AdminOnly], route_class=DocumentedRoute)

ReservationId = Annotated[int, path_id("Reservation id")]


@router.get("/reservations/{reservation_id}/ticket", summary="My e-ticket")
@answers(ReservationNotFound, TicketNotIssued)
async def get_ticket(
    reservation_id: ReservationId, user_id: CurrentUserId, db: Db, settings: AppSettings
) -> ETicketOut:
    """The e-ticket of a confirmed reservation: its code and the code as a QR symbol (SVG)."""
    ticket = await service.get_ticket(db, settings, user_id, reservation_id)
    return ETicketOut(reservation_id=ticket.reservation_id, code=ticket.code, qr_svg=ticket.qr_svg)


@admin.post("/admin/checkins", summary="Check a ticket in")
@answers(TicketNotFound, TicketAlreadyUsed)
async def check_in(body: CheckInIn, db: Db, settings: AppSettings) -> CheckInOut:
    """Let a ticket in at the door: valid once; a second scan is 409 TICKET_ALREADY_USED."""
    return await service.check_in(db, settings, body.code)
