"""A seat-map stream lasts as long as the admission it was opened with: when the admission
ends, the stream ends, and reconnecting with the old token is refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from boxoffice.db import Database
from tests import api, booking
from tests.servers import Server, clients_for, running_servers
from tests.sse import open_stream

ADMISSION_SECONDS = 3.0


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:
    with running_servers(
        database_url, count=1, queue_active_ttl_seconds=ADMISSION_SECONDS, **booking.OPEN_DOORS
    ) as bases:
        yield bases[0]


async def test_the_seat_stream_ends_with_the_admission(server: Server, db: Database) -> None:
    async with clients_for([server]) as (client,):
        concert = await api.create_concert(client)
        schedule = await api.create_schedule(client, concert["id"], seat_count=2)
        (user,) = await booking.create_users(db, 1)
        headers = await booking.admitted(client, user, concert["id"])
        admitted_at = time.monotonic()
        path = f"/schedules/{schedule['id']}/seats/events"

        async with open_stream(client, path, headers) as watching:
            assert (await watching.next()).name == "snapshot"
            await asyncio.wait_for(watching.ended.wait(), ADMISSION_SECONDS + 5)
            ended_after = time.monotonic() - admitted_at

        assert ADMISSION_SECONDS - 0.5 < ended_after < ADMISSION_SECONDS + 2, ended_after
        async with open_stream(client, path, headers) as again:
            assert again.status_code == 403
        refused = await client.get(path, headers=headers)
        assert booking.code(refused) == "QUEUE_TOKEN_INVALID"
