"""Which of a user's reservations were paid and then refunded, for the ticket list."""

from __future__ import annotations

from sqlalchemy import select

from boxoffice.db import Database
from boxoffice.statuses import PaymentStatus
from boxoffice.tables import payment


async def refunded_amounts(
    db: Database, user_id: int, reservation_ids: list[int]
) -> dict[int, int]:
    """reservation id -> amount given back, for those of `reservation_ids` whose payment was
    cancelled (the booking was cancelled before the show and refunded in full)."""
    if not reservation_ids:
        return {}
    query = select(payment.c.reservation_id, payment.c.amount).where(
        payment.c.user_id == user_id,
        payment.c.status == PaymentStatus.CANCELLED,
        payment.c.reservation_id.in_(reservation_ids),
    )
    async with db.reading() as conn:
        rows = (await conn.execute(query)).all()
    return {int(row.reservation_id): int(row.amount) for row in rows}
