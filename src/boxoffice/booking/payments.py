"""Paying for a hold from the balance."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from boxoffice import sales_metrics
from boxoffice.booking import repository
from boxoffice.booking.schemas import PaymentOut, ReservationToPay
from boxoffice.clock import utcnow
from boxoffice.db import Database, is_unique_violation
from boxoffice.errors import (
    InsufficientBalance,
    PaymentNotFound,
    ReservationExpired,
    ReservationNotFound,
    ReservationNotPayable,
)
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.service import Admission
from boxoffice.showtime import require_on_sale
from boxoffice.statuses import PaymentStatus, ReservationStatus
from boxoffice.unit_of_work import Recorder
from boxoffice.users import ledger
from boxoffice.users.standing import ensure_not_blocked

log = logging.getLogger("boxoffice.booking")


async def pay(
    db: Database,
    room: WaitingRoom,
    user_id: int,
    reservation_id: int,
    admission: Admission,
    recorder: Recorder | None = None,
) -> PaymentOut:
    """Debit the balance, record the payment and confirm the hold, all in one unit of work.
    A short balance keeps a FAILED payment (and the answer, under an Idempotency-Key) and
    changes nothing else."""
    now = utcnow()
    try:
        async with db.unit_of_work(recorder) as work:
            target = await repository.find_reservation_to_pay(
                work.conn, reservation_id, user_id, now
            )
            if target is None:
                raise ReservationNotFound(f"Reservation {reservation_id} does not exist.")
            admission.require(target.concert_id)
            ensure_not_blocked(user_id, target.owner_blocked_at)
            _ensure_payable(target, now)
            if await ledger.debit(work.conn, user_id, target.amount, now) is None:
                await repository.insert_payment(
                    work.conn, user_id, target.id, target.amount, PaymentStatus.FAILED, now
                )
                short = InsufficientBalance(
                    f"Your balance is below the {target.amount} won this reservation costs."
                )
                await work.commit(short)
                raise short
            # Getting here may have meant waiting for a lock (the write lock on SQLite, the
            # user's row on PostgreSQL): the hold must still be live and its show on sale now,
            # not only when the request came.
            now = utcnow()
            if not await repository.confirm_live_hold(work.conn, reservation_id, user_id, now):
                # It expired, was cancelled or paid, or its show closed since we read it; the
                # debit is not kept.
                fresh = await repository.find_reservation_to_pay(
                    work.conn, reservation_id, user_id, now
                )
                assert fresh is not None
                _ensure_payable(fresh, now)
                raise ReservationNotPayable(f"Reservation {reservation_id} cannot be paid.")
            paid = await repository.insert_payment(
                work.conn, user_id, reservation_id, target.amount, PaymentStatus.SUCCESS, now
            )
            holds_left = await repository.count_live_holds_in_concert(
                work.conn, user_id, target.concert_id, now
            )
            await work.commit(paid)
    except IntegrityError as error:
        # The database's own "one successful payment per reservation" (never reached while the
        # confirmation above holds; it backs that up).
        if is_unique_violation(error, "uq_payment_success_reservation"):
            raise ReservationNotPayable(f"Reservation {reservation_id} is already paid.") from error
        raise
    sales_metrics.count_sale(paid.amount)
    if holds_left == 0:
        await _hand_over_admission(db, room, user_id, target.concert_id)
    return paid


def _ensure_payable(target: ReservationToPay, now: datetime) -> None:
    require_on_sale(target.schedule_id, target.start_time, target.cancelled_at, now)
    if target.status == ReservationStatus.EXPIRED:
        raise ReservationExpired(f"The hold on reservation {target.id} has expired.")
    if target.status != ReservationStatus.TEMPORARY:
        raise ReservationNotPayable(
            f"Reservation {target.id} is {target.status.lower()}, not a live hold."
        )


async def _hand_over_admission(
    db: Database, room: WaitingRoom, user_id: int, concert_id: int
) -> None:
    """The user held nothing more in this concert when the payment committed: their place in
    line goes to the next person. A hold of theirs may have committed since, so the count is
    taken again, and the admission ended, with the user's row locked: a hold takes that lock
    before it asks whether the admission still holds (`Admission.confirm`), so it either
    committed before this count or finds the admission ended. The payment has committed by
    now: a failure here only delays the hand-over until the admission expires by itself."""
    try:
        async with db.unit_of_work() as work:
            await repository.lock_user(work.conn, user_id)
            if not await repository.count_live_holds_in_concert(
                work.conn, user_id, concert_id, utcnow()
            ):
                await room.finish(concert_id, user_id, within=work.conn)
            await work.commit()
    except Exception:
        log.exception("could not end the waiting-room admission after a payment")


async def get_payment(db: Database, user_id: int, payment_id: int) -> PaymentOut:
    async with db.reading() as conn:
        found = await repository.find_payment(conn, payment_id, user_id)
    if found is None:
        raise PaymentNotFound(f"Payment {payment_id} does not exist.")
    return found
