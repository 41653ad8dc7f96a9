"""Queries on payments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.db import Record
from boxoffice.tables import concert_schedule, payment, reservation


async def insert_payment(
    conn: AsyncConnection,
    user_id: int,
    reservation_id: int,
    amount: int,
    status: str,
    now: datetime,
) -> Record:
    row: Record = (
        await conn.execute(
            insert(payment)
            .values(
                user_id=user_id,
                reservation_id=reservation_id,
                amount=amount,
                status=status,
                created_at=now,
                updated_at=now,
            )
            .returning(payment)
        )
    ).one()
    return row


async def find_payment(conn: AsyncConnection, payment_id: int, user_id: int) -> Record | None:
    return (
        await conn.execute(
            select(payment).where(payment.c.id == payment_id, payment.c.user_id == user_id)
        )
    ).first()


async def find_reservation_to_pay(
    conn: AsyncConnection, reservation_id: int, user_id: int
) -> Record | None:
    return (
        await conn.execute(
            select(
                reservation.c.id,
                reservation.c.amount,
                reservation.c.status,
                reservation.c.expires_at,
                concert_schedule.c.concert_id,
            )
            .join(concert_schedule, concert_schedule.c.id == reservation.c.schedule_id)
            .where(reservation.c.id == reservation_id, reservation.c.user_id == user_id)
        )
    ).first()
