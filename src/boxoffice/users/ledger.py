"""The balance and its ledger. Every change to `users.balance` goes through here, in the
caller's transaction, with the point-history entry that explains it."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.money import MAX_BALANCE
from boxoffice.statuses import EntryType
from boxoffice.tables import point_history, users


class Entry(NamedTuple):
    """A balance change made: the balance after it and the point-history entry explaining it."""

    balance: int
    entry_id: int


async def charge(conn: AsyncConnection, user_id: int, amount: int, now: datetime) -> Entry | None:
    """Add `amount` with a CHARGE entry; None if the user is unknown or the balance would pass
    MAX_BALANCE."""
    balance = (
        await conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.balance <= MAX_BALANCE - amount)
            .values(balance=users.c.balance + amount, updated_at=now)
            .returning(users.c.balance)
        )
    ).scalar()
    if balance is None:
        return None
    return Entry(balance, await _record(conn, user_id, amount, EntryType.CHARGE, now))


async def refund(conn: AsyncConnection, user_id: int, amount: int, now: datetime) -> int:
    """Give `amount` back with a REFUND entry; returns the balance after. Never refused: the cap
    is for charges (see `boxoffice.money`), and money taken must always be able to come back."""
    balance: int = (
        await conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(balance=users.c.balance + amount, updated_at=now)
            .returning(users.c.balance)
        )
    ).scalar_one()
    await _record_movement(conn, user_id, amount, EntryType.REFUND, now)
    return balance


async def debit(conn: AsyncConnection, user_id: int, amount: int, now: datetime) -> int | None:
    """Take `amount` in one conditional statement, with a USE entry; returns the balance after,
    or None when it is short. The balance never goes below zero, whatever runs beside it."""
    balance: int | None = (
        await conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.balance >= amount)
            .values(balance=users.c.balance - amount, updated_at=now)
            .returning(users.c.balance)
        )
    ).scalar()
    if balance is not None:
        await _record_movement(conn, user_id, amount, EntryType.USE, now)
    return balance


async def _record_movement(
    conn: AsyncConnection, user_id: int, amount: int, kind: EntryType, now: datetime
) -> None:
    # A free seat (price 0) moves no money and leaves no entry: point-history amounts are
    # always positive, and the balance still equals charges + refunds - uses.
    if amount > 0:
        await _record(conn, user_id, amount, kind, now)


async def _record(
    conn: AsyncConnection, user_id: int, amount: int, kind: EntryType, now: datetime
) -> int:
    entry_id: int = (
        await conn.execute(
            insert(point_history)
            .values(user_id=user_id, amount=amount, type=kind, created_at=now, updated_at=now)
            .returning(point_history.c.id)
        )
    ).scalar_one()
    return entry_id
