"""Idempotency records in the database, so that every process sees the same keys.

A request first *claims* its key in a short transaction of its own: that is what lets a second,
simultaneous request see "in use" instead of waiting. The work's own unit of work then stores the
response through the claim's recorder (`recorder`), so the work and its recorded answer commit
together or not at all. A claim whose process died before committing is abandoned; its lease runs
out and a retry takes it over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.clock import utcnow
from boxoffice.db import Database, Record
from boxoffice.errors import DomainError, IdempotencyKeyInUse, IdempotencyKeyReused
from boxoffice.pg_driver import HotStatement
from boxoffice.tables import UTCDateTime
from boxoffice.tables import idempotency_key as keys

LEASE = timedelta(seconds=60)
RETENTION = timedelta(hours=25)


@dataclass(frozen=True)
class Claim:
    id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


# Claiming a key: it either inserts the key or, when the key is taken, returns nothing.
# SQLite's compiler writes PostgreSQL's ON CONFLICT DO NOTHING the same way.
_INSERT_KEY = HotStatement(
    postgresql.insert(keys)
    .values(
        user_id=bindparam("user_id"),
        key=bindparam("key"),
        fingerprint=bindparam("fingerprint"),
        locked_until=bindparam("locked_until", type_=UTCDateTime()),
        created_at=bindparam("now", type_=UTCDateTime()),
        updated_at=bindparam("now", type_=UTCDateTime()),
    )
    .on_conflict_do_nothing()
    .returning(keys.c.id)
)


async def claim(db: Database, user_id: int, key: str, fingerprint: str) -> Claim | Replay:
    now = utcnow()
    params = {
        "user_id": user_id,
        "key": key,
        "fingerprint": fingerprint,
        "locked_until": now + LEASE,
        "now": now,
    }
    # A new key, the usual case, is one statement that commits by itself.
    inserted = await db.write_one(_INSERT_KEY, **params)
    if inserted is not None:
        return Claim(inserted["id"])
    async with db.transaction() as conn:
        # Between our insert finding the key taken and our read of it, the holder may give
        # the key up (its work failed and changed nothing): then the key is free to insert.
        for _ in range(3):
            new_id = (await conn.execute(_INSERT_KEY.statement, params)).scalar()
            if new_id is not None:
                return Claim(new_id)
            existing = (
                await conn.execute(select(keys).where(keys.c.user_id == user_id, keys.c.key == key))
            ).first()
            if existing is not None:
                return await _existing(conn, existing, fingerprint, now)
    raise IdempotencyKeyInUse("A request with this Idempotency-Key is still running.")


async def _existing(
    conn: AsyncConnection, existing: Record, fingerprint: str, now: datetime
) -> Claim | Replay:
    """The answer for a key another request already holds: a replay, a refusal, or the key
    itself when its holder's lease has run out."""
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request.")
    if existing.response_status is not None:
        return Replay(existing.response_status, json.loads(existing.response_body))
    if existing.locked_until is not None and existing.locked_until > now:
        raise IdempotencyKeyInUse("A request with this Idempotency-Key is still running.")
    taken_over = await conn.execute(
        update(keys)
        .where(
            keys.c.id == existing.id,
            keys.c.response_status.is_(None),
            keys.c.locked_until == existing.locked_until,
        )
        .values(locked_until=now + LEASE, updated_at=now)
    )
    if taken_over.rowcount != 1:
        raise IdempotencyKeyInUse("A request with this Idempotency-Key is still running.")
    return Claim(existing.id)


@dataclass(frozen=True)
class AnswerRecorder:
    """Stores the answer of the work done under a claim, in that work's transaction: a domain
    error with its own status, anything else with `success_status` (the route's). A unit of
    work calls it (`Recorder`); a database function that does the whole work stores the answer
    itself from `claim_id`, `success_status` and `payload`."""

    claim_id: int
    success_status: int

    async def __call__(self, conn: AsyncConnection, answer: Any) -> None:
        if isinstance(answer, DomainError):
            await _store(conn, self.claim_id, answer.status, answer.problem())
        else:
            await _store(conn, self.claim_id, self.success_status, self.payload(answer))

    @staticmethod
    def payload(answer: Any) -> Any:
        return answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer


def recorder(claim: Claim, success_status: int) -> AnswerRecorder:
    return AnswerRecorder(claim.id, success_status)


async def _store(conn: AsyncConnection, claim_id: int, status: int, body: Any) -> None:
    stored = await conn.execute(
        update(keys)
        .where(keys.c.id == claim_id, keys.c.response_status.is_(None))
        .values(
            response_status=status,
            response_body=json.dumps(body),
            locked_until=None,
            updated_at=utcnow(),
        )
    )
    if stored.rowcount != 1:
        # This request outlived its lease, and a retry that took the key over has already
        # answered (or given the key up). Its answer stands; this work must roll back, or the
        # same request would be done twice.
        raise answered_meanwhile()


def answered_meanwhile() -> IdempotencyKeyInUse:
    return IdempotencyKeyInUse("A request with this Idempotency-Key was answered meanwhile.")


async def release(db: Database, claim: Claim) -> None:
    """Give the key back after work that stored no answer, so a retry runs afresh. A key whose
    answer was stored is kept whatever happened after."""
    async with db.transaction() as conn:
        await conn.execute(
            delete(keys).where(keys.c.id == claim.id, keys.c.response_status.is_(None))
        )


async def purge_expired(db: Database) -> int:
    async with db.transaction() as conn:
        result = await conn.execute(delete(keys).where(keys.c.created_at < utcnow() - RETENTION))
        return int(result.rowcount)
