"""A drop-shaped load for the fault tests, and the checks made after it.

Fans join the line, hold seats, pay and sometimes cancel, spread over several server processes,
until a deadline. A fan whose request gets no answer (a 503, a timeout, a dropped connection)
retries; a payment is retried with the same `Idempotency-Key` until it gets an answer that says
what happened. The `Ledger` keeps what every fan was told; `verify` then holds the database to it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select

from boxoffice.db import Database
from boxoffice.statuses import PaymentStatus, ReservationStatus
from boxoffice.tables import payment, reservation
from tests import api
from tests.booking import assert_audit_passes, balance_of, code, create_users, seat_ids

PRICE = 10_000
# Enough for three seats each: some payments are refused for want of money, too.
BALANCE = 3 * PRICE
# Whoever answers, answers within the service's timeouts (set by `DROP_SETTINGS`); a client
# that waits longer than this has met a hang.
CLIENT_TIMEOUT_SECONDS = 20.0
DROP_SETTINGS: dict[str, Any] = {
    "queue_max_active": 10_000,
    "sweep_interval_seconds": 0.2,
    "db_pool_size": 10,
    "db_pool_timeout_seconds": 3,
    "db_connect_timeout_seconds": 3,
    "db_statement_timeout_seconds": 5,
    "redis_socket_timeout_seconds": 2,
    "redis_connect_timeout_seconds": 2,
}
# Answers that mean "not now": the fan waits a moment and tries again.
TRY_AGAIN = {(503, "SERVICE_UNAVAILABLE"), (409, "IDEMPOTENCY_KEY_IN_USE")}


@dataclass
class Fan:
    id: int
    headers: dict[str, str]
    queue_token: str | None = None
    # Anything this fan asked whose outcome it never learnt: its balance cannot be foretold.
    unsure: bool = False


@dataclass
class Ledger:
    """What the fans were told, and how long every answer took."""

    holds: dict[int, int] = field(default_factory=dict)  # reservation -> fan
    payments: dict[int, dict[str, Any]] = field(default_factory=dict)  # reservation -> payment
    cancelled: set[int] = field(default_factory=set)
    unanswered_payments: set[int] = field(default_factory=set)
    # Cancels that got no answer, or a 503: each may have been committed before the answer was lost.
    unanswered_cancels: set[int] = field(default_factory=set)
    answers: Counter[tuple[int, str | None]] = field(default_factory=Counter)
    # (when it was answered on the monotonic clock, status, seconds it took) of every answer.
    timeline: list[tuple[float, int, float]] = field(default_factory=list)
    slowest: float = 0.0
    no_answer: int = 0
    # 503s that did not say when to try again (the contract wants `Retry-After` on every one).
    no_retry_after: int = 0

    def between(self, start: float, end: float) -> list[tuple[float, int, float]]:
        return [answer for answer in self.timeline if start <= answer[0] <= end]

    def first_hold_after(self, moment: float) -> float:
        """When the first seat was held after `moment` (infinity if none was)."""
        return min(
            (when for when, status, _ in self.timeline if when > moment and status == 201),
            default=float("inf"),
        )

    def answered(self) -> int:
        return len(self.timeline)


class Drop:
    """The load: `run` until `deadline` (monotonic), `ledger` filled as it goes."""

    def __init__(
        self,
        clients: Sequence[httpx.AsyncClient],
        concert_id: int,
        seats: list[int],
        fans: list[Fan],
        ledger: Ledger | None = None,
    ) -> None:
        self.clients = clients
        self.concert_id = concert_id
        self.seats = seats
        self.fans = fans
        # A drop that goes on after its servers were replaced keeps the ledger it had.
        self.ledger = ledger or Ledger()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One request to a random server; None when no answer came."""
        started = time.monotonic()
        try:
            response = await random.choice(self.clients).request(method, path, **kwargs)
        except httpx.HTTPError:
            self.ledger.no_answer += 1
            return None
        took = time.monotonic() - started
        self.ledger.slowest = max(self.ledger.slowest, took)
        self.ledger.timeline.append((time.monotonic(), response.status_code, took))
        self.ledger.answers[(response.status_code, code(response))] += 1
        if response.status_code == 503 and "Retry-After" not in response.headers:
            self.ledger.no_retry_after += 1
        return response

    async def run(self, deadline: float) -> None:
        await asyncio.gather(*(self._fan(fan, deadline) for fan in self.fans))

    async def _fan(self, fan: Fan, deadline: float) -> None:
        while time.monotonic() < deadline:
            if fan.queue_token is None:
                await self._join(fan)
                continue
            reservation_id = await self._hold(fan)
            if reservation_id is None:
                continue
            paid = await self._pay(fan, reservation_id, deadline)
            if random.random() < (0.3 if paid else 0.5):
                await self._cancel(fan, reservation_id)

    def _headers(self, fan: Fan, **extra: str) -> dict[str, str]:
        token = {"X-Queue-Token": fan.queue_token} if fan.queue_token else {}
        return {**fan.headers, **token, **extra}

    async def _join(self, fan: Fan) -> None:
        joined = await self.request(
            "POST", f"/concerts/{self.concert_id}/queue/tokens", headers=fan.headers
        )
        if joined is None or joined.status_code not in (200, 201):
            await _pause()
            return
        fan.queue_token = joined.json()["token"]
        if joined.json()["status"] == "WAITING":
            # Admitted by the waiting room's next tick.
            await asyncio.sleep(0.3)

    async def _hold(self, fan: Fan) -> int | None:
        held = await self.request(
            "POST",
            "/reservations",
            json={"seat_id": random.choice(self.seats)},
            headers=self._headers(fan),
        )
        if held is not None and held.status_code == 201:
            reservation_id: int = held.json()["id"]
            self.ledger.holds[reservation_id] = fan.id
            return reservation_id
        self._forget_a_lost_place(fan, held)
        if held is None or code(held) == "SERVICE_UNAVAILABLE":
            # A hold whose answer was lost may have been made: it costs nothing, and expires.
            await _pause()
        return None

    async def _pay(self, fan: Fan, reservation_id: int, deadline: float) -> bool:
        """Pay, retrying with one Idempotency-Key until an answer says what happened."""
        key = str(uuid.uuid4())
        while time.monotonic() < deadline:
            paid = await self.request(
                "POST",
                "/payments",
                json={"reservation_id": reservation_id},
                headers=self._headers(fan, **{"Idempotency-Key": key}),
            )
            if paid is not None and paid.status_code == 201:
                self.ledger.payments[reservation_id] = paid.json()
                return True
            self._forget_a_lost_place(fan, paid)
            if paid is None or (paid.status_code, code(paid)) in TRY_AGAIN:
                await _pause()
                continue
            if code(paid) == "QUEUE_TOKEN_INVALID":
                # The line lost this fan's place: join again and retry the same payment.
                await self._join(fan)
                continue
            return False
        self.ledger.unanswered_payments.add(reservation_id)
        fan.unsure = True
        return False

    async def _cancel(self, fan: Fan, reservation_id: int) -> None:
        cancelled = await self.request(
            "POST", f"/reservations/{reservation_id}/cancel", headers=fan.headers
        )
        if cancelled is not None and cancelled.status_code == 200:
            self.ledger.cancelled.add(reservation_id)
        elif cancelled is None or cancelled.status_code == 503:
            self.ledger.unanswered_cancels.add(reservation_id)
            fan.unsure = True

    def _forget_a_lost_place(self, fan: Fan, response: httpx.Response | None) -> None:
        if response is not None and code(response) == "QUEUE_TOKEN_INVALID":
            fan.queue_token = None


async def _pause() -> None:
    """A short, jittered wait before a retry: shorter than `Retry-After`, so that the fans
    find out how soon the service is back."""
    await asyncio.sleep(random.uniform(0.05, 0.3))


async def until(condition: Callable[[], bool], within: float = 30) -> None:
    """Wait for `condition` (say, that the drop is in full swing)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the drop never got going"
        await asyncio.sleep(0.05)


async def prepare(
    db: Database, client: httpx.AsyncClient, fans: int, seats: int
) -> tuple[int, list[int], list[Fan]]:
    """A concert of `seats` seats at `PRICE` and `fans` funded fans: (concert, seats, fans)."""
    concert = await api.create_concert(client, title="Fault drop")
    schedule = await api.create_schedule(client, concert["id"], seat_count=seats, price=PRICE)
    users = await create_users(db, fans, balance=BALANCE)
    return (
        concert["id"],
        await seat_ids(db, schedule["id"]),
        [Fan(user["id"], user["headers"]) for user in users],
    )


async def verify_on(database_url: str, drop: Drop) -> None:
    """`verify` on a database of its own, for a test whose service has let go of the database."""
    db = Database(database_url)
    try:
        await verify(db, drop)
    finally:
        await db.dispose()


async def verify(db: Database, drop: Drop) -> None:
    """Everything the fans were told is in the database, and nothing else that costs money."""
    ledger = drop.ledger
    assert not [a for a in ledger.answers if a[0] >= 500 and a[0] != 503], ledger.answers
    assert ledger.slowest < CLIENT_TIMEOUT_SECONDS, ledger.slowest
    assert ledger.no_retry_after == 0, ledger.no_retry_after
    await assert_audit_passes(db)
    async with db.reading() as conn:
        reservations = {
            row.id: row
            for row in await conn.execute(
                select(reservation.c.id, reservation.c.user_id, reservation.c.status)
            )
        }
        successes = (
            await conn.execute(
                select(payment.c.reservation_id, func.count())
                .where(payment.c.status.in_([PaymentStatus.SUCCESS, PaymentStatus.CANCELLED]))
                .group_by(payment.c.reservation_id)
            )
        ).all()
    # Every hold a fan was told of is there, and is that fan's.
    for reservation_id, fan_id in ledger.holds.items():
        assert reservations[reservation_id].user_id == fan_id
    # Every payment a fan was told of stands, or was refunded by a cancellation it was told of
    # or one whose answer was lost.
    for reservation_id in ledger.payments:
        status = reservations[reservation_id].status
        if reservation_id in ledger.cancelled:
            expected = {ReservationStatus.CANCELLED}
        elif reservation_id in ledger.unanswered_cancels:
            expected = {ReservationStatus.CONFIRMED, ReservationStatus.CANCELLED}
        else:
            expected = {ReservationStatus.CONFIRMED}
        assert status in expected, (reservation_id, status)
    # No reservation was charged twice, and nothing was charged that no fan asked to pay for.
    assert all(count == 1 for _, count in successes), successes
    charged = {reservation_id for reservation_id, _ in successes}
    assert charged <= set(ledger.payments) | ledger.unanswered_payments, (
        charged - set(ledger.payments) - ledger.unanswered_payments
    )
    for reservation_id in ledger.cancelled:
        assert reservations[reservation_id].status == ReservationStatus.CANCELLED
    await _balances_match_what_fans_were_told(db, drop)


async def _balances_match_what_fans_were_told(db: Database, drop: Drop) -> None:
    kept: Counter[int] = Counter()
    for reservation_id, paid in drop.ledger.payments.items():
        if reservation_id not in drop.ledger.cancelled:
            kept[paid["user_id"]] += paid["amount"]
    for fan in drop.fans:
        if not fan.unsure:
            assert await balance_of(db, fan.id) == BALANCE - kept[fan.id], fan.id
