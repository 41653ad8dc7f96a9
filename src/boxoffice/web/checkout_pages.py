"""Checkout: the held seat with the hold's countdown and the balance; pay or let it go."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from boxoffice.api import MAX_ID, Db
from boxoffice.booking import cancellation, holds, payments
from boxoffice.booking.schemas import ReservationOut
from boxoffice.catalog import service as catalog
from boxoffice.errors import DomainError, QueueTokenInvalid
from boxoffice.queue import service as queue
from boxoffice.queue.gate import Room
from boxoffice.statuses import ReservationStatus
from boxoffice.users import service as users
from boxoffice.web import line, messages
from boxoffice.web.rendering import gettext_for, render
from boxoffice.web.routing import CsrfChecked, FanId, PageRoute, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ReservationId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/checkout/{reservation_id}")
async def checkout(
    request: Request, reservation_id: ReservationId, user_id: FanId, db: Db
) -> Response:
    reservation = await holds.get_reservation(db, user_id, reservation_id)
    if reservation.status == ReservationStatus.CONFIRMED:
        return redirect("/tickets")
    return await _checkout_page(request, db, user_id, reservation)


async def _checkout_page(
    request: Request,
    db: Db,
    user_id: int,
    reservation: ReservationOut,
    error: str | None = None,
    status: int = 200,
    rejoin: bool = False,
) -> Response:
    schedule = await catalog.get_schedule(db, reservation.schedule_id)
    concert = await catalog.get_concert(db, schedule.concert_id)
    balance = await users.get_balance(db, user_id)
    return render(
        request,
        "checkout.html",
        status=status,
        reservation=reservation,
        schedule=schedule,
        concert=concert,
        balance=balance.balance,
        error=error,
        rejoin=rejoin,
    )


@router.post("/checkout/{reservation_id}/pay", dependencies=[CsrfChecked])
async def pay(
    request: Request, reservation_id: ReservationId, user_id: FanId, db: Db, room: Room
) -> Response:
    reservation = await holds.get_reservation(db, user_id, reservation_id)
    schedule = await catalog.get_schedule(db, reservation.schedule_id)
    token = line.token_for(request, schedule.concert_id)
    try:
        admission = await queue.admission(db, room, token, user_id)
        await payments.pay(db, room, user_id, reservation_id, admission)
    except DomainError as error:
        fresh = await holds.get_reservation(db, user_id, reservation_id)
        if fresh.status == ReservationStatus.CONFIRMED:
            # A second click after the first one paid: nothing more to do.
            return redirect("/tickets")
        text = messages.explain(error, gettext_for(request))
        ended = isinstance(error, QueueTokenInvalid)
        if ended:
            text = gettext_for(request)(messages.ADMISSION_ENDED)
        return await _checkout_page(
            request, db, user_id, fresh, error=text, status=error.status, rejoin=ended
        )
    return redirect(f"/tickets?paid={reservation_id}")


@router.post("/checkout/{reservation_id}/release", dependencies=[CsrfChecked])
async def release(
    request: Request, reservation_id: ReservationId, user_id: FanId, db: Db
) -> Response:
    reservation = await holds.get_reservation(db, user_id, reservation_id)
    schedule = await catalog.get_schedule(db, reservation.schedule_id)
    with contextlib.suppress(DomainError):  # Expired meanwhile: the seat is free either way.
        await cancellation.cancel(db, user_id, reservation_id)
    return redirect(f"/concerts/{schedule.concert_id}/seats?date={schedule.id}")
