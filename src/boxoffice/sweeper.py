"""The background sweeper: tidy-up jobs that every process runs on a timer.

Correctness never waits on it (readers already treat expired holds as expired); it only settles
statuses and counters. Every job is written to be safe when all processes run it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("boxoffice.sweeper")

Job = Callable[[], Awaitable[Any]]


class Sweeper:
    def __init__(self, jobs: dict[str, Job], interval_seconds: float) -> None:
        self._jobs = jobs
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> None:
        for name, job in self._jobs.items():
            try:
                await job()
            except Exception:
                log.exception("sweep job %s failed; it runs again next interval", name)

    async def _loop(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="boxoffice-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
