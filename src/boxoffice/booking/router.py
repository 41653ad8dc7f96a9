from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from boxoffice.api import AppSettings, Db, path_id, problems
from boxoffice.auth import CurrentUserId
from boxoffice.booking import cancellation, holds, payments
from boxoffice.booking.schemas import HoldIn, PayIn, PaymentOut, ReservationOut
from boxoffice.idempotency.http import Idempotent
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.queue.gate import Admitted, Room
from boxoffice.rate_limits import HoldRateLimit

router = APIRouter()

ReservationId = Annotated[int, path_id("Reservation id")]
PaymentId = Annotated[int, path_id("Payment id")]


@router.post(
    "/reservations",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 409, 429),
    dependencies=[HoldRateLimit],
    tags=["reservations"],
)
async def hold_seat(
    body: HoldIn, user_id: CurrentUserId, db: Db, settings: AppSettings, admission: Admitted
) -> ReservationOut:
    return await holds.hold(db, settings, user_id, body.seat_id, admission)


@router.get("/reservations/{reservation_id}", responses=problems(401, 404), tags=["reservations"])
async def get_reservation(
    reservation_id: ReservationId, user_id: CurrentUserId, db: Db
) -> ReservationOut:
    return await holds.get_reservation(db, user_id, reservation_id)


@router.post(
    "/reservations/{reservation_id}/cancel",
    responses=problems(401, 404, 409),
    tags=["reservations"],
)
async def cancel_reservation(
    reservation_id: ReservationId, user_id: CurrentUserId, db: Db
) -> ReservationOut:
    return await cancellation.cancel(db, user_id, reservation_id)


@router.get("/users/me/reservations", responses=problems(401), tags=["reservations"])
async def my_reservations(
    user_id: CurrentUserId, db: Db, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[ReservationOut]:
    return await holds.list_reservations(db, user_id, page)


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 409),
    tags=["payments"],
)
async def pay(
    body: PayIn,
    user_id: CurrentUserId,
    db: Db,
    room: Room,
    # The key before the admission: a retried payment gets its first answer even though that
    # payment has since ended the admission.
    recorder: Idempotent,
    admission: Admitted,
) -> PaymentOut:
    return await payments.pay(db, room, user_id, body.reservation_id, admission, recorder)


@router.get("/payments/{payment_id}", responses=problems(401, 404), tags=["payments"])
async def get_payment(payment_id: PaymentId, user_id: CurrentUserId, db: Db) -> PaymentOut:
    return await payments.get_payment(db, user_id, payment_id)
