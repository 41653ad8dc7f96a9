"""Sampling the service's workers with py-spy while a scenario runs, and boiling the samples
down to where the time goes."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Which part of the stack a frame's file belongs to, first match wins.
AREAS = (
    ("boxoffice/", "boxoffice"),
    ("sqlalchemy/sql/", "sqlalchemy statements (build, compile, cache keys)"),
    ("sqlalchemy/", "sqlalchemy engine (connections, pool, results)"),
    ("asyncpg/", "asyncpg"),
    ("redis/", "redis-py"),
    ("pydantic", "pydantic"),
    ("fastapi/", "fastapi"),
    ("starlette/", "starlette"),
    ("uvicorn/", "uvicorn"),
    ("httptools", "uvicorn"),
    ("prometheus_client/", "prometheus"),
    ("jwt/", "pyjwt"),
    ("json/", "json"),
    ("asyncio/runners.py", "event loop (uvloop, native)"),
    ("asyncio/", "asyncio"),
    ("uvloop", "asyncio"),
    ("anyio/", "anyio"),
    ("logging/", "logging"),
)


# Concerns that cut across libraries: the share of samples with any frame matching.
CONCERNS = (
    ("sync dependencies run on the thread pool", ("run_sync_in_worker_thread", "WorkerThread")),
    ("opening PostgreSQL connections", ("asyncpg/connect_utils.py",)),
    ("closing PostgreSQL connections", ("Connection.close (asyncpg",)),
    ("asyncpg (statements, protocol)", ("asyncpg/",)),
    ("SQLAlchemy statement building/compiling/caching", ("sqlalchemy/sql/",)),
    ("Redis client", ("redis/",)),
    ("waiting-room gate", ("boxoffice/queue/gate.py",)),
    ("idempotency key store", ("boxoffice/idempotency/store.py",)),
    ("JWT", ("jwt/",)),
    ("pydantic validation/serialisation", ("pydantic",)),
    ("Prometheus metrics", ("prometheus_client/",)),
    ("endpoint: join the line", ("join_line (boxoffice",)),
    ("endpoint: queue status", ("queue_status (boxoffice",)),
    ("endpoint: leave the line", ("leave_line (boxoffice",)),
    ("endpoint: seat listing", ("list_seats (boxoffice",)),
    ("endpoint: hold", ("hold_seat (boxoffice",)),
    ("endpoint: payment", ("pay (boxoffice/booking/router",)),
    ("background: sweeper and line ticks", ("Sweeper", "tick (boxoffice")),
    ("logging", ("logging/",)),
)


def py_spy() -> str | None:
    found = Path(sys.executable).with_name("py-spy")
    return str(found) if found.exists() else shutil.which("py-spy")


@dataclass
class Profile:
    name: str
    files: list[Path] = field(default_factory=list)
    error: str | None = None

    def stacks(self) -> Counter[str]:
        merged: Counter[str] = Counter()
        for path in self.files:
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                stack, _, count = line.rpartition(" ")
                if stack and count.isdigit():
                    merged[stack] += int(count)
        return merged

    def summary(self, top: int = 15) -> dict[str, Any]:
        return {
            "name": self.name,
            "files": [str(p) for p in self.files],
            "error": self.error,
        } | summarize(self.stacks(), top)


def _area(frame: str) -> str:
    for marker, area in AREAS:
        if marker in frame:
            return area
    return "other"


def _function(frame: str) -> str:
    # "handle (boxoffice/booking/holds.py)" -> as it is, minus line numbers if any.
    return frame.strip()


def summarize(stacks: Counter[str], top: int = 15) -> dict[str, Any]:
    """Top functions by own time and by total (inclusive) time, and own time by area, each
    as a share of all samples."""
    total = sum(stacks.values())
    if not total:
        return {"samples": 0}
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    boxoffice: Counter[str] = Counter()
    concerns: Counter[str] = Counter()
    for stack, count in stacks.items():
        for concern, markers in CONCERNS:
            if any(marker in stack for marker in markers):
                concerns[concern] += count
        frames = [_function(f) for f in stack.split(";") if f]
        if not frames:
            continue
        # The first frame names the process/thread in raw output; the leaf is the last one.
        leaf = frames[-1]
        own[leaf] += count
        areas[_area(leaf)] += count
        for frame in set(frames):
            inclusive[frame] += count
        # The innermost boxoffice frame: which of our functions the time is spent under.
        ours = [f for f in frames if "boxoffice/" in f]
        if ours:
            boxoffice[ours[-1]] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "share": round(n / total, 4)} for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "own_by_area": {area: round(n / total, 4) for area, n in areas.most_common()},
        "concerns": {name: round(concerns[name] / total, 4) for name, _ in CONCERNS},
        "top_own": share(own),
        "top_inclusive": share(inclusive),
        "top_boxoffice_frames": share(boxoffice),
    }


def _ensure_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


@asynccontextmanager
async def recording(
    name: str, pids: list[int], out_dir: Path, enabled: bool, rate: int = 100
) -> AsyncIterator[Profile]:
    """py-spy records each of `pids` (the service's workers) until the block ends."""
    profile = Profile(name)
    if not enabled:
        yield profile
        return
    binary = py_spy()
    if binary is None:
        profile.error = "py-spy is not installed (uv sync --dev)"
        yield profile
        return
    _ensure_dir(out_dir)
    processes: list[asyncio.subprocess.Process] = []
    for pid in pids:
        path = out_dir / f"{name.replace(' ', '-')}-{pid}.txt"
        profile.files.append(path)
        processes.append(
            await asyncio.create_subprocess_exec(
                binary,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(rate),
                "--nonblocking",
                # Only samples of a thread holding the GIL: CPU spent in Python (and in C
                # called from it), not threads parked on a lock or the loop waiting for I/O.
                "--gil",
                "--format",
                "raw",
                "--nolineno",
                "--output",
                str(path),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        )
    try:
        yield profile
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                _, err = await asyncio.wait_for(process.communicate(), timeout=30)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                err = b"timed out"
            if process.returncode not in (0, -signal.SIGINT, 130) and profile.error is None:
                profile.error = err.decode(errors="replace")[-500:]
