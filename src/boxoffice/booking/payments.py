"""Paying for a hold from the balance."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from boxoffice import sales_metrics
from boxoffice.booking import repository
from boxoffice.booking.schemas import PaymentOut, ReservationToPay, StoredAnswer
from boxoffice.clock import utcnow
from boxoffice.db import Database, is_unique_violation
from boxoffice.errors import (
    InsufficientBalance,
    PaymentNotFound,
    ReservationExpired,
    ReservationNotFound,
    ReservationNotPayable,
)
from boxoffice.idempotency.store import AnswerRecorder, answered_meanwhile
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.service import Admission
from boxoffice.showtime import require_on_sale
from boxoffice.statuses import PaymentStatus, ReservationStatus
from boxoffice.users import ledger
from boxoffice.users.standing import ensure_not_blocked

log = logging.getLogger("boxoffice.booking")


@dataclass(frozen=True)
class _Paid:
    payment: PaymentOut
    # The user's live holds left in the concert after this payment.
    holds_left: int


async def pay(
    db: Database,
    room: WaitingRoom,
    user_id: int,
    reservation_id: int,
    admission: Admission,
    recorder: AnswerRecorder | None = None,
) -> PaymentOut:
    """Debit the balance, record the payment and confirm the hold, all in one transaction. A
    short balance keeps a FAILED payment (and the answer, under an Idempotency-Key) and changes
    nothing else. On PostgreSQL a payment that goes through is one call of `boxoffice_pay()`;
    anything irregular, and every payment on SQLite, takes the steps one by one, which say
    why. A payment that leaves no live hold in the concert ends the admission: in its own
    transaction for the holds (see `tables.admission_end`), then in the waiting room."""
    paid = None
    if not db.is_sqlite:
        paid = await _pay_in_one_call(db, user_id, reservation_id, admission, recorder)
    if paid is None:
        paid = await _pay_step_by_step(db, user_id, reservation_id, admission, recorder)
    sales_metrics.count_sale(paid.payment.amount)
    if paid.holds_left == 0:
        await _give_up_place(room, user_id, admission.concert_id)
    return paid.payment


async def _pay_in_one_call(
    db: Database,
    user_id: int,
    reservation_id: int,
    admission: Admission,
    recorder: AnswerRecorder | None,
) -> _Paid | None:
    """The payment as one call; None when it is irregular and nothing was changed."""
    now = utcnow()
    answer = PaymentOut(
        id=0,
        reservation_id=reservation_id,
        user_id=user_id,
        amount=0,
        status=PaymentStatus.SUCCESS,
        created_at=now,
    )
    stored = None
    if recorder is not None:
        body = json.dumps(recorder.payload(answer))
        stored = StoredAnswer(recorder.claim_id, recorder.success_status, body)
    try:
        async with db.on_driver() as conn:
            call = await repository.pay_in_one_call(
                conn, user_id, reservation_id, admission, now, stored
            )
    except IntegrityError as error:
        _refuse_if_paid_already(error, reservation_id)
        raise
    if call.outcome == "CLAIM_LOST":
        raise answered_meanwhile()
    if call.outcome != "PAID":
        return None
    assert call.payment_id is not None and call.amount is not None
    assert call.holds_left is not None
    payment = answer.model_copy(update={"id": call.payment_id, "amount": call.amount})
    return _Paid(payment, call.holds_left)


async def _pay_step_by_step(
    db: Database,
    user_id: int,
    reservation_id: int,
    admission: Admission,
    recorder: AnswerRecorder | None,
) -> _Paid:
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
            if holds_left == 0:
                # The debit locked the user's row: no hold of theirs commits in between.
                await repository.end_admission(
                    work.conn, admission.token, user_id, target.concert_id, now
                )
            await work.commit(paid)
    except IntegrityError as error:
        _refuse_if_paid_already(error, reservation_id)
        raise
    return _Paid(paid, holds_left)


def _refuse_if_paid_already(error: IntegrityError, reservation_id: int) -> None:
    """The database's own "one successful payment per reservation" (never reached while the
    confirmation of the hold holds; it backs that up)."""
    if is_unique_violation(error, "uq_payment_success_reservation"):
        raise ReservationNotPayable(f"Reservation {reservation_id} is already paid.") from error


def _ensure_payable(target: ReservationToPay, now: datetime) -> None:
    require_on_sale(target.schedule_id, target.start_time, target.cancelled_at, now)
    if target.status == ReservationStatus.EXPIRED:
        raise ReservationExpired(f"The hold on reservation {target.id} has expired.")
    if target.status != ReservationStatus.TEMPORARY:
        raise ReservationNotPayable(
            f"Reservation {target.id} is {target.status.lower()}, not a live hold."
        )


async def _give_up_place(room: WaitingRoom, user_id: int, concert_id: int) -> None:
    """Give the user's place in line to the next person. The payment has committed, and with
    it the end of the admission for holds: a failure here only delays the next person until
    the admission expires by itself."""
    try:
        await room.finish(concert_id, user_id)
    except Exception:
        log.exception("could not end the waiting-room admission after a payment")


async def get_payment(db: Database, user_id: int, payment_id: int) -> PaymentOut:
    async with db.reading() as conn:
        found = await repository.find_payment(conn, payment_id, user_id)
    if found is None:
        raise PaymentNotFound(f"Payment {payment_id} does not exist.")
    return found
