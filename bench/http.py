"""The HTTP side of the load generator.

httpx's shared connection pool costs the client several times more CPU per request once many
requests wait on it (about 2.7 ms instead of 0.8 ms a request at 64 concurrent requests on the
benchmark machine), and on 2 shared cores that CPU is taken from the server. So the generator
keeps a pool of single-connection clients instead: a request borrows a free client (first
come, first served), sends on its one keep-alive connection and gives it back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from bench.stats import Recorder


def problem_code(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


class ClientPool:
    """`size` httpx clients of one connection each. Latency is measured from the moment a
    request has a client, so time spent waiting for a free client (the generator's own
    queueing) is not counted as the server's."""

    def __init__(self, base_url: str, size: int) -> None:
        self.size = size
        self._clients = [
            httpx.AsyncClient(
                base_url=base_url,
                # Let go of an idle connection before uvicorn's 5 s keep-alive closes it, or a
                # request sent at that moment meets a closed socket.
                limits=httpx.Limits(
                    max_connections=1, max_keepalive_connections=1, keepalive_expiry=1
                ),
                timeout=httpx.Timeout(60, pool=None),
            )
            for _ in range(size)
        ]
        self._free: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for each in self._clients:
            self._free.put_nowait(each)

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[httpx.AsyncClient]:
        http = await self._free.get()
        try:
            yield http
        finally:
            self._free.put_nowait(http)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An unrecorded request (set-up)."""
        async with self.borrow() as http:
            return await http.request(method, url, **kwargs)

    async def call(
        self, recorder: Recorder, endpoint: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response | None:
        """Send one request and record its latency, status and problem code under `endpoint`.
        A transport error (connection refused, time-out) is recorded and gives None."""
        asked = time.perf_counter()
        async with self.borrow() as http:
            started = time.perf_counter()
            recorder.waited(asked, started - asked)
            try:
                response = await http.request(method, url, **kwargs)
            except httpx.HTTPError as error:
                recorder.transport_error(endpoint, started, error)
                return None
            elapsed = time.perf_counter() - started
        recorder.record(endpoint, started, elapsed, response.status_code, problem_code(response))
        return response

    async def aclose(self) -> None:
        await asyncio.gather(*(each.aclose() for each in self._clients))

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
