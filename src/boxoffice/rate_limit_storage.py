"""A `limits` storage kept in the service's own database, for deployments without Redis.

Only what the fixed-window strategy needs: a counter per key that starts again after its
window. Every increment is one upsert that both databases run atomically, so every process of
the service counts in the same row.
"""

from __future__ import annotations

from datetime import timedelta

from limits.aio.storage import Storage
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.tables import rate_limit_counter as counter


class DatabaseStorage(Storage):
    STORAGE_SCHEME: list[str] | None = ["boxoffice+database"]  # noqa: RUF012 (as limits declares it)

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = utcnow()
        dialect = sqlite if self.db.is_sqlite else postgresql
        insert = dialect.insert(counter).values(
            key=key, hits=amount, expires_at=now + timedelta(seconds=expiry)
        )
        window_over = counter.c.expires_at <= now
        statement = insert.on_conflict_do_update(
            index_elements=[counter.c.key],
            set_={
                "hits": case((window_over, insert.excluded.hits), else_=counter.c.hits + amount),
                "expires_at": case(
                    (window_over, insert.excluded.expires_at), else_=counter.c.expires_at
                ),
            },
        ).returning(counter.c.hits)
        async with self.db.transaction() as conn:
            hits: int = (await conn.execute(statement)).scalar_one()
        return hits

    async def get(self, key: str) -> int:
        async with self.db.reading() as conn:
            hits = (
                await conn.execute(
                    select(counter.c.hits).where(
                        counter.c.key == key, counter.c.expires_at > utcnow()
                    )
                )
            ).scalar_one_or_none()
        return int(hits or 0)

    async def get_expiry(self, key: str) -> float:
        async with self.db.reading() as conn:
            expires_at = (
                await conn.execute(select(counter.c.expires_at).where(counter.c.key == key))
            ).scalar_one_or_none()
        return (expires_at or utcnow()).timestamp()

    async def check(self) -> bool:
        try:
            await self.db.ping()
        except SQLAlchemyError:
            return False
        return True

    async def reset(self) -> int | None:
        async with self.db.transaction() as conn:
            return (await conn.execute(delete(counter))).rowcount

    async def clear(self, key: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(delete(counter).where(counter.c.key == key))


async def purge_expired(db: Database) -> int:
    """Forget counters whose window is over (the sweeper's job); returns how many."""
    async with db.transaction() as conn:
        result = await conn.execute(delete(counter).where(counter.c.expires_at <= utcnow()))
        return result.rowcount
