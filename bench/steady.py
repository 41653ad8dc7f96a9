"""Closed-loop load: C clients, each sending its next request as soon as the last one
answered, for a warm-up and then a measured window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench import cpu
from bench.stats import Recorder

# One client's next request; it records itself into the recorder. Returns False when the
# client has nothing more to do (say, no seats left to hold).
Step = Callable[[Recorder], Awaitable[bool]]


@dataclass
class Measurement:
    scenario: str
    layout: str | None
    concurrency: int
    seconds: float
    endpoint: str
    recorder: Recorder
    cpu: dict[str, float]
    ran_out: bool

    def ok_count(self) -> int:
        stats = self.recorder.endpoints.get(self.endpoint)
        return 0 if stats is None else sum(n for s, n in stats.statuses.items() if s < 400)

    @property
    def throughput(self) -> float:
        return self.ok_count() / self.seconds if self.seconds else 0.0

    def errors(self) -> int:
        stats = self.recorder.endpoints.get(self.endpoint)
        if stats is None:
            return 0
        return sum(n for s, n in stats.statuses.items() if s >= 400) + sum(
            stats.transport_errors.values()
        )

    def summary(self) -> dict[str, Any]:
        stats = self.recorder.endpoints[self.endpoint].summary()
        return {
            "scenario": self.scenario,
            "layout": self.layout,
            "concurrency": self.concurrency,
            "endpoint": self.endpoint,
            "seconds": round(self.seconds, 2),
            "ok": self.ok_count(),
            "throughput_per_s": round(self.throughput, 1),
            "p50_ms": stats["p50_ms"],
            "p95_ms": stats["p95_ms"],
            "p99_ms": stats["p99_ms"],
            "max_ms": stats["max_ms"],
            "errors": self.errors(),
            "statuses": stats["statuses"],
            "codes": stats["codes"],
            "transport_errors": stats["transport_errors"],
            "ran_out": self.ran_out,
            "cpu_cores": self.cpu,
        }


async def closed_loop(
    scenario: str,
    layout: str | None,
    endpoint: str,
    steps: list[Step],
    warmup: float,
    duration: float,
    server_pids: list[int],
) -> Measurement:
    """Run one client per step function for `warmup + duration` seconds; only requests that
    start inside the measured window count."""
    recorder = Recorder()
    start = time.perf_counter()
    recorder.window_start = start + warmup
    window_end = recorder.window_start + duration
    ran_out = False
    before: cpu.Snapshot | None = None

    async def client(step: Step) -> None:
        nonlocal ran_out
        while time.perf_counter() < window_end:
            if not await step(recorder):
                ran_out = True
                return

    async def sample_cpu() -> None:
        nonlocal before
        await asyncio.sleep(warmup)
        before = cpu.snapshot(server_pids)

    sampler = asyncio.create_task(sample_cpu())
    await asyncio.gather(*(client(step) for step in steps))
    await sampler
    after = cpu.snapshot(server_pids)
    # The window ends early when the clients ran out of work.
    measured = min(time.perf_counter(), window_end) - recorder.window_start
    measured = max(measured, 1e-9)
    usage = cpu.usage(before, after, time.perf_counter() - recorder.window_start) if before else {}
    return Measurement(
        scenario=scenario,
        layout=layout,
        concurrency=len(steps),
        seconds=measured,
        endpoint=endpoint,
        recorder=recorder,
        cpu=usage,
        ran_out=ran_out,
    )
