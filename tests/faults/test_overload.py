"""More clients than the service can serve: several hundred connections, each asking again as soon
as it is answered, against two server processes with the default in-flight limit. The service
sheds what it cannot take with an immediate `503` and `Retry-After`, and what it takes it
answers within a bound, instead of letting every request wait longer the more there are."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from boxoffice.config import Settings
from boxoffice.db import Database
from tests import api
from tests.booking import create_users
from tests.faults.drop import CLIENT_TIMEOUT_SECONDS
from tests.faults.raw_http import Answer, Connection
from tests.faults.services import RedisServer
from tests.servers import clients_for, running_servers

CLIENTS = 400
SEATS = 300
LOAD_SECONDS = 15.0
# The in-flight limit the servers run with: the default, as deployed.
LIMIT = Settings.model_fields["max_requests_in_flight"].default
# A process serves at most LIMIT requests at once, at some tens to a hundred a second on a busy
# 2-core machine that also runs PostgreSQL, Redis and these 400 clients: a few seconds at worst
# (3.7 s measured). Without the limit every client's request is taken and waits in line for the
# pool, up to its 10 s timeout, several times over: 12 s at the p99, 15 s at worst, measured.
ANSWERED_P99_BOUND_SECONDS = 8.0
# A refusal is decided before any work, once the process's event loop reads the request: 1.3 s
# at the p99 at worst when this test ran alone, 9.3 s once in CI with the other test worker
# starving the event loops of CPU. Without the limit the 503s that came were timeouts of
# requests that had waited: 13 s at the p99 alone, far more beside another worker.
SHED_P99_BOUND_SECONDS = 11.0

# Joined, looked, shed; or not admitted yet, between a join and the waiting room's next tick.
EXPECTED = {
    (200, None),
    (201, None),
    (503, "SERVICE_UNAVAILABLE"),
    (403, "QUEUE_NOT_ADMITTED"),
}


@dataclass
class Tally:
    served: list[float] = field(default_factory=list)  # seconds, of every answer but a 503
    shed: list[float] = field(default_factory=list)  # seconds, of every 503
    answers: Counter[tuple[int, str | None]] = field(default_factory=Counter)
    no_answer: int = 0
    no_retry_after: int = 0

    async def ask(
        self, connection: Connection, method: str, path: str, headers: dict[str, str]
    ) -> Answer | None:
        started = time.monotonic()
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT_SECONDS):
                answer = await connection.request(method, path, headers)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            self.no_answer += 1
            return None
        took = time.monotonic() - started
        self.answers[(answer.status, answer.code)] += 1
        if answer.status != 503:
            self.served.append(took)
            return answer
        self.shed.append(took)
        if "retry-after" not in answer.headers:
            self.no_retry_after += 1
        # A well-behaved client waits about as long as it is told before it asks again.
        await asyncio.sleep(float(answer.headers.get("retry-after", 1)) * random.uniform(0.5, 1.5))
        return answer


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def fan(
    base_url: str,
    tally: Tally,
    headers: dict[str, str],
    concert_id: int,
    schedule_id: int,
    deadline: float,
) -> None:
    """Join the line, then look at the place in line and the seat map over and over, on one
    connection of its own."""
    connection = Connection(base_url)
    token: str | None = None
    try:
        while time.monotonic() < deadline:
            if token is None:
                joined = await tally.ask(
                    connection, "POST", f"/concerts/{concert_id}/queue/tokens", headers
                )
                if joined is not None and joined.status in (200, 201):
                    token = joined.json()["token"]
                continue
            with_token = {**headers, "X-Queue-Token": token}
            await tally.ask(connection, "GET", "/queue/status", with_token)
            await tally.ask(connection, "GET", f"/schedules/{schedule_id}/seats", with_token)
    finally:
        connection.close()


async def test_overload_is_shed_early_and_the_rest_answered_in_bounded_time(
    own_postgres_url: str, own_redis: RedisServer
) -> None:
    # Every other setting as deployed: the pool, its timeout, the in-flight limit.
    settings = {
        "redis_url": own_redis.url,
        "queue_max_active": CLIENTS,
        "max_requests_in_flight": LIMIT,
    }
    db = Database(own_postgres_url)
    try:
        users = await create_users(db, CLIENTS)
    finally:
        await db.dispose()
    tally = Tally()
    with running_servers(own_postgres_url, count=2, **settings) as servers:
        async with clients_for(servers, request_timeout=CLIENT_TIMEOUT_SECONDS) as clients:
            concert = await api.create_concert(clients[0], title="Overload")
            schedule = await api.create_schedule(clients[0], concert["id"], seat_count=SEATS)
        started = time.monotonic()
        await asyncio.gather(
            *(
                fan(
                    servers[n % 2],
                    tally,
                    user["headers"],
                    concert["id"],
                    schedule["id"],
                    started + LOAD_SECONDS,
                )
                for n, user in enumerate(users)
            )
        )
        elapsed = time.monotonic() - started
    answered = len(tally.served) + len(tally.shed)
    p99 = percentile(tally.served, 0.99)
    print(
        f"\n{CLIENTS} clients on 2 processes (limit {LIMIT} each) for {elapsed:.1f} s: "
        f"{answered} answers ({answered / elapsed:.0f}/s), {len(tally.shed)} shed "
        f"({len(tally.shed) / answered:.0%}) in {percentile(tally.shed, 0.5):.3f} s (median) "
        f"{percentile(tally.shed, 0.99):.3f} s (p99); served in "
        f"{percentile(tally.served, 0.5):.2f} s (median), {p99:.2f} s (p99), "
        f"{max(tally.served):.2f} s (slowest); {tally.answers}"
    )
    assert set(tally.answers) <= EXPECTED, tally.answers
    assert tally.no_answer == 0
    assert tally.no_retry_after == 0
    assert tally.shed, "the servers were never overloaded: nothing to shed"
    assert p99 < ANSWERED_P99_BOUND_SECONDS, p99
    assert percentile(tally.shed, 0.99) < SHED_P99_BOUND_SECONDS
