"""The ticket drop: a crowd joins one concert's line in the minute before the sale opens and a
smaller one just after, waits its turn, and the admitted hold a random free seat and pay for it
until every seat is sold. Then the data is checked: no seat sold twice, no won lost, the line
served in the promised order (those who came before the opening in a random order, then the
others in arrival order)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import checks, cpu, fixtures, order, profiling
from bench.fixtures import User
from bench.http import ClientPool, problem_code
from bench.progress import say
from bench.seatboard import SeatBoard
from bench.sizes import Sizes
from bench.stack import running_service
from bench.stats import Recorder, percentile

PRICE = 50_000
BALANCE = 2 * PRICE
ACTIVE_TTL = 600
SETTINGS_BASE: dict[str, object] = {
    "queue_active_ttl_seconds": ACTIVE_TTL,
    # A hold whose payment went wrong frees its seat within the run.
    "hold_ttl_seconds": 120,
}
JOIN = "POST /concerts/{id}/queue/tokens"
STATUS = "GET /queue/status"
CENSUS = "GET /queue/status (census)"
LEAVE = "DELETE /queue/status"
SEATS = "GET /schedules/{id}/seats"
HOLD = "POST /reservations"
PAY = "POST /payments"
RELOAD_WHEN_EMPTY = 0.5  # seconds between seat-map reloads when nobody knows a free seat
RELOAD_AFTER_CONFLICT = 2.0  # ... and after a conflict, when the map is older than this


@dataclass
class Fan:
    index: int
    user: User
    arrival: order.Arrival | None = None
    status: str | None = None
    position: int | None = None
    opens_at: float | None = None  # epoch seconds, while the sale has not opened
    eta: float | None = None
    outcome: str = "none"  # bought / left / error
    paid: int = 0
    errors: list[str] = field(default_factory=list)


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def _wait_or(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)


class Drop:
    def __init__(
        self, http: ClientPool, sizes: Sizes, concert_id: int, schedule_id: int, people: list[User]
    ) -> None:
        self.http = http
        self.sizes = sizes
        self.concert_id = concert_id
        self.schedule_id = schedule_id
        self.rng = random.Random(7)
        self.fans = [Fan(i, user) for i, user in enumerate(people)]
        self.board = SeatBoard(self.rng)
        self.recorder = Recorder()
        self.sold = 0
        self.holds = 0
        self.conflicts = 0
        self.sold_out = asyncio.Event()
        self.census: order.Census | None = None
        self.census_done = asyncio.Event()
        self._census_task: asyncio.Task[None] | None = None
        self.has_queue: bool | None = None
        self.start = 0.0
        self.opening = 0.0  # seconds after the start
        self.last_join_done = 0.0
        self.last_payment_done = 0.0
        self.curve: list[tuple[float, int, int]] = []  # (seconds, holds, sold)

    def now(self) -> float:
        return time.perf_counter() - self.start

    # The crowd.

    async def run(self) -> None:
        sizes = self.sizes
        self.opening = sizes.drop_pre_queue_seconds
        await fixtures.open_sale_at(
            self.http, self.concert_id, datetime.now(UTC) + timedelta(seconds=self.opening)
        )
        self.start = time.perf_counter()
        monitor = asyncio.create_task(self._monitor())
        try:
            async with asyncio.timeout(sizes.drop_timeout_seconds + self.opening):
                await asyncio.gather(*(self.journey(f, self.arrival_time(f)) for f in self.fans))
        except TimeoutError:
            pass
        finally:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
            if self._census_task is not None:
                self._census_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._census_task

    def arrival_time(self, fan: Fan) -> float:
        """When the fan comes, in seconds after the start: the first `drop_users` evenly over
        the time before the opening, the rest evenly over `drop_join_seconds` after it."""
        early = self.sizes.drop_users
        if fan.index < early:
            return fan.index * self.opening / max(1, early)
        late = max(1, len(self.fans) - early)
        return self.opening + (fan.index - early) * self.sizes.drop_join_seconds / late

    async def _monitor(self) -> None:
        while True:
            self.curve.append((round(self.now(), 1), self.holds, self.sold))
            if len(self.curve) % 5 == 1:
                say(f"drop: {self.holds} held, {self.sold} sold")
            await asyncio.sleep(1)

    async def journey(self, fan: Fan, arrives_at: float) -> None:
        await asyncio.sleep(max(0.0, arrives_at - self.now()))
        if self.sold_out.is_set():
            return  # sold out before they came
        if not await self.join(fan):
            return
        while fan.status == "WAITING":
            if self.sold_out.is_set():
                break
            await _wait_or(self.sold_out, self.poll_interval(fan))
            if self.sold_out.is_set():
                break
            await self.poll(fan)
        if fan.status == "ACTIVE" and not self.sold_out.is_set():
            await self.buy(fan)
        if fan.outcome != "bought" and self.has_queue and fan.status in ("WAITING", "ACTIVE"):
            if self.sold_out.is_set():
                await self.census_done.wait()
            await self.leave(fan)

    def poll_interval(self, fan: Fan) -> float:
        """Poll about twice before the expected turn: after half the service's `eta_seconds`,
        or, before it has an estimate, after position / 200 seconds; never more often than
        once a second nor less often than `drop_max_poll_seconds` (5 minutes in the full run:
        with a short ceiling the thousands of fans far back in line, polling every few seconds,
        are most of the traffic and starve the holds and payments). Jittered, so polls do not
        bunch. Before the opening the page counts down and asks again within
        `drop_opening_spread_seconds` after it."""
        if fan.opens_at is not None:
            until = max(0.0, fan.opens_at - time.time())
            spread = self.rng.uniform(0, self.sizes.drop_opening_spread_seconds)
            return min(until + spread, self.sizes.drop_max_poll_seconds)
        if fan.eta is not None:
            base = fan.eta / 2
        elif fan.position is not None:
            base = fan.position / 200
        else:
            base = 1.0
        base = min(max(base, 1.0), self.sizes.drop_max_poll_seconds)
        return base * self.rng.uniform(0.8, 1.2)

    def _observe(self, fan: Fan, sent: float, done: float, body: dict[str, Any]) -> None:
        fan.status = body.get("status")
        position = body.get("position")
        fan.position = position if isinstance(position, int) else None
        eta = body.get("eta_seconds")
        fan.eta = float(eta) if isinstance(eta, int | float) else None
        opens_at = body.get("opens_at")
        fan.opens_at = _epoch(opens_at) if isinstance(opens_at, str) else None
        arrival = fan.arrival
        assert arrival is not None
        if fan.status == "WAITING":
            arrival.last_waiting_sent = sent
            if fan.position is not None:
                arrival.positions.append(fan.position)
        elif fan.status == "ACTIVE" and arrival.first_active_done is None:
            arrival.first_active_done = done
            until = body.get("active_until")
            if isinstance(until, str):
                arrival.admitted_at = _epoch(until) - ACTIVE_TTL

    async def join(self, fan: Fan) -> bool:
        url = f"/concerts/{self.concert_id}/queue/tokens"
        for attempt in range(10):
            sent = time.perf_counter()
            response = await self.http.call(
                self.recorder, JOIN, "POST", url, headers=fan.user.headers
            )
            done = time.perf_counter()
            if response is not None and fixtures.no_waiting_room(response):
                self.has_queue = False
                fan.status = "ACTIVE"
                return True
            if response is not None and response.status_code in (200, 201):
                self.has_queue = True
                self.last_join_done = max(self.last_join_done, done - self.start)
                body = response.json()
                fan.user.headers = {**fan.user.headers, "X-Queue-Token": body["token"]}
                if fan.arrival is None:
                    fan.arrival = order.Arrival(
                        join_sent=sent, join_done=done, before_opening=bool(body.get("opens_at"))
                    )
                self._observe(fan, sent, done, body)
                return True
            if response is not None and response.status_code < 500:
                fan.errors.append(f"join {response.status_code} {problem_code(response)}")
                fan.outcome = "error"
                return False
            await asyncio.sleep(0.2 * (attempt + 1))
        fan.outcome = "error"
        fan.errors.append("join failed 10 times")
        return False

    async def poll(self, fan: Fan, census: bool = False) -> None:
        sent = time.perf_counter()
        response = await self.http.call(
            self.recorder,
            CENSUS if census else STATUS,
            "GET",
            "/queue/status",
            headers=fan.user.headers,
        )
        done = time.perf_counter()
        if response is None or response.status_code >= 500:
            return  # try again at the next poll
        if response.status_code != 200:
            fan.errors.append(f"status {response.status_code} {problem_code(response)}")
            fan.status = "ERROR"
            return
        self._observe(fan, sent, done, response.json())
        if census and fan.arrival is not None and fan.status == "WAITING":
            fan.arrival.census_position = fan.position

    async def leave(self, fan: Fan) -> None:
        for attempt in range(5):
            response = await self.http.call(
                self.recorder, LEAVE, "DELETE", "/queue/status", headers=fan.user.headers
            )
            if response is not None and response.status_code < 500:
                if fan.outcome == "none":
                    fan.outcome = "left"
                if response.status_code != 204:
                    fan.errors.append(f"leave {response.status_code} {problem_code(response)}")
                return
            await asyncio.sleep(0.2 * (attempt + 1))

    async def free_seats(self, fan: Fan) -> list[int] | None:
        response = await self.http.call(
            self.recorder,
            SEATS,
            "GET",
            f"/schedules/{self.schedule_id}/seats",
            params={"status": "AVAILABLE"},
            headers=fan.user.headers,
        )
        if response is None or response.status_code != 200:
            return None
        return [item["id"] for item in response.json()["items"]]

    async def buy(self, fan: Fan) -> None:
        """Hold a random free seat, try another on a conflict, then pay for it."""

        def reload() -> Any:
            return self.free_seats(fan)

        while not self.sold_out.is_set():
            seat_id = self.board.pick()
            if seat_id is None:
                await self.board.reload(reload, RELOAD_WHEN_EMPTY)
                if not len(self.board):
                    await _wait_or(self.sold_out, RELOAD_WHEN_EMPTY)
                continue
            response = await self.http.call(
                self.recorder,
                HOLD,
                "POST",
                "/reservations",
                json={"seat_id": seat_id},
                headers=fan.user.headers,
            )
            if response is None or response.status_code >= 500:
                self.board.release(seat_id)
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 201:
                self.board.held(seat_id)
                self.holds += 1
                body = response.json()
                await self.pay(fan, body["id"], body["amount"])
                return
            code = problem_code(response)
            if code == "SEAT_UNAVAILABLE":
                self.board.lost(seat_id)
                self.conflicts += 1
                await self.board.reload(reload, RELOAD_AFTER_CONFLICT)
                continue
            self.board.release(seat_id)
            fan.errors.append(f"hold {response.status_code} {code}")
            if code == "QUEUE_NOT_ADMITTED":
                await asyncio.sleep(0.2)
                continue
            fan.outcome = "error"
            return

    async def pay(self, fan: Fan, reservation_id: int, amount: int) -> None:
        headers = {**fan.user.headers, "Idempotency-Key": f"drop-{fan.user.id}-{reservation_id}"}
        for attempt in range(10):
            response = await self.http.call(
                self.recorder,
                PAY,
                "POST",
                "/payments",
                json={"reservation_id": reservation_id},
                headers=headers,
            )
            if response is not None and response.status_code == 201:
                fan.outcome = "bought"
                fan.paid = amount
                self.sold += 1
                self.last_payment_done = self.now()
                if self.sold >= self.sizes.drop_seats and not self.sold_out.is_set():
                    self.sold_out.set()
                    self._census_task = asyncio.create_task(self.take_census())
                return
            retry = (
                response is None
                or response.status_code >= 500
                or (problem_code(response) == "IDEMPOTENCY_KEY_IN_USE")
            )
            if not retry:
                assert response is not None
                fan.errors.append(f"pay {response.status_code} {problem_code(response)}")
                fan.outcome = "error"
                return
            await asyncio.sleep(0.2 * (attempt + 1))
        fan.outcome = "error"
        fan.errors.append("payment failed 10 times")

    async def take_census(self) -> None:
        """Ask everyone still waiting for their place, before anyone leaves (see `Census`)."""
        try:
            before = await fixtures.line_waiting(self.http, self.concert_id)
            waiting = [f for f in self.fans if f.status == "WAITING" and f.arrival is not None]
            await fixtures.bounded(
                self.http.size, (functools.partial(self.poll, f, census=True) for f in waiting)
            )
            after = await fixtures.line_waiting(self.http, self.concert_id)
            told = [f.arrival.census_position for f in waiting if f.arrival is not None]
            positions = [p for p in told if p is not None]
            self.census = order.Census(len(waiting), before, after, positions)
            say(f"drop: census of {len(waiting)} still in line")
        finally:
            self.census_done.set()

    # The figures.

    def figures(self) -> dict[str, Any]:
        rec = self.recorder
        requests = rec.total_requests()
        five = rec.total_server_errors()
        sell_out = self.last_payment_done - self.opening if self.sold_out.is_set() else None
        arrivals = [f.arrival for f in self.fans if f.arrival is not None]
        admitted = [a for a in arrivals if a.first_active_done is not None]
        waits = sorted(
            a.first_active_done - a.join_done for a in admitted if a.first_active_done is not None
        )
        outcomes: dict[str, int] = {}
        for f in self.fans:
            outcomes[f.outcome] = outcomes.get(f.outcome, 0) + 1
        errors: dict[str, int] = {}
        for f in self.fans:
            for e in f.errors:
                errors[e] = errors.get(e, 0) + 1
        return {
            "users": len(self.fans),
            "opening": self.opening_figures(arrivals),
            "seats": self.sizes.drop_seats,
            "max_active": self.sizes.drop_max_active,
            "connections": self.http.size,
            "waiting_room": self.has_queue,
            "sold": self.sold,
            "sold_out": self.sold_out.is_set(),
            "sell_out_seconds": sell_out,
            "join_wave_seconds": round(self.last_join_done, 2),
            "holds": self.holds,
            "seat_conflicts": self.conflicts,
            "seat_map_reloads": self.board.refreshes,
            "holds_per_s": round(self.holds / sell_out, 1) if sell_out else None,
            "payments_per_s": round(self.sold / sell_out, 1) if sell_out else None,
            "requests": requests,
            "server_errors": five,
            "server_error_share": five / requests if requests else 0.0,
            "transport_errors": rec.total_transport_errors(),
            "outcomes": outcomes,
            "fan_errors": errors,
            "admission_wait_s": {
                "admitted": len(admitted),
                "p50": round(percentile(waits, 0.5), 2),
                "p99": round(percentile(waits, 0.99), 2),
                "max": round(waits[-1], 2) if waits else None,
            },
            "generator_wait_ms": {
                "p50": round(percentile(sorted(rec.waits), 0.5) * 1000, 1),
                "p99": round(percentile(sorted(rec.waits), 0.99) * 1000, 1),
            },
            "endpoints": rec.summary(),
            "curve": self.curve,
        }

    def opening_figures(self, arrivals: list[order.Arrival]) -> dict[str, Any]:
        """Admission order against arrival order, on each side of the opening."""

        def side(group: list[order.Arrival]) -> dict[str, Any]:
            rho = order.rank_correlation(group)
            return {
                "users": len(group),
                "placed": order.placed_count(group),
                "spearman": None if rho is None else round(rho, 4),
            }

        return {
            "pre_queue_seconds": self.opening,
            "before": side([a for a in arrivals if a.before_opening]),
            "after": side([a for a in arrivals if not a.before_opening]),
            "census": None if self.census is None else dataclasses.asdict(self.census),
        }


async def run(sizes: Sizes, workers: int, out_dir: Path, profile: bool) -> dict[str, Any]:
    settings = {
        **SETTINGS_BASE,
        "queue_max_active": sizes.drop_max_active,
        # The fans stand in for pages that keep asking: none is dropped as idle between polls,
        # however long the generator keeps a poll waiting for a connection.
        "queue_idle_seconds": 3 * sizes.drop_max_poll_seconds,
    }
    say("drop: starting the service")
    async with running_service(settings, workers, out_dir / "logs") as server:
        async with ClientPool(server.base_url, sizes.drop_connections) as http:
            concert_id = await fixtures.create_concert(http, "Ticket drop")
            schedule_id = await fixtures.create_schedule(http, concert_id, sizes.drop_seats, PRICE)
            crowd = sizes.drop_users + sizes.drop_late_users
            people = await fixtures.create_users(crowd, BALANCE, "drop")
            drop = Drop(http, sizes, concert_id, schedule_id, people)
            say(
                f"drop: {sizes.drop_users} users join in the {sizes.drop_pre_queue_seconds:.0f} s "
                f"before the sale opens, {sizes.drop_late_users} after, for "
                f"{sizes.drop_seats} seats"
            )
            pids = server.worker_pids()
            before = cpu.snapshot(pids)
            async with profiling.recording("drop", pids, out_dir / "profiles", profile) as recorded:
                await drop.run()
            after = cpu.snapshot(pids)
            figures = drop.figures()
            figures["cpu_cores"] = cpu.usage(before, after, drop.now())
        say("drop: checking the data")
        figures["checks"] = await checks.verify(server.env, drop_state(drop))
    figures["server"] = {"workers": len(pids), "settings": server.settings}
    figures["profiles"] = [recorded.summary()] if profile else []
    return figures


def drop_state(drop: Drop) -> checks.DropState:
    return checks.DropState(
        schedule_id=drop.schedule_id,
        seats=drop.sizes.drop_seats,
        sold=drop.sold,
        sold_out=drop.sold_out.is_set(),
        timeout=drop.sizes.drop_timeout_seconds,
        balances={f.user.id: f.user.balance - f.paid for f in drop.fans},
        charged=sum(f.user.balance for f in drop.fans),
        requests=drop.recorder.total_requests(),
        server_errors=drop.recorder.total_server_errors(),
        has_queue=drop.has_queue,
        arrivals=[f.arrival for f in drop.fans if f.arrival is not None],
        census=drop.census,
    )
