"""Crowds of users straight in the database, for the tests and the benchmark: signing up and
charging over HTTP one by one would take most of their time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.statuses import EntryType
from boxoffice.tables import point_history, users


async def insert_funded_users(
    conn: AsyncConnection, emails: list[str], balance: int, now: datetime
) -> list[int]:
    """Users inserted in bulk, each with `balance` won already charged and the CHARGE entry
    that says so, so that the ledger adds up: two statements instead of a sign-up and a charge
    per person."""
    rows = await conn.execute(
        insert(users).returning(users.c.id, sort_by_parameter_order=True),
        [
            {
                "name": f"Fan {number}",
                "email": email,
                "balance": balance,
                "created_at": now,
                "updated_at": now,
            }
            for number, email in enumerate(emails)
        ],
    )
    ids = list(rows.scalars())
    if balance:
        entries = [
            {
                "user_id": user_id,
                "amount": balance,
                "type": EntryType.CHARGE,
                "created_at": now,
                "updated_at": now,
            }
            for user_id in ids
        ]
        await conn.execute(insert(point_history), entries)
    return ids
