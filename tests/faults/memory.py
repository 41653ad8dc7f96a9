"""The resident memory of server processes, read from /proc while a test runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def rss_bytes(pid: int) -> int:
    """VmRSS of `pid` (0 once it has gone)."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def with_descendants(pids: Iterable[int]) -> set[int]:
    """`pids` and every process below them: `serve --workers N` forks its workers."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The name in brackets may hold spaces; the parent's pid is the second field after it.
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = set(pids)
    grew = True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in found}
        grew = not below <= found
        found |= below
    return found


@dataclass
class MemoryWatch:
    """The highest RSS each process reached while watched, and what it had when watching began."""

    start: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)

    def growth(self) -> dict[int, int]:
        """Bytes each process grew by, at its highest, over where it began."""
        return {pid: self.peak[pid] - self.start[pid] for pid in self.start}


@asynccontextmanager
async def watching(pids: Iterable[int], every_seconds: float = 0.2) -> AsyncIterator[MemoryWatch]:
    """Sample the RSS of `pids` and their descendants every `every_seconds` while the block runs."""
    watched = with_descendants(pids)
    watch = MemoryWatch(start={pid: rss_bytes(pid) for pid in watched})
    watch.peak = dict(watch.start)

    async def sample() -> None:
        while True:
            for pid in watched:
                watch.peak[pid] = max(watch.peak[pid], rss_bytes(pid))
            await asyncio.sleep(every_seconds)

    sampler = asyncio.create_task(sample())
    try:
        yield watch
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
