"""BOXOFFICE_MAX_REQUESTS_IN_FLIGHT in the assembled app: while a process serves as many
requests as it may, the next is a documented `503 SERVICE_UNAVAILABLE` with `Retry-After`,
health checks still answer, and once a place frees up requests are served again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tests import api
from tests.conftest import ClientFactory


async def test_past_the_limit_requests_are_refused_until_a_place_frees_up(
    make_client: ClientFactory,
) -> None:
    client = await make_client(max_requests_in_flight=1)
    concert = await api.create_concert(client)
    reading_body, body_sent = asyncio.Event(), asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        # Pulled once the app reads the body: the request is in flight from then until the
        # rest has arrived.
        reading_body.set()
        yield b'{"name": "Kim", '
        await body_sent.wait()
        yield b'"email": "kim@example.com", "password": "' + api.PASSWORD.encode() + b'"}'

    signing_up = asyncio.create_task(
        client.post("/users", content=slow_body(), headers={"Content-Type": "application/json"})
    )
    await asyncio.wait_for(reading_body.wait(), 10)
    refused = await client.get(f"/concerts/{concert['id']}")
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["code"] == "SERVICE_UNAVAILABLE"
    health = await client.get("http://testserver/healthz")
    assert health.status_code == 200, health.text
    body_sent.set()
    assert (await signing_up).status_code == 201
    assert (await client.get(f"/concerts/{concert['id']}")).status_code == 200
