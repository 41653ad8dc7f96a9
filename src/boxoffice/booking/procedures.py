"""The hold and the payment as PostgreSQL functions: each is one round trip and its own
transaction, instead of a transaction of five (a hold) or a dozen (a payment) statements.

They take the same locks in the same order as the step-by-step use cases in `holds` and
`payments` (which SQLite runs, and which a payment takes whenever anything is irregular), and
they ask the same rules: the liveness of a hold and the on-sale test are rendered here from
`boxoffice.liveness` and `boxoffice.showtime`, the status names come from `boxoffice.statuses`.
A function never raises for a refusal; it answers an outcome and changes nothing, and the
service raises the error.

They are code, not schema: every `boxoffice migrate` installs this version's functions
(`CREATE OR REPLACE`), so the database runs the rules of the service that migrated it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, literal_column
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from boxoffice.liveness import is_expired_hold, is_live_hold
from boxoffice.showtime import is_on_sale
from boxoffice.statuses import EntryType, PaymentStatus, ReservationStatus, SeatStatus

# Inside the functions, "now" is the variable `v_now`: the service's clock at the call. A
# function never waits for the user's row lock (SKIP LOCKED): a user with another request in
# progress takes the step-by-step way, which waits for it and reads the clock after the wait, so
# that a hold's time starts, and a hold's liveness is judged, when the lock is won.
_NOW: ColumnElement[Any] = literal_column("v_now")
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def _sql(clause: ColumnElement[bool]) -> str:
    return str(clause.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


_LIVE_HOLD = _sql(is_live_hold(_NOW))
_EXPIRED_HOLD = _sql(is_expired_hold(_NOW))
_ON_SALE = _sql(is_on_sale(_NOW))

HOLD = f"""
CREATE OR REPLACE FUNCTION boxoffice_hold(
    p_user_id bigint, p_seat_id bigint, p_concert_id bigint, p_token text,
    p_now timestamptz, p_ttl_seconds double precision, p_hold_limit integer)
RETURNS TABLE (
    outcome text, reservation_id bigint, blocked_at timestamptz, live_holds bigint,
    seat_id bigint, schedule_id bigint, concert_id bigint, seat_number text, price numeric,
    start_time timestamptz, cancelled_at timestamptz, took_over boolean,
    held_at timestamptz, expires_at timestamptz)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v_now timestamptz;
    v_seat bigint;
    v_schedule bigint;
BEGIN
    v_now := p_now;
    -- The user's row lock first: one user's holds, payments and cancels queue here.
    SELECT users.blocked_at, seat.id, seat.schedule_id, concert_schedule.concert_id,
           seat.seat_number, seat.price, concert_schedule.start_time,
           concert_schedule.cancelled_at
      INTO blocked_at, seat_id, schedule_id, concert_id, seat_number, price, start_time,
           cancelled_at
      FROM users
      LEFT JOIN (seat JOIN concert_schedule ON concert_schedule.id = seat.schedule_id)
             ON seat.id = p_seat_id
     WHERE users.id = p_user_id
       FOR UPDATE OF users SKIP LOCKED;
    IF NOT FOUND THEN
        PERFORM 1 FROM users WHERE users.id = p_user_id;
        outcome := CASE WHEN FOUND THEN 'BUSY' ELSE 'USER_NOT_FOUND' END;
        RETURN NEXT;
        RETURN;
    END IF;
    held_at := v_now;
    v_seat := seat_id;
    v_schedule := schedule_id;
    SELECT count(*) INTO live_holds FROM reservation
     WHERE reservation.user_id = p_user_id AND reservation.schedule_id = v_schedule
       AND {_LIVE_HOLD};
    IF blocked_at IS NOT NULL OR v_seat IS NULL OR live_holds >= p_hold_limit
       OR concert_id <> p_concert_id THEN
        outcome := 'REFUSED';
        RETURN NEXT;
        RETURN;
    END IF;
    -- FOR KEY SHARE, the lock the reservation's foreign key takes anyway: an operator's cancel
    -- (FOR UPDATE on the schedule) either ends this hold after it commits or comes first.
    PERFORM 1 FROM concert_schedule
     WHERE concert_schedule.id = v_schedule AND {_ON_SALE}
       FOR KEY SHARE;
    IF NOT FOUND THEN
        outcome := 'REFUSED';
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM 1 FROM admission_end WHERE admission_end.token = p_token;
    IF FOUND THEN
        outcome := 'ADMISSION_ENDED';
        RETURN NEXT;
        RETURN;
    END IF;
    -- The seat: a free one by compare-and-set; one whose hold has expired is handed straight
    -- over (the stale hold ends, the seat row stays taken); the second compare-and-set catches
    -- a sweeper that freed the seat between the first two statements.
    took_over := false;
    UPDATE seat SET status = '{SeatStatus.UNAVAILABLE}', updated_at = v_now
     WHERE seat.id = v_seat AND seat.status = '{SeatStatus.AVAILABLE}';
    IF NOT FOUND THEN
        UPDATE reservation SET status = '{ReservationStatus.EXPIRED}', updated_at = v_now
         WHERE reservation.seat_id = v_seat AND {_EXPIRED_HOLD};
        took_over := FOUND;
        IF NOT took_over THEN
            UPDATE seat SET status = '{SeatStatus.UNAVAILABLE}', updated_at = v_now
             WHERE seat.id = v_seat AND seat.status = '{SeatStatus.AVAILABLE}';
            IF NOT FOUND THEN
                outcome := 'SEAT_TAKEN';
                RETURN NEXT;
                RETURN;
            END IF;
        END IF;
    END IF;
    expires_at := v_now + make_interval(secs => p_ttl_seconds);
    INSERT INTO reservation (user_id, schedule_id, seat_id, amount, status, expires_at,
                             created_at, updated_at)
    VALUES (p_user_id, v_schedule, v_seat, price, '{ReservationStatus.TEMPORARY}', expires_at,
            v_now, v_now)
    RETURNING reservation.id INTO reservation_id;
    outcome := 'HELD';
    RETURN NEXT;
END
$fn$;
"""

PAY = f"""
CREATE OR REPLACE FUNCTION boxoffice_pay(
    p_user_id bigint, p_reservation_id bigint, p_concert_id bigint, p_token text,
    p_now timestamptz, p_claim_id bigint, p_answer_status integer, p_answer text)
RETURNS TABLE (outcome text, payment_id bigint, amount numeric, holds_left bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v_now timestamptz;
    v_balance numeric;
BEGIN
    v_now := p_now;
    -- Unknown, blocked or busy with another request: the step-by-step way.
    SELECT users.balance INTO v_balance FROM users
     WHERE users.id = p_user_id AND users.blocked_at IS NULL
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        outcome := 'IRREGULAR';
        RETURN NEXT;
        RETURN;
    END IF;
    -- The claim on the Idempotency-Key, locked: no retry can answer it before this commits.
    IF p_claim_id IS NOT NULL THEN
        PERFORM 1 FROM idempotency_key
         WHERE idempotency_key.id = p_claim_id AND idempotency_key.response_status IS NULL
           FOR UPDATE;
        IF NOT FOUND THEN
            outcome := 'CLAIM_LOST';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    -- A live hold of this user in the admitted concert, on sale, that the balance covers.
    UPDATE reservation SET status = '{ReservationStatus.CONFIRMED}', updated_at = v_now
      FROM concert_schedule
     WHERE reservation.id = p_reservation_id AND reservation.user_id = p_user_id
       AND {_LIVE_HOLD}
       AND concert_schedule.id = reservation.schedule_id
       AND concert_schedule.concert_id = p_concert_id AND {_ON_SALE}
       AND reservation.amount <= v_balance
    RETURNING reservation.amount INTO amount;
    IF NOT FOUND THEN
        -- Anything else (unknown, expired, paid, closed, short of money) takes the long way,
        -- which says why.
        outcome := 'IRREGULAR';
        RETURN NEXT;
        RETURN;
    END IF;
    UPDATE users SET balance = users.balance - amount, updated_at = v_now
     WHERE users.id = p_user_id;
    -- A free seat leaves no entry: point-history amounts are always positive (`ledger`).
    IF amount > 0 THEN
        INSERT INTO point_history (user_id, amount, type, created_at, updated_at)
        VALUES (p_user_id, amount, '{EntryType.USE}', v_now, v_now);
    END IF;
    INSERT INTO payment (user_id, amount, status, reservation_id, created_at, updated_at)
    VALUES (p_user_id, amount, '{PaymentStatus.SUCCESS}', p_reservation_id, v_now, v_now)
    RETURNING payment.id INTO payment_id;
    SELECT count(*) INTO holds_left FROM reservation
      JOIN concert_schedule ON concert_schedule.id = reservation.schedule_id
     WHERE reservation.user_id = p_user_id AND concert_schedule.concert_id = p_concert_id
       AND {_LIVE_HOLD};
    IF holds_left = 0 THEN
        INSERT INTO admission_end (token, user_id, concert_id, ended_at)
        VALUES (p_token, p_user_id, p_concert_id, v_now)
        ON CONFLICT DO NOTHING;
    END IF;
    IF p_claim_id IS NOT NULL THEN
        UPDATE idempotency_key
           SET response_status = p_answer_status,
               response_body = (p_answer::jsonb
                                || jsonb_build_object('id', payment_id, 'amount', amount))::text,
               locked_until = NULL, updated_at = v_now
         WHERE idempotency_key.id = p_claim_id;
    END IF;
    outcome := 'PAID';
    RETURN NEXT;
END
$fn$;
"""

ALL = (HOLD, PAY)


def install(connection: Connection) -> None:
    """Create or replace the functions, on PostgreSQL (run by the migration environment)."""
    for definition in ALL:
        connection.exec_driver_sql(definition)
