"""Queries on users and their point history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.db import Record, for_update
from boxoffice.tables import point_history, users


async def insert_user(
    conn: AsyncConnection, name: str, email: str, password_hash: str, now: datetime
) -> Record:
    row: Record = (
        await conn.execute(
            insert(users)
            .values(
                name=name,
                email=email,
                password_hash=password_hash,
                balance=0,
                created_at=now,
                updated_at=now,
            )
            .returning(users)
        )
    ).one()
    return row


async def find_credentials(conn: AsyncConnection, email: str) -> Record | None:
    """The id and password hash of the user with this (lower-case) email."""
    query = select(users.c.id, users.c.password_hash).where(users.c.email == email)
    return (await conn.execute(query)).first()


async def replace_password_hash(
    conn: AsyncConnection, user_id: int, old_hash: str, new_hash: str, now: datetime
) -> None:
    """Store a fresh hash of the same password, unless the password changed meanwhile."""
    await conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.password_hash == old_hash)
        .values(password_hash=new_hash, updated_at=now)
    )


async def find_user(conn: AsyncConnection, user_id: int) -> Record | None:
    return (await conn.execute(select(users).where(users.c.id == user_id))).first()


async def lock_standing(conn: AsyncConnection, user_id: int) -> Record | None:
    """The user's row locked for this transaction, with when they were blocked (if they were);
    None when there is no such user."""
    query = select(users.c.id, users.c.blocked_at).where(users.c.id == user_id)
    row: Record | None = (await conn.execute(for_update(query))).first()
    return row


async def find_balance(conn: AsyncConnection, user_id: int) -> int | None:
    balance: int | None = (
        await conn.execute(select(users.c.balance).where(users.c.id == user_id))
    ).scalar()
    return balance


async def history_page(
    conn: AsyncConnection, user_id: int, before_id: int | None, limit: int
) -> list[Record]:
    query = select(point_history).where(point_history.c.user_id == user_id)
    if before_id is not None:
        query = query.where(point_history.c.id < before_id)
    query = query.order_by(point_history.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).all())
