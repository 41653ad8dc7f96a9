from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from boxoffice.api import AppSettings, Db, path_id
from boxoffice.auth import CurrentUserId
from boxoffice.booking import cancellation, holds, payments
from boxoffice.booking.schemas import HoldIn, PayIn, PaymentOut, ReservationOut
from boxoffice.errors import (
    HoldLimitReached,
    InsufficientBalance,
    PaymentNotFound,
    ReservationExpired,
    ReservationNotCancellable,
    ReservationNotFound,
    ReservationNotPayable,
    ScheduleClosed,
    SeatNotFound,
    SeatUnavailable,
    UserBlocked,
    UserNotFound,
)
from boxoffice.idempotency.http import Idempotent
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.problems import DocumentedRoute, answers
from boxoffice.queue.gate import Admitted, AdmittedToHold, Room

router = APIRouter(route_class=DocumentedRoute)

ReservationId = Annotated[int, path_id("Reservation id")]
PaymentId = Annotated[int, path_id("Payment id")]


@router.post(
    "/reservations",
    status_code=status.HTTP_201_CREATED,
    summary="Hold a seat",
    tags=["reservations"],
)
@answers(UserNotFound, UserBlocked, SeatNotFound, SeatUnavailable, HoldLimitReached, ScheduleClosed)
async def hold_seat(
    body: HoldIn, admission: AdmittedToHold, db: Db, settings: AppSettings
) -> ReservationOut:
    """Hold a seat for BOXOFFICE_HOLD_TTL_SECONDS: a TEMPORARY reservation to pay before its
    `expires_at`. Needs an ACTIVE queue token for the seat's concert, and a schedule on sale
    (not started, not cancelled)."""
    return await holds.hold(db, settings, admission.user_id, body.seat_id, admission)


@router.get("/reservations/{reservation_id}", summary="A reservation", tags=["reservations"])
@answers(ReservationNotFound)
async def get_reservation(
    reservation_id: ReservationId, user_id: CurrentUserId, db: Db
) -> ReservationOut:
    """One of the signed-in user's reservations; a hold past its `expires_at` shows as
    EXPIRED."""
    return await holds.get_reservation(db, user_id, reservation_id)


@router.post(
    "/reservations/{reservation_id}/cancel",
    summary="Cancel a reservation",
    tags=["reservations"],
)
@answers(ReservationNotFound, ReservationNotCancellable)
async def cancel_reservation(
    reservation_id: ReservationId, user_id: CurrentUserId, db: Db
) -> ReservationOut:
    """Give up a hold, or cancel a confirmed reservation before the show: the seat is freed
    and a paid amount is refunded in full to the balance."""
    return await cancellation.cancel(db, user_id, reservation_id)


@router.get("/users/me/reservations", summary="My reservations", tags=["reservations"])
async def my_reservations(
    user_id: CurrentUserId, db: Db, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[ReservationOut]:
    """The signed-in user's reservations, newest first."""
    return await holds.list_reservations(db, user_id, page)


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay for a hold",
    tags=["payments"],
)
@answers(
    UserBlocked,
    ReservationNotFound,
    ReservationExpired,
    ReservationNotPayable,
    ScheduleClosed,
    InsufficientBalance,
)
async def pay(
    body: PayIn,
    db: Db,
    room: Room,
    # The key before the admission: a retried payment gets its first answer even though that
    # payment has since ended the admission.
    recorder: Idempotent,
    admission: Admitted,
) -> PaymentOut:
    """Pay for a live hold from the balance: the reservation becomes CONFIRMED. Nothing is taken
    once the show has started or was cancelled (SCHEDULE_CLOSED), whatever was held before.
    Once no other hold in the concert is left, the queue token expires and the place goes to
    the next in line."""
    return await payments.pay(db, room, admission.user_id, body.reservation_id, admission, recorder)


@router.get("/payments/{payment_id}", summary="A payment", tags=["payments"])
@answers(PaymentNotFound)
async def get_payment(payment_id: PaymentId, user_id: CurrentUserId, db: Db) -> PaymentOut:
    """One of the signed-in user's payments, SUCCESS, FAILED or CANCELLED."""
    return await payments.get_payment(db, user_id, payment_id)
