"""`python -m bench streams [--quick]`: thousands of open seat-map streams on one schedule while
holds and cancellations run.

The service runs with several worker processes on PostgreSQL and Redis; the kernel spreads the
streams' connections over the workers. Each stream is a plain HTTP/1.1 connection read by this
process (no HTTP client library: at 5,000 connections its overhead would be the bottleneck).
It reports whether every change reached every stream, complete and in order; the delay from the
change's write in the database (its `created_at`, taken a moment before commit) to its arrival
on each stream; and the memory the workers took per open stream.

Client and server share the machine's cores, so the delays include the client's own lag.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import statistics
import sys
import time
from array import array
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from bench import fixtures, machine
from bench.fixtures import User
from bench.http import ClientPool
from bench.report import REPORTS
from bench.stack import DATABASE, DATABASE_URL, REDIS_URL, Server, running_service
from boxoffice.db import Database
from boxoffice.tables import seat_change


@dataclass(frozen=True)
class Sizes:
    name: str
    streams: int
    seats: int
    watchers: int  # users the streams are opened as (each may hold many streams)
    holders: int
    holds_per_second: float
    seconds: float


FULL = Sizes(
    "full", streams=5000, seats=200, watchers=50, holders=20, holds_per_second=10, seconds=30
)
QUICK = Sizes(
    "quick", streams=500, seats=100, watchers=10, holders=10, holds_per_second=5, seconds=10
)
# Each hold is cancelled this long after it was taken: two changes per hold.
HOLD_FOR_SECONDS = 1.0
OPENING_AT_ONCE = 100


_SEAT_ID = re.compile(rb"event: seat\nid: (\d+)\n")
_SNAPSHOT_ID = re.compile(rb"event: snapshot\nid: (\d+)\n")


class SeatStream(asyncio.Protocol):
    """One open stream: the ids of the `seat` events it got and when (wall clock, seconds).

    A protocol rather than a stream reader, and a scan of the bytes rather than a parse of
    every event: thousands of streams share the machine with the service, and the reader must
    cost as little as it can. The service writes whole events per chunk, so an event never
    spans a chunk's size line; only a read that ends mid-event is held over."""

    def __init__(self) -> None:
        self.snapshot_id: int | None = None
        self.ids = array("q")
        self.arrived = array("d")
        self.error: str | None = None
        self.opened = asyncio.Event()
        self.ended = asyncio.Event()
        self._head_seen = False
        self._pending = b""
        self._transport: asyncio.BaseTransport | None = None

    async def run(self, host: str, port: int, path: str, headers: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self, host, port)
        except OSError as error:
            self._fail(repr(error))
            return
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        assert isinstance(self._transport, asyncio.WriteTransport)
        self._transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            await self.ended.wait()
        finally:
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.time()
        pending = self._pending + data
        if not self._head_seen:
            head, found, rest = pending.partition(b"\r\n\r\n")
            if not found:
                self._pending = pending
                return
            if not head.startswith(b"HTTP/1.1 200"):
                self._fail(head.split(b"\r\n", 1)[0].decode())
                return
            self._head_seen, pending = True, rest
        cut = pending.rfind(b"\n\n")
        if cut < 0:
            self._pending = pending
            return
        complete, self._pending = pending[: cut + 2], pending[cut + 2 :]
        if self.snapshot_id is None:
            snapshot = _SNAPSHOT_ID.search(complete)
            if snapshot is not None:
                self.snapshot_id = int(snapshot.group(1))
                self.opened.set()
        for found_id in _SEAT_ID.findall(complete):
            self.ids.append(int(found_id))
            self.arrived.append(now)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.error = self.error or repr(exc)
        self.opened.set()
        self.ended.set()

    def _fail(self, error: str) -> None:
        self.error = error
        self.opened.set()
        self.ended.set()


def _say(what: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {what}", file=sys.stderr, flush=True)


def _worker_rss(server: Server) -> int:
    total = 0
    for pid in server.worker_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def _worker_cpu_seconds(server: Server) -> float:
    ticks = 0
    for pid in server.worker_pids():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / 100


async def _open_streams(
    server: Server, watchers: list[User], schedule_id: int, count: int
) -> tuple[list[SeatStream], list[asyncio.Task[None]]]:
    url = urlsplit(server.base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    path = f"{url.path}/schedules/{schedule_id}/seats/events"
    streams = [SeatStream() for _ in range(count)]
    tasks: list[asyncio.Task[None]] = []
    for first in range(0, count, OPENING_AT_ONCE):
        batch = streams[first : first + OPENING_AT_ONCE]
        for offset, stream in enumerate(batch):
            watcher = watchers[(first + offset) % len(watchers)]
            tasks.append(asyncio.create_task(stream.run(host, port, path, watcher.headers)))
        await asyncio.gather(*(stream.opened.wait() for stream in batch))
    return streams, tasks


async def _hold_and_cancel(http: ClientPool, user: User, seat_id: int, free: list[int]) -> bool:
    """Hold the seat, cancel the hold a second later; whether the hold was taken."""
    try:
        held = await http.request(
            "POST", "/reservations", json={"seat_id": seat_id}, headers=user.headers
        )
        if held.status_code != 201:
            return False
        await asyncio.sleep(HOLD_FOR_SECONDS)
        reservation = held.json()["id"]
        await http.request("POST", f"/reservations/{reservation}/cancel", headers=user.headers)
        return True
    except httpx.HTTPError as error:
        print(f"hold or cancel failed: {error!r}", file=sys.stderr)
        return False
    finally:
        free.append(seat_id)


async def _run_holds(
    http: ClientPool, holders: list[User], seat_ids: list[int], sizes: Sizes
) -> int:
    free = list(seat_ids)
    random.Random(7).shuffle(free)
    work: list[asyncio.Task[bool]] = []
    interval = 1 / sizes.holds_per_second
    started = time.monotonic()
    for n in range(int(sizes.seconds * sizes.holds_per_second)):
        await asyncio.sleep(max(0.0, started + n * interval - time.monotonic()))
        if free:
            user = holders[n % len(holders)]
            work.append(asyncio.create_task(_hold_and_cancel(http, user, free.pop(), free)))
    return sum(await asyncio.gather(*work))


async def _logged(schedule_id: int) -> dict[int, float]:
    """The schedule's changes: id -> when it was written (seconds since the epoch)."""
    db = Database(DATABASE_URL)
    try:
        async with db.reading() as conn:
            rows = await conn.execute(
                select(seat_change.c.id, seat_change.c.created_at)
                .where(seat_change.c.schedule_id == schedule_id)
                .order_by(seat_change.c.id)
            )
            return {row.id: row.created_at.timestamp() for row in rows}
    finally:
        await db.dispose()


async def _wait_for_delivery(streams: list[SeatStream], last_id: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(s.error or (s.ids and s.ids[-1] >= last_id) for s in streams):
            return
        await asyncio.sleep(0.2)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _judge(streams: list[SeatStream], logged: dict[int, float]) -> dict[str, Any]:
    ids = sorted(logged)
    complete = in_order = 0
    delays: list[float] = []
    for stream in streams:
        expected = [i for i in ids if stream.snapshot_id is None or i > stream.snapshot_id]
        got = list(stream.ids)
        complete += got == expected
        in_order += got == sorted(got)
        delays.extend(
            at - logged[i] for i, at in zip(stream.ids, stream.arrived, strict=True) if i in logged
        )
    return {
        "changes": len(ids),
        "streams_complete": complete,
        "streams_in_order": in_order,
        "deliveries": len(delays),
        "delay_ms": {
            "p50": round(statistics.median(delays) * 1000, 1) if delays else None,
            "p99": round(_percentile(delays, 0.99) * 1000, 1) if delays else None,
            "max": round(max(delays) * 1000, 1) if delays else None,
        },
    }


async def run(sizes: Sizes, workers: int) -> dict[str, Any]:
    settings = {"queue_max_active": 100_000, "db_pool_size": 20}
    async with (
        running_service(settings, workers, REPORTS / "logs") as server,
        ClientPool(server.base_url, 32) as http,
    ):
        concert = await fixtures.create_concert(http, "Streams")
        schedule_id = await fixtures.create_schedule(http, concert, sizes.seats, 10_000)
        people = await fixtures.create_users(sizes.watchers + sizes.holders, 10**9, "streams")
        await fixtures.admit_all(http, people, concert)
        watchers, holders = people[: sizes.watchers], people[sizes.watchers :]
        seat_ids = await fixtures.seat_ids(http, holders[0], schedule_id)

        _say(f"{sizes.streams} streams opening")
        rss_before = _worker_rss(server)
        opening = time.monotonic()
        streams, tasks = await _open_streams(server, watchers, schedule_id, sizes.streams)
        opened_in = time.monotonic() - opening
        await asyncio.sleep(2)
        rss_open = _worker_rss(server)
        refused = [s.error for s in streams if s.error]

        _say(f"opened in {opened_in:.0f} s; holding for {sizes.seconds:.0f} s")
        cpu_before = _worker_cpu_seconds(server)
        client_cpu_before = time.process_time()
        holds = await _run_holds(http, holders, seat_ids, sizes)
        logged = await _logged(schedule_id)
        await _wait_for_delivery(streams, max(logged, default=0), within=10)
        cpu_used = _worker_cpu_seconds(server) - cpu_before
        client_cpu_used = time.process_time() - client_cpu_before
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    verdict = _judge([s for s in streams if not s.error], logged)
    return {
        "streams": sizes.streams,
        "streams_open": sizes.streams - len(refused),
        "refused": refused[:5],
        "opened_in_seconds": round(opened_in, 1),
        "holds": holds,
        "workers": workers,
        "memory_per_stream_kib": round((rss_open - rss_before) / max(1, sizes.streams) / 1024, 1),
        "worker_rss_mib": {"before": rss_before >> 20, "with_streams": rss_open >> 20},
        "worker_cpu_seconds_during_holds": round(cpu_used, 1),
        # The reader of the streams runs on the same cores: its share is part of every delay.
        "client_cpu_seconds_during_holds": round(client_cpu_used, 1),
        **verdict,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench streams", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 streams, about a minute")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--streams", type=int, default=None, help="open streams")
    parser.add_argument("--holds-per-second", type=float, default=None, help="hold rate")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.streams:
        sizes = Sizes(**{**asdict(sizes), "streams": args.streams})
    if args.holds_per_second:
        sizes = Sizes(**{**asdict(sizes), "holds_per_second": args.holds_per_second})
    # One file descriptor per stream, here and in the workers (which inherit the limit).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    started = datetime.now(UTC)
    result = {
        "scenario": "streams",
        "sizes": asdict(sizes),
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine.describe(),
        "stack": {"database": DATABASE, "redis": REDIS_URL},
        **asyncio.run(run(sizes, args.workers)),
    }
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / f"streams-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        if key not in ("machine", "sizes"):
            print(f"{key:34} {value}")
    print(f"\nreport: {path}")
    passed = result["streams_complete"] == result["streams_open"] == sizes.streams
    return 0 if passed else 1
