"""Paying for a hold from the balance."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice import sales_metrics
from boxoffice.clock import utcnow
from boxoffice.db import Database, Record
from boxoffice.errors import (
    DomainError,
    InsufficientBalance,
    PaymentNotFound,
    ReservationExpired,
    ReservationNotFound,
    ReservationNotPayable,
)
from boxoffice.idempotency import store as idempotency
from boxoffice.idempotency.store import Claim
from boxoffice.payments import repository
from boxoffice.payments.schemas import PaymentOut
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.service import require_same_concert
from boxoffice.reservations import repository as reservations
from boxoffice.users import ledger

log = logging.getLogger("boxoffice.payments")


async def pay(
    db: Database,
    room: WaitingRoom,
    user_id: int,
    reservation_id: int,
    admitted_to: int,
    claim: Claim | None,
) -> PaymentOut:
    """Debit the balance, record the payment and confirm the hold, all in one transaction, for
    a user admitted to the concert `admitted_to`. A short balance records a FAILED payment and
    changes nothing else."""
    now = utcnow()
    async with db.transaction() as conn:
        target = await repository.find_reservation_to_pay(conn, reservation_id, user_id)
        if target is None:
            raise ReservationNotFound(f"Reservation {reservation_id} does not exist.")
        require_same_concert(admitted_to, target.concert_id)
        _ensure_payable(target, now)
        if await ledger.debit(conn, user_id, target.amount, now) is None:
            raise await _record_failure(conn, claim, user_id, target, now)
        # Getting here may have meant waiting for a lock (the write lock on SQLite, the user's
        # row on PostgreSQL): the hold must still be live now, not only when the request came.
        now = utcnow()
        if not await reservations.confirm_live_hold(conn, reservation_id, user_id, now):
            # It expired, was cancelled or was paid since we read it; the debit rolls back.
            fresh = await repository.find_reservation_to_pay(conn, reservation_id, user_id)
            assert fresh is not None
            _ensure_payable(fresh, now)
            raise ReservationNotPayable(f"Reservation {reservation_id} cannot be paid.")
        row = await repository.insert_payment(
            conn, user_id, reservation_id, target.amount, "SUCCESS", now
        )
        paid = PaymentOut.model_validate(row, from_attributes=True)
        await idempotency.remember(conn, claim, 201, paid)
        # The debit holds the user's row, so no hold of theirs can slip in before commit.
        holds_left = await reservations.count_live_holds_in_concert(
            conn, user_id, target.concert_id, now
        )
    sales_metrics.count_sale(paid.amount)
    if holds_left == 0:
        await _leave_waiting_room(room, user_id, target.concert_id)
    return paid


def _ensure_payable(target: Record, now: datetime) -> None:
    expired_hold = target.status == "TEMPORARY" and target.expires_at <= now
    if expired_hold or target.status == "EXPIRED":
        raise ReservationExpired(f"The hold on reservation {target.id} has expired.")
    if target.status != "TEMPORARY":
        raise ReservationNotPayable(
            f"Reservation {target.id} is {target.status.lower()}, not a live hold."
        )


async def _record_failure(
    conn: AsyncConnection, claim: Claim | None, user_id: int, target: Record, now: datetime
) -> DomainError:
    await repository.insert_payment(conn, user_id, target.id, target.amount, "FAILED", now)
    error = InsufficientBalance(
        f"Your balance is below the {target.amount} won this reservation costs."
    )
    await idempotency.remember_error(conn, claim, error)
    return error


async def _leave_waiting_room(room: WaitingRoom, user_id: int, concert_id: int) -> None:
    """The user holds nothing more in this concert: their place in line goes to the next
    person. The payment has committed by now: a failure here only delays that hand-over until
    the admission expires by itself."""
    try:
        await room.finish(concert_id, user_id)
    except Exception:
        log.exception("could not end the waiting-room admission after a payment")


async def get_payment(db: Database, user_id: int, payment_id: int) -> PaymentOut:
    async with db.reading() as conn:
        row = await repository.find_payment(conn, payment_id, user_id)
    if row is None:
        raise PaymentNotFound(f"Payment {payment_id} does not exist.")
    return PaymentOut.model_validate(row, from_attributes=True)
