"""The in-flight limit: past it a request is refused at once with the problem details of a
503, health checks and event streams are never counted, and a request that fails still frees
its place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from boxoffice.load_shedding import LoadSheddingMiddleware


class Gate:
    """An ASGI app that holds every request until it is opened (or fails it on /boom)."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.waiting = 0
        self.arrived = asyncio.Condition()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/boom":
            raise RuntimeError("boom")
        async with self.arrived:
            self.waiting += 1
            self.arrived.notify_all()
        await self.open.wait()
        self.waiting -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def client_for(
    limit: int,
) -> AsyncIterator[tuple[httpx.AsyncClient, Gate, LoadSheddingMiddleware]]:
    gate = Gate()
    shedding = LoadSheddingMiddleware(gate, max_in_flight=limit)
    transport = httpx.ASGITransport(app=shedding, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, gate, shedding


async def until_waiting(gate: Gate, count: int) -> None:
    async with asyncio.timeout(5), gate.arrived:
        await gate.arrived.wait_for(lambda: gate.waiting >= count)


async def test_past_the_limit_a_request_is_refused_at_once_with_a_problem() -> None:
    async with client_for(limit=2) as (client, gate, shedding):
        held = [asyncio.create_task(client.get(f"/api/v1/concerts/{n}")) for n in (1, 2)]
        await until_waiting(gate, 2)
        refused = await client.post("/api/v1/payments", json={"reservation_id": 1})
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "1"
        assert int(refused.headers["content-length"]) == len(refused.content)
        problem = refused.json()
        assert problem["code"] == "SERVICE_UNAVAILABLE"
        assert problem["status"] == 503
        assert {"type", "title", "detail"} <= problem.keys()
        gate.open.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
        assert shedding.in_flight == 0
        assert (await client.get("/api/v1/concerts/3")).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/readyz", "/metrics", "/api/v1/queue/events", "/api/v1/schedules/1/seats/events"],
)
async def test_health_checks_metrics_and_event_streams_are_never_counted(path: str) -> None:
    async with client_for(limit=1) as (client, gate, shedding):
        held = asyncio.create_task(client.get("/api/v1/concerts"))
        await until_waiting(gate, 1)
        uncounted = asyncio.create_task(client.get(path))
        await until_waiting(gate, 2)
        assert shedding.in_flight == 1
        gate.open.set()
        assert (await uncounted).status_code == 200
        assert (await held).status_code == 200


async def test_a_request_that_fails_frees_its_place() -> None:
    async with client_for(limit=1) as (client, gate, shedding):
        assert (await client.get("/boom")).status_code == 500
        assert shedding.in_flight == 0
        gate.open.set()
        assert (await client.get("/api/v1/concerts")).status_code == 200
