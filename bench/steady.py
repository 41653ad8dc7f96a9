"""One steady measurement: wrk sends a scenario's requests over C connections for a warm-up
(not counted) and then a measured window, while /proc says where the CPU went."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench import cpu, wrk


@dataclass
class Measurement:
    scenario: str
    layout: str | None
    concurrency: int
    endpoint: str
    result: wrk.Result
    cpu: dict[str, float]
    warmup_sent: int  # requests the warm-up used from the front of a "once" list
    wall_seconds: float  # the measured run, start to end, over which `cpu` was taken

    @property
    def answered(self) -> int:
        return sum(self.result.statuses.values())

    def ok_count(self) -> int:
        return sum(n for status, n in self.result.statuses.items() if status < 400)

    @property
    def throughput(self) -> float:
        return self.ok_count() / self.result.seconds if self.result.seconds else 0.0

    def errors(self) -> int:
        return sum(n for s, n in self.result.statuses.items() if s >= 400) + sum(
            self.result.transport_errors.values()
        )

    def cpu_ms_per_request(self, *groups: str) -> float | None:
        """CPU milliseconds of these process groups per answered request."""
        if not self.cpu or not self.answered:
            return None
        cores = sum(self.cpu.get(g, 0.0) for g in groups)
        return round(cores * self.wall_seconds * 1000 / self.answered, 3)

    def summary(self) -> dict[str, Any]:
        r = self.result
        return {
            "scenario": self.scenario,
            "layout": self.layout,
            "concurrency": self.concurrency,
            "endpoint": self.endpoint,
            "seconds": round(r.seconds, 2),
            "ok": self.ok_count(),
            "throughput_per_s": round(self.throughput, 1),
            "p50_ms": round(r.p50_ms, 2),
            "p95_ms": round(r.p95_ms, 2),
            "p99_ms": round(r.p99_ms, 2),
            "max_ms": round(r.max_ms, 2),
            "errors": self.errors(),
            "statuses": {str(k): v for k, v in sorted(r.statuses.items())},
            "transport_errors": r.transport_errors,
            "ran_out": r.ran_out,
            "cpu_cores": self.cpu,
            "service_cpu_ms_per_request": self.cpu_ms_per_request("service"),
            "postgres_cpu_ms_per_request": self.cpu_ms_per_request(
                "postgres", "postgres_closed_connections"
            ),
            "redis_cpu_ms_per_request": self.cpu_ms_per_request("redis"),
        }


async def measure(
    scenario: str,
    layout: str | None,
    endpoint: str,
    root_url: str,
    requests: Sequence[wrk.Request],
    concurrency: int,
    warmup_seconds: float,
    seconds: float,
    server_pids: list[int],
    cycle: bool,
) -> Measurement:
    """Warm up, then measure. A "once" list (not `cycle`) is shared: the warm-up takes from its
    front and the measured window goes on after what the warm-up sent."""
    warmup_sent = 0
    if warmup_seconds > 0:
        warm = await wrk.run(root_url, requests, concurrency, warmup_seconds, cycle)
        warmup_sent = 0 if cycle else min(warm.sent_lines, len(requests))
    rest = requests if cycle else requests[warmup_sent:]
    before = cpu.snapshot(server_pids)
    started = time.perf_counter()
    result = await wrk.run(root_url, rest, concurrency, seconds, cycle)
    wall = time.perf_counter() - started
    usage = cpu.usage(before, cpu.snapshot(server_pids), wall)
    return Measurement(scenario, layout, concurrency, endpoint, result, usage, warmup_sent, wall)
