"""A fair drop through three server processes: a thousand users join before the sale opens,
more keep joining while the opening passes, and every process's background tick races to open
the line. Afterwards everyone stands in the line exactly once: those who joined before the
opening, in an order unrelated to their arrival, ahead of those who joined after it, in arrival
order."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from boxoffice.clock import utcnow
from boxoffice.db import Database
from tests import api, booking
from tests.servers import Server, clients_for, running_servers

EARLY = 1000
CROSSING = 150
MAX_ACTIVE = 50
# Crossing joins are spread over this long on either side of the opening.
CROSSING_SPREAD = timedelta(seconds=1.5)


@dataclass
class Joined:
    user: dict[str, Any]
    ticket: dict[str, Any]
    sent: float
    done: float

    @property
    def headers(self) -> dict[str, str]:
        return {**self.user["headers"], "X-Queue-Token": self.ticket["token"]}

    @property
    def before_opening(self) -> bool:
        return self.ticket["opens_at"] is not None


@pytest.fixture
def servers(database_url: str, room_settings: dict[str, Any]) -> Iterator[list[Server]]:
    with running_servers(
        database_url,
        count=3,
        queue_max_active=MAX_ACTIVE,
        queue_idle_seconds=600,
        **room_settings,
    ) as bases:
        yield bases


async def _join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> Joined:
    sent = time.monotonic()
    response = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    done = time.monotonic()
    assert response.status_code == 201, response.text
    return Joined(user, response.json(), sent, done)


async def _join_at(
    client: httpx.AsyncClient, user: dict[str, Any], concert_id: int, moment: Any
) -> Joined:
    await booking.sleep_until(moment)
    return await _join(client, user, concert_id)


async def _rank(client: httpx.AsyncClient, joined: Joined) -> int:
    """0 for the admitted, else the place in line."""
    response = await client.get("/queue/status", headers=joined.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] in ("ACTIVE", "WAITING"), body
    assert body["opens_at"] is None
    return 0 if body["status"] == "ACTIVE" else int(body["position"])


async def test_a_thousand_early_joins_are_drawn_in_random_order_ahead_of_the_late_ones(
    servers: list[Server], db: Database
) -> None:
    users = await booking.create_users(db, EARLY + CROSSING)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0], sale_opens_at=utcnow() + timedelta(hours=1))
        early = await booking.bounded(
            100,
            (_join(clients[n % 3], user, concert["id"]) for n, user in enumerate(users[:EARLY])),
        )
        assert all(j.before_opening and j.ticket["position"] is None for j in early)

        opens_at = utcnow() + CROSSING_SPREAD + timedelta(seconds=0.5)
        moved = await clients[0].patch(
            f"/admin/concerts/{concert['id']}",
            json={"sale_opens_at": opens_at.isoformat()},
            headers=api.ADMIN,
        )
        assert moved.status_code == 200, moved.text
        step = 2 * CROSSING_SPREAD / CROSSING
        crossing = await booking.bounded(
            CROSSING,
            (
                _join_at(clients[n % 3], user, concert["id"], opens_at - CROSSING_SPREAD + n * step)
                for n, user in enumerate(users[EARLY:])
            ),
        )
        # Every process's tick has passed the opening by now.
        await booking.sleep_until(opens_at + timedelta(seconds=2))
        everyone = early + crossing
        ranks = await booking.bounded(
            50, (_rank(clients[n % 3], j) for n, j in enumerate(everyone))
        )

    pre = [r for j, r in zip(everyone, ranks, strict=True) if j.before_opening]
    post = [(j, r) for j, r in zip(everyone, ranks, strict=True) if not j.before_opening]
    assert pre and post, "the crossing joins did not straddle the opening"
    # Everyone stands in line exactly once: MAX_ACTIVE admitted, then places 1, 2, 3, ...
    assert sorted(ranks) == [0] * MAX_ACTIVE + list(range(1, len(everyone) - MAX_ACTIVE + 1))
    # Those who came before the opening are all ahead of those who came after it...
    assert max(pre) < min(r for _, r in post)
    # ...who stand in arrival order: nobody whose join was answered before another's was even
    # sent stands behind them.
    for a, rank_a in post:
        for b, rank_b in post:
            if a.done < b.sent:
                assert rank_a < rank_b
    # The early ones' order has nothing to do with their arrival (for a random order of a
    # thousand, the correlation has a standard deviation of about 0.03).
    early_ranks = ranks[:EARLY]
    assert abs(statistics.correlation(range(EARLY), early_ranks)) < 0.2
    await booking.assert_audit_passes(db)
