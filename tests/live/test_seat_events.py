"""The live seat map across server processes: a change committed through one process reaches
streams held on the others within a second, every change once and in commit order, and a
reconnecting client gets what it missed. On SQLite and PostgreSQL, with and without Redis."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from boxoffice.db import Database
from boxoffice.tables import seat, seat_change
from tests import api, booking
from tests.live import deployments
from tests.live.deployments import Deployment, two_servers
from tests.servers import Server
from tests.sse import Event, Stream, open_stream

DEPLOYMENTS = [
    pytest.param(("sqlite", False), id="sqlite"),
    pytest.param(("sqlite", True), id="sqlite-redis"),
    pytest.param(("postgres", False), id="postgres"),
    pytest.param(("postgres", True), id="postgres-redis"),
]
HOLD_SECONDS = 3.0


@pytest.fixture(scope="module", params=DEPLOYMENTS)
def deployment(request: pytest.FixtureRequest) -> Deployment:
    database, with_redis = request.param
    return database, with_redis


@pytest.fixture(scope="module")
def servers(request: pytest.FixtureRequest, deployment: Deployment) -> Iterator[list[Server]]:
    """Two server processes per deployment, for the whole module."""
    with two_servers(
        request, deployment, hold_ttl_seconds=HOLD_SECONDS, **booking.OPEN_DOORS
    ) as bases:
        yield bases


backend = deployments.backend
clients = deployments.clients


def seats_path(schedule_id: int) -> str:
    return f"/schedules/{schedule_id}/seats/events"


def seat_events(events: list[Event]) -> list[tuple[int, int, str]]:
    return [(int(e.id or 0), e.data["id"], e.data["status"]) for e in events if e.name == "seat"]


async def logged_changes(db: Database, schedule_id: int) -> list[tuple[int, int, str]]:
    async with db.reading() as conn:
        rows = await conn.execute(
            select(seat_change.c.id, seat_change.c.seat_id, seat_change.c.status)
            .where(seat_change.c.schedule_id == schedule_id)
            .order_by(seat_change.c.id)
        )
        return [tuple(row) for row in rows]


async def seat_rows(db: Database, schedule_id: int) -> dict[int, str]:
    async with db.reading() as conn:
        rows = await conn.execute(
            select(seat.c.id, seat.c.status).where(seat.c.schedule_id == schedule_id)
        )
        return {row.id: row.status for row in rows}


async def snapshot_of(stream: Stream) -> Event:
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    first = await stream.next()
    assert first.name == "snapshot", first
    return first


async def set_up(
    clients: list[httpx.AsyncClient], db: Database, seats: int, people: int
) -> tuple[int, list[dict[str, str]]]:
    concert = await api.create_concert(clients[0])
    schedule = await api.create_schedule(clients[0], concert["id"], seat_count=seats)
    users = await booking.create_users(db, people)
    return schedule["id"], await booking.admit_all(clients, users, concert["id"])


async def test_a_hold_on_one_process_reaches_a_stream_on_the_other_within_a_second(
    clients: list[httpx.AsyncClient], db: Database
) -> None:
    schedule_id, headers = await set_up(clients, db, seats=6, people=2)
    seat_ids = await booking.seat_ids(db, schedule_id)

    async with open_stream(clients[1], seats_path(schedule_id), headers[1]) as watching:
        snapshot = await snapshot_of(watching)
        assert snapshot.data == {
            "schedule_id": schedule_id,
            "items": [
                {"id": i, "seat_number": str(n + 1), "price": 10_000, "status": "AVAILABLE"}
                for n, i in enumerate(seat_ids)
            ],
        }
        for target in seat_ids[:3]:
            await booking.held(clients[0], headers[0], target)
            committed = time.monotonic()
            event = await watching.next(within=5)
            assert event.name == "seat"
            assert event.data == {
                "id": target,
                "seat_number": str(seat_ids.index(target) + 1),
                "status": "UNAVAILABLE",
            }
            assert event.at - committed < 1.0, f"delivered after {event.at - committed:.2f} s"


async def test_every_change_reaches_every_stream_once_in_commit_order(
    clients: list[httpx.AsyncClient], db: Database
) -> None:
    schedule_id, headers = await set_up(clients, db, seats=12, people=8)
    seat_ids = await booking.seat_ids(db, schedule_id)

    async with (
        open_stream(clients[0], seats_path(schedule_id), headers[0]) as first,
        open_stream(clients[1], seats_path(schedule_id), headers[1]) as second,
    ):
        streams = [first, second]
        for stream in streams:
            await snapshot_of(stream)

        async def busy_fan(index: int) -> None:
            # Holds that race for the same few seats, and cancels, through both processes.
            rng = random.Random(index)
            client = clients[index % 2]
            for _ in range(4):
                response = await booking.hold(client, headers[index], rng.choice(seat_ids))
                if response.status_code == 201 and rng.random() < 0.5:
                    reservation = response.json()["id"]
                    await client.post(f"/reservations/{reservation}/cancel", headers=headers[index])

        await asyncio.gather(*(busy_fan(i) for i in range(8)))
        # Then every remaining hold expires and the sweeper frees its seat.
        await asyncio.sleep(HOLD_SECONDS + 2)
        logged = await logged_changes(db, schedule_id)
        assert logged, "nothing was held"
        final = await seat_rows(db, schedule_id)
        assert set(final.values()) == {"AVAILABLE"}

        for stream in streams:
            events = await stream.until(lambda e: int(e.id or 0) >= logged[-1][0], within=5)
            assert seat_events(events) == logged
            assert await stream.quiet(0.5) == []


async def test_a_reconnecting_client_gets_what_it_missed_or_a_fresh_snapshot(
    clients: list[httpx.AsyncClient], db: Database
) -> None:
    schedule_id, headers = await set_up(clients, db, seats=6, people=1)
    seat_ids = await booking.seat_ids(db, schedule_id)

    async with open_stream(clients[0], seats_path(schedule_id), headers[0]) as stream:
        await snapshot_of(stream)
        await booking.held(clients[0], headers[0], seat_ids[0])
        seen = await stream.next()
    last_id = seen.id
    assert last_id is not None

    # Missed while away: a hold and a cancel through the other process.
    missed = await booking.held(clients[1], headers[0], seat_ids[1])
    await clients[1].post(f"/reservations/{missed['id']}/cancel", headers=headers[0])
    expected = [c for c in await logged_changes(db, schedule_id) if c[0] > int(last_id)]
    assert [(c[1], c[2]) for c in expected] == [
        (seat_ids[1], "UNAVAILABLE"),
        (seat_ids[1], "AVAILABLE"),
    ]

    for client in clients:
        resumed_headers = {**headers[0], "Last-Event-ID": last_id}
        async with open_stream(client, seats_path(schedule_id), resumed_headers) as resumed:
            caught_up = [await resumed.next() for _ in expected]
            assert seat_events(caught_up) == expected
            assert await resumed.quiet(0.3) == []

    # An id the server cannot resume from gets a fresh snapshot with the seats as they are.
    for unusable in ("0", "not-a-number", str(10**15)):
        with_id = {**headers[0], "Last-Event-ID": unusable}
        async with open_stream(clients[1], seats_path(schedule_id), with_id) as fresh:
            snapshot = await snapshot_of(fresh)
            statuses = {item["id"]: item["status"] for item in snapshot.data["items"]}
            assert statuses == await seat_rows(db, schedule_id)
            assert statuses[seat_ids[0]] == "UNAVAILABLE"


async def test_an_expired_hold_comes_back_available_on_the_stream(
    clients: list[httpx.AsyncClient], db: Database
) -> None:
    schedule_id, headers = await set_up(clients, db, seats=3, people=1)
    seat_ids = await booking.seat_ids(db, schedule_id)

    async with open_stream(clients[1], seats_path(schedule_id), headers[0]) as stream:
        await snapshot_of(stream)
        hold = await booking.held(clients[0], headers[0], seat_ids[2])
        taken = await stream.next()
        assert (taken.data["id"], taken.data["status"]) == (seat_ids[2], "UNAVAILABLE")
        expires = booking.parse_time(hold["expires_at"])
        back = await stream.next(within=HOLD_SECONDS + 3)
        assert (back.data["id"], back.data["status"]) == (seat_ids[2], "AVAILABLE")
        late = time.time() - expires.timestamp()
        assert late < 2.0, f"the seat came back {late:.2f} s after the hold expired"


async def test_a_blocked_fans_held_seat_comes_back_available_on_the_stream_at_once(
    clients: list[httpx.AsyncClient], db: Database
) -> None:
    concert = await api.create_concert(clients[0])
    schedule = await api.create_schedule(clients[0], concert["id"], seat_count=3)
    blocked, watcher = await booking.create_users(db, 2)
    headers = await booking.admit_all(clients, [blocked, watcher], concert["id"])
    seat_ids = await booking.seat_ids(db, schedule["id"])

    async with open_stream(clients[1], seats_path(schedule["id"]), headers[1]) as stream:
        await snapshot_of(stream)
        await booking.held(clients[0], headers[0], seat_ids[1])
        taken = await stream.next()
        assert (taken.data["id"], taken.data["status"]) == (seat_ids[1], "UNAVAILABLE")
        answered = await clients[0].post(f"/admin/users/{blocked['id']}/block", headers=api.ADMIN)
        assert answered.status_code == 200, answered.text
        committed = time.monotonic()
        back = await stream.next()
        assert (back.data["id"], back.data["status"]) == (seat_ids[1], "AVAILABLE")
        assert back.at - committed < 1.0, f"delivered after {back.at - committed:.2f} s"
