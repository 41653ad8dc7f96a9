from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from boxoffice.api import AppSettings, Db, path_id, problems
from boxoffice.auth import AdminOnly, CurrentUserId
from boxoffice.tickets import service
from boxoffice.tickets.schemas import CheckInIn, CheckInOut, TicketOut

router = APIRouter(tags=["tickets"])
admin = APIRouter(tags=["admin"], dependencies=[AdminOnly])

ReservationId = Annotated[int, path_id("Reservation id")]


@router.get("/reservations/{reservation_id}/ticket", responses=problems(401, 404, 409))
async def get_ticket(
    reservation_id: ReservationId, user_id: CurrentUserId, db: Db, settings: AppSettings
) -> TicketOut:
    """The e-ticket of a confirmed reservation: its code and the code as a QR symbol (SVG)."""
    return await service.get_ticket(db, settings, user_id, reservation_id)


@admin.post("/admin/checkins", responses=problems(401, 404, 409))
async def check_in(body: CheckInIn, db: Db, settings: AppSettings) -> CheckInOut:
    """Let a ticket in at the door: valid once; a second scan is 409 TICKET_ALREADY_USED."""
    return await service.check_in(db, settings, body.code)
