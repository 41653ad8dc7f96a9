"""Undoing a payment when its booking is cancelled, inside the cancellation's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.tables import payment


async def cancel_payment(conn: AsyncConnection, reservation_id: int, now: datetime) -> int:
    """Mark the booking's successful payment CANCELLED; returns the amount to refund."""
    amount: int = (
        await conn.execute(
            update(payment)
            .where(payment.c.reservation_id == reservation_id, payment.c.status == "SUCCESS")
            .values(status="CANCELLED", updated_at=now)
            .returning(payment.c.amount)
        )
    ).scalar_one()
    return int(amount)
