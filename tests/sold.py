"""Seats sold straight in the database, for the tests of a cancelled show: buying hundreds of
seats over HTTP would take most of their time. What it writes is what a payment writes (seat
taken, reservation CONFIRMED, payment SUCCESS, USE entry, balance debited), so the audit
accepts it."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.statuses import EntryType, PaymentStatus, ReservationStatus, SeatStatus
from boxoffice.tables import payment, point_history, reservation, seat, users


async def sell_seats(db: Database, schedule_id: int, buyers: list[int]) -> list[int]:
    """The first `len(buyers)` seats of the schedule, the n-th bought by `buyers[n]` (who must
    have the balance for it); the new reservation ids, in that order."""
    now = utcnow()
    async with db.transaction() as conn:
        seats = (
            await conn.execute(
                select(seat.c.id, seat.c.price)
                .where(seat.c.schedule_id == schedule_id)
                .order_by(seat.c.id)
                .limit(len(buyers))
            )
        ).all()
        assert len(seats) == len(buyers), "not enough seats"
        await conn.execute(
            update(seat)
            .where(seat.c.id.in_([s.id for s in seats]))
            .values(status=SeatStatus.UNAVAILABLE, updated_at=now)
        )
        stamps = {"created_at": now, "updated_at": now}
        sold = [
            {"user_id": buyer, "seat_id": s.id, "amount": int(s.price)}
            for buyer, s in zip(buyers, seats, strict=True)
        ]
        ids = list(
            (
                await conn.execute(
                    insert(reservation).returning(reservation.c.id, sort_by_parameter_order=True),
                    [
                        {
                            **row,
                            "schedule_id": schedule_id,
                            "status": ReservationStatus.CONFIRMED,
                            "expires_at": None,
                            **stamps,
                        }
                        for row in sold
                    ],
                )
            ).scalars()
        )
        await conn.execute(
            insert(payment),
            [
                {
                    "user_id": row["user_id"],
                    "reservation_id": reservation_id,
                    "amount": row["amount"],
                    "status": PaymentStatus.SUCCESS,
                    **stamps,
                }
                for row, reservation_id in zip(sold, ids, strict=True)
            ],
        )
        await conn.execute(
            insert(point_history),
            [
                {
                    "user_id": row["user_id"],
                    "amount": row["amount"],
                    "type": EntryType.USE,
                    **stamps,
                }
                for row in sold
            ],
        )
        await conn.execute(
            update(users)
            .where(users.c.id == bindparam("buyer"))
            .values(balance=users.c.balance - bindparam("price")),
            [{"buyer": row["user_id"], "price": row["amount"]} for row in sold],
        )
    return ids
