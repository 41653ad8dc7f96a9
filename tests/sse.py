"""A server-sent-events client for the tests: reads a stream in the background and hands over
its events as they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    name: str
    id: str | None
    data: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class Stream:
    status_code: int
    headers: httpx.Headers
    events: asyncio.Queue[Event | None]
    comments: list[str]
    ended: asyncio.Event

    async def next(self, within: float = 5) -> Event:
        event = await asyncio.wait_for(self.events.get(), within)
        if event is None:
            raise EOFError("the stream ended")
        return event

    async def until(self, found: Callable[[Event], bool], within: float = 5) -> list[Event]:
        """Every event up to and including the first that `found` accepts."""
        seen: list[Event] = []
        deadline = time.monotonic() + within
        while True:
            event = await self.next(within=max(0.01, deadline - time.monotonic()))
            seen.append(event)
            if found(event):
                return seen

    async def quiet(self, seconds: float) -> list[Event]:
        """The events that arrive within `seconds`."""
        seen: list[Event] = []
        deadline = time.monotonic() + seconds
        with contextlib.suppress(TimeoutError):
            while (left := deadline - time.monotonic()) > 0:
                seen.append(await self.next(within=left))
        return seen


async def _read(response: httpx.Response, stream: Stream) -> None:
    name: str = "message"
    event_id: str | None = None
    data: list[str] = []
    try:
        async for line in response.aiter_lines():
            if line == "":
                if data:
                    body = json.loads("\n".join(data))
                    await stream.events.put(Event(name, event_id, body))
                name, event_id, data = "message", None, []
            elif line.startswith(":"):
                stream.comments.append(line)
            else:
                key, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if key == "event":
                    name = value
                elif key == "id":
                    event_id = value
                elif key == "data":
                    data.append(value)
    except httpx.HTTPError:
        pass
    finally:
        stream.ended.set()
        await stream.events.put(None)


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[Stream]:
    """Open an event stream; a refused one (not 200) is yielded with its status and no events."""
    timeout = httpx.Timeout(10, read=None)
    async with client.stream(
        "GET", path, headers=headers, params=params or None, timeout=timeout
    ) as response:
        stream = Stream(
            response.status_code, response.headers, asyncio.Queue(), [], asyncio.Event()
        )
        if response.status_code != 200:
            await response.aread()
            stream.ended.set()
            yield stream
            return
        reader = asyncio.create_task(_read(response, stream))
        try:
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
