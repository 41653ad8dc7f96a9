"""The background sweeper: tidy-up jobs that every process runs on a timer.

Correctness never waits on it (readers already treat expired holds as expired); it only settles
statuses and counters. Every job is written to be safe when all processes run it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("boxoffice.sweeper")

Job = Callable[[], Awaitable[Any]]


def throttled(job: Job, every_seconds: float) -> Job:
    """`job`, run at most once every `every_seconds` in this process however often the sweeper
    ticks (the first tick runs it): for housekeeping nothing waits on, which would otherwise
    cost every process a transaction a second."""
    next_run = 0.0

    async def run() -> Any:
        nonlocal next_run
        now = time.monotonic()
        if now < next_run:
            return None
        next_run = now + every_seconds
        return await job()

    return run


class Sweeper:
    def __init__(self, jobs: dict[str, Job], interval_seconds: float) -> None:
        self._jobs = jobs
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> None:
        for name, job in self._jobs.items():
            try:
                await job()
            except Exception:
                log.exception("sweep job %s failed; it runs again next interval", name)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="boxoffice-sweeper")

    async def stop(self) -> None:
        """End the loop. The flag ends it even when a driver deep inside a job swallows the
        cancellation: the job returns, and the loop does not start another round."""
        if self._task is None:
            return
        self._stopping.set()
        self._task.cancel()
        # Wait for the task without taking on its CancelledError, so that cancelling stop()
        # itself still cancels it.
        await asyncio.wait({self._task})
        self._task = None
