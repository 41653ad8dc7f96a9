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


# While a job keeps failing the same way (a database that is down fails every job every tick),
# its traceback is logged once, then one line this often, then one line when it recovers.
REPEAT_LOG_SECONDS = 30.0


class _Failures:
    """How one job has been failing: what it last failed with, how often in a row, and when
    the next reminder is due."""

    def __init__(self) -> None:
        self.kind: tuple[type[BaseException], str] | None = None
        self.count = 0
        self.next_log = 0.0

    def failed(self, name: str, error: Exception) -> None:
        kind = (type(error), str(error))
        now = time.monotonic()
        self.count += 1
        if kind != self.kind:
            self.kind, self.count, self.next_log = kind, 1, now + REPEAT_LOG_SECONDS
            log.error("sweep job %s failed; it runs again next interval", name, exc_info=error)
        elif now >= self.next_log:
            self.next_log = now + REPEAT_LOG_SECONDS
            log.error("sweep job %s still failing (%d times): %r", name, self.count, error)

    def succeeded(self, name: str) -> None:
        if self.kind is not None:
            log.warning("sweep job %s works again after %d failures", name, self.count)
            self.kind, self.count = None, 0


class Sweeper:
    def __init__(self, jobs: dict[str, Job], interval_seconds: float) -> None:
        self._jobs = jobs
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._failures = {name: _Failures() for name in jobs}

    async def run_once(self) -> None:
        for name, job in self._jobs.items():
            try:
                await job()
            except Exception as error:
                self._failures[name].failed(name, error)
            else:
                self._failures[name].succeeded(name)

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
