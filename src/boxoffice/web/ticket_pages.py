"""My tickets: seats on hold with the way to their checkout, confirmed bookings with their QR
code, cancelled ones with their refund."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from boxoffice.api import MAX_ID, AppSettings, Db
from boxoffice.booking import cancellation, holds
from boxoffice.booking.refunded import refunded_amounts
from boxoffice.booking.schemas import ReservationOut
from boxoffice.catalog import service as catalog
from boxoffice.catalog.schemas import ConcertOut, ScheduleOut
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.errors import DomainError
from boxoffice.pagination import PageRequest
from boxoffice.statuses import ReservationStatus
from boxoffice.web import messages, tickets_qr
from boxoffice.web.rendering import gettext_for, render
from boxoffice.web.routing import CsrfChecked, FanId, PageRoute, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ReservationId = Annotated[int, Path(ge=1, le=MAX_ID)]
SHOWN = 100


@dataclass(frozen=True)
class TicketView:
    reservation: ReservationOut
    schedule: ScheduleOut
    concert: ConcertOut
    refunded: int | None
    e_ticket: tickets_qr.ETicket | None
    upcoming: bool


@router.get("/tickets")
async def my_tickets(
    request: Request,
    user_id: FanId,
    db: Db,
    settings: AppSettings,
    paid: int | None = None,
    cancelled: int | None = None,
) -> Response:
    views = await _tickets(db, settings, user_id)
    gettext = gettext_for(request)
    notice = notice_query = None
    if paid is not None:
        notice, notice_query = gettext(messages.PAID), "paid"
    refund = next((v.refunded for v in views if v.reservation.id == cancelled), None)
    if refund is not None:
        notice = gettext(messages.CANCELLED) % {"amount": f"{refund:,}"}
        notice_query = "cancelled"
    return render(request, "tickets.html", tickets=views, notice=notice, notice_query=notice_query)


@router.post("/tickets/{reservation_id}/cancel", dependencies=[CsrfChecked])
async def cancel_ticket(
    request: Request,
    reservation_id: ReservationId,
    user_id: FanId,
    db: Db,
    settings: AppSettings,
) -> Response:
    try:
        await cancellation.cancel(db, user_id, reservation_id)
    except DomainError as error:
        return render(
            request,
            "tickets.html",
            status=error.status,
            tickets=await _tickets(db, settings, user_id),
            error=messages.explain(error, gettext_for(request)),
        )
    return redirect(f"/tickets?cancelled={reservation_id}")


async def _tickets(db: Db, settings: Settings, user_id: int) -> list[TicketView]:
    """Live holds (a fan who left the checkout finds it here), confirmed bookings, and
    cancelled ones that had been paid (with their refund); holds that were let go or expired
    are not tickets."""
    page = await holds.list_reservations(db, user_id, PageRequest(limit=SHOWN, after=None))
    cancelled = [r.id for r in page.items if r.status == ReservationStatus.CANCELLED]
    refunds = await refunded_amounts(db, user_id, cancelled)
    kept = (ReservationStatus.TEMPORARY, ReservationStatus.CONFIRMED)
    shown = [r for r in page.items if r.status in kept or r.id in refunds]
    schedules: dict[int, ScheduleOut] = {}
    concerts: dict[int, ConcertOut] = {}
    views: list[TicketView] = []
    now = utcnow()
    for reservation in shown:
        if reservation.schedule_id not in schedules:
            schedules[reservation.schedule_id] = await catalog.get_schedule(
                db, reservation.schedule_id
            )
        schedule = schedules[reservation.schedule_id]
        if schedule.concert_id not in concerts:
            concerts[schedule.concert_id] = await catalog.get_concert(db, schedule.concert_id)
        e_ticket = None
        if reservation.status == ReservationStatus.CONFIRMED:
            e_ticket = await tickets_qr.e_ticket(db, settings, user_id, reservation.id)
        views.append(
            TicketView(
                reservation=reservation,
                schedule=schedule,
                concert=concerts[schedule.concert_id],
                refunded=refunds.get(reservation.id),
                e_ticket=e_ticket,
                upcoming=schedule.start_time > now,
            )
        )
    return views
