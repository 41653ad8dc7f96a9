"""The queue stream across server processes: a waiting fan's stream shows the place, then the
admission as soon as a place frees through another process, and ends after EXPIRED. On the
database waiting room (SQLite, PostgreSQL) and the Redis one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from boxoffice.db import Database
from tests import api, booking
from tests.live import deployments
from tests.live.deployments import Deployment, two_servers
from tests.servers import Server
from tests.sse import open_stream

ROOMS = [
    pytest.param(("sqlite", False), id="db-sqlite"),
    pytest.param(("postgres", False), id="db-postgres"),
    pytest.param(("postgres", True), id="redis"),
]


@pytest.fixture(scope="module", params=ROOMS)
def deployment(request: pytest.FixtureRequest) -> Deployment:
    database, with_redis = request.param
    return database, with_redis


@pytest.fixture(scope="module")
def servers(request: pytest.FixtureRequest, deployment: Deployment) -> Iterator[list[Server]]:
    """Two server processes, with room for one admitted fan at a time."""
    with two_servers(request, deployment, queue_max_active=1) as bases:
        yield bases


backend = deployments.backend
clients = deployments.clients


async def join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> str:
    response = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    assert response.status_code in (200, 201), response.text
    token: str = response.json()["token"]
    return token


async def test_a_waiting_fan_sees_the_admission_when_a_place_frees_on_another_process(
    clients: list[httpx.AsyncClient], db: Database
) -> None:
    concert = await api.create_concert(clients[0])
    first, second = await booking.create_users(db, 2)
    first_headers = await booking.admitted(clients[0], first, concert["id"])
    token = await join(clients[1], second, concert["id"])

    # The query-string token, as a browser's EventSource sends it.
    async with open_stream(
        clients[1], "/queue/events", second["headers"], queue_token=token
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        waiting = await stream.next()
        assert waiting.name == "status"
        assert waiting.data["token"] == token
        assert waiting.data["concert_id"] == concert["id"]
        assert (waiting.data["status"], waiting.data["position"]) == ("WAITING", 1)
        assert waiting.data["active_until"] is None

        # Nothing changes while the first fan stays: the stream only speaks on a change.
        assert await stream.quiet(1.5) == []

        left = await clients[0].delete("/queue/status", headers=first_headers)
        assert left.status_code == 204
        freed = time.monotonic()
        admitted = await stream.next(within=5)
        assert admitted.name == "status"
        assert admitted.data["status"] == "ACTIVE"
        assert admitted.data["position"] is None
        assert admitted.data["active_until"] is not None
        assert admitted.at - freed < 2.0

        # Giving the place up expires the token: the last event, then the stream ends.
        gone = await clients[0].delete(
            "/queue/status", headers={**second["headers"], "X-Queue-Token": token}
        )
        assert gone.status_code == 204
        expired = await stream.next(within=5)
        assert expired.data["status"] == "EXPIRED"
        await stream.ended.wait()
        assert stream.events.get_nowait() is None


async def test_the_queue_stream_refuses_a_token_that_is_not_the_users(
    clients: list[httpx.AsyncClient], db: Database
) -> None:
    concert = await api.create_concert(clients[0])
    owner, other = await booking.create_users(db, 2)
    token = await join(clients[0], owner, concert["id"])

    async with open_stream(
        clients[1], "/queue/events", {**other["headers"], "X-Queue-Token": token}
    ) as refused:
        assert refused.status_code == 403
    async with open_stream(clients[1], "/queue/events", owner["headers"]) as missing:
        assert missing.status_code == 403
    async with open_stream(clients[1], "/queue/events", queue_token=token) as anonymous:
        assert anonymous.status_code == 401
