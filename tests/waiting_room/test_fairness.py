"""The pre-queue's order is uniformly random: over many openings, the place that a given early
user gets at the opening is spread evenly over every place (a chi-square test), and no two
openings share an order. The backends are driven directly with a seeded generator in place of
the cryptographic source, so that the statistical test gives the same answer on every run."""

from __future__ import annotations

import inspect
import random
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from datetime import time, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import insert

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.queue.backend import CRYPTOGRAPHIC_DRAW, Draw, WaitingRoom
from boxoffice.queue.database_backend import DatabaseWaitingRoom
from boxoffice.queue.redis_backend import RedisWaitingRoom
from boxoffice.tables import concert
from tests import booking, conftest

OPENINGS = 100
EARLY_USERS = 10
SEED = 20261125
# The chi-square distribution with EARLY_USERS - 1 = 9 degrees of freedom is above this value
# with probability 0.001: a fair shuffle fails the test one run in a thousand, and with the
# seed fixed, never.
CHI_SQUARE_9_AT_0_001 = 27.877


@pytest.fixture
async def room_under_test(
    room: str, db: Database, database_url: str, room_settings: dict[str, Any]
) -> AsyncIterator[WaitingRoom]:
    settings = conftest.test_settings(database_url, queue_max_active=1)
    draw: Draw = random.Random(SEED).getrandbits
    if room == "database":
        yield DatabaseWaitingRoom(db, settings, draw=draw)
        return
    client = aioredis.from_url(room_settings["redis_url"])
    yield RedisWaitingRoom(client, settings, draw=draw)
    await client.aclose()


async def _concerts(db: Database, count: int) -> list[int]:
    now = utcnow()
    async with db.transaction() as conn:
        result = await conn.execute(
            insert(concert).returning(concert.c.id),
            [
                {"title": f"Opening {n}", "duration": time(2), "created_at": now, "updated_at": now}
                for n in range(count)
            ],
        )
        return [int(concert_id) for concert_id in result.scalars()]


async def _opening(room: WaitingRoom, concert_id: int, users: list[int]) -> list[int]:
    """Everyone joins before the sale opens, in the order given; then it opens. The users in
    the order they stand in line."""
    later = utcnow() + timedelta(hours=1)
    tokens = [(await room.join(concert_id, user, later))[0].token for user in users]
    await room.reschedule(concert_id, None)
    places: dict[int, int] = {}
    for user, token in zip(users, tokens, strict=True):
        ticket = await room.look_up(token)
        assert ticket is not None and ticket.status in ("ACTIVE", "WAITING")
        places[user] = ticket.position or 0  # the one admitted has no position
    assert sorted(places.values()) == list(range(EARLY_USERS))
    return sorted(users, key=lambda user: places[user])


async def test_the_order_drawn_at_the_opening_is_uniform(
    room_under_test: WaitingRoom, db: Database
) -> None:
    users = [user["id"] for user in await booking.create_users(db, EARLY_USERS)]
    # Openings of different concerts run side by side, as they would in production.
    orders = await booking.bounded(
        10, (_opening(room_under_test, c, users) for c in await _concerts(db, OPENINGS))
    )

    first_comer = users[0]
    places = Counter(order.index(first_comer) for order in orders)
    expected = OPENINGS / EARLY_USERS
    chi_square = sum((places[p] - expected) ** 2 / expected for p in range(EARLY_USERS))
    assert chi_square < CHI_SQUARE_9_AT_0_001, (chi_square, places)
    assert len({tuple(order) for order in orders}) == OPENINGS


def test_the_backends_draw_from_the_cryptographic_source_unless_told_otherwise() -> None:
    assert CRYPTOGRAPHIC_DRAW is secrets.randbits
    for backend in (DatabaseWaitingRoom, RedisWaitingRoom):
        assert inspect.signature(backend).parameters["draw"].default is CRYPTOGRAPHIC_DRAW
