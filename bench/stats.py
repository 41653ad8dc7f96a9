"""Latency samples and status counts per endpoint, and their summaries."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class EndpointStats:
    latencies: list[float] = field(default_factory=list)  # seconds, every answered request
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)  # problem `code` of error answers
    transport_errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.transport_errors.values())

    def count(self, *statuses: int) -> int:
        return sum(self.statuses[s] for s in statuses)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "requests": self.requests,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "codes": dict(self.codes),
            "transport_errors": dict(self.transport_errors),
            "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
            "p95_ms": round(percentile(ordered, 0.95) * 1000, 2),
            "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
            "max_ms": round((ordered[-1] if ordered else 0.0) * 1000, 2),
        }


class Recorder:
    """Collects every request's outcome by endpoint name (`POST /reservations`, ...).
    Samples that started before `window_start` (warm-up) are left out."""

    def __init__(self) -> None:
        self.endpoints: defaultdict[str, EndpointStats] = defaultdict(EndpointStats)
        self.window_start = 0.0
        # How long requests waited for a free connection of the load generator's pool.
        self.waits: list[float] = []

    def record(
        self, endpoint: str, started: float, seconds: float, status: int, code: str | None
    ) -> None:
        if started < self.window_start:
            return
        stats = self.endpoints[endpoint]
        stats.latencies.append(seconds)
        stats.statuses[status] += 1
        if code is not None:
            stats.codes[code] += 1

    def waited(self, started: float, seconds: float) -> None:
        if started >= self.window_start:
            self.waits.append(seconds)

    def transport_error(self, endpoint: str, started: float, error: BaseException) -> None:
        if started < self.window_start:
            return
        self.endpoints[endpoint].transport_errors[type(error).__name__] += 1

    def total_requests(self) -> int:
        return sum(stats.requests for stats in self.endpoints.values())

    def total_server_errors(self) -> int:
        return sum(stats.server_errors for stats in self.endpoints.values())

    def total_transport_errors(self) -> int:
        return sum(sum(s.transport_errors.values()) for s in self.endpoints.values())

    def summary(self) -> dict[str, Any]:
        return {name: stats.summary() for name, stats in sorted(self.endpoints.items())}
