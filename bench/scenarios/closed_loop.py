"""The steady scenarios against one service and the reference app beside it: at each
concurrency C, reference read, baseline read, reference hold, hold on one schedule, hold on
twenty, pay and queue status, one after the other, so that every ratio compares measurements
taken moments apart."""

from __future__ import annotations

import math
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path
from typing import Any

from bench import fixtures, profiling, seatpool
from bench.fixtures import User
from bench.http import ClientPool
from bench.progress import say
from bench.scenarios import baseline, hold, pay, status
from bench.sizes import Sizes
from bench.stack import Server, running_reference, running_service
from bench.steady import Measurement, measure
from bench.wrk import Request

PRICE = 50_000
SETTINGS: dict[str, object] = {
    # Everyone is admitted at once: the line is not what these scenarios measure.
    "queue_max_active": 1_000_000,
    "queue_active_ttl_seconds": 3600,
    # Holds outlive the run, so that the sweeper has nothing to release meanwhile.
    "hold_ttl_seconds": 3600,
    "hold_limit": 1_000_000,
}
REFERENCE = "reference"


async def run(
    sizes: Sizes, wanted: set[str], workers: int, out_dir: Path, profile: bool
) -> dict[str, Any]:
    say("steady: starting the service and the reference app")
    async with (
        running_service(SETTINGS, workers, out_dir / "logs") as server,
        running_reference(workers, out_dir / "logs") as reference,
    ):
        runner = Runner(server, reference, sizes, out_dir, profile)
        return await runner.run(wanted)


class Runner:
    def __init__(
        self, server: Server, reference: Server, sizes: Sizes, out_dir: Path, profile: bool
    ) -> None:
        self.server = server
        self.reference = reference
        self.sizes = sizes
        self.out_dir = out_dir
        self.profile = profile
        self.pids = server.worker_pids()
        self.reference_pids = reference.worker_pids()
        self.measurements: list[Measurement] = []
        self.profiles: list[profiling.Profile] = []
        # Where the next hold on the one schedule starts: its seats and users are used up.
        self.one_cursor = 0
        self.one_user_cursor = 0

    async def run(self, wanted: set[str]) -> dict[str, Any]:
        async with ClientPool(self.server.base_url, 64) as http:
            self.concert_id = await fixtures.create_concert(http, "Steady benchmark")
            holds = bool(wanted & {"hold", "status"})
            if holds:
                await self._set_up_holds(http)
        await seatpool.analyze()
        for concurrency in self.sizes.concurrency:
            say(f"steady: measuring at C={concurrency}")
            await self._reads(concurrency)
            if "hold" in wanted:
                await self._holds(concurrency)
                await self._payments(concurrency)
            if "status" in wanted and self.has_queue:
                await self._status(concurrency)
        rows = [m.summary() for m in self.measurements]
        ratios(rows)
        return {
            "server": {"workers": len(self.pids), "settings": self.server.settings},
            "reference": {"workers": len(self.reference_pids), "app": "bench/reference/app.py"},
            "waiting_room": self.has_queue if holds else None,
            "measurements": rows,
            "profiles": [p.summary() for p in self.profiles],
        }

    async def _set_up_holds(self, http: ClientPool) -> None:
        sizes = self.sizes
        say("steady: creating schedules")
        one = await fixtures.create_schedule(http, self.concert_id, sizes.hold_one_seats, PRICE)
        per = sizes.hold_spread_seats // sizes.hold_spread_schedules
        spread = [
            await fixtures.create_schedule(http, self.concert_id, per, PRICE, days_ahead=31 + i)
            for i in range(sizes.hold_spread_schedules)
        ]
        ref = await fixtures.create_schedule(
            http, self.concert_id, sizes.reference_seats, PRICE, days_ahead=60
        )
        top = max(sizes.concurrency)
        per_user = sizes.holds_per_user
        # Partly used blocks of users are left behind: some to spare for each measurement.
        one_count = math.ceil(sizes.hold_one_seats / per_user) + top * len(sizes.concurrency)
        spread_count = max(math.ceil(sizes.hold_spread_seats / per_user), top)
        say(f"steady: creating and admitting {one_count + spread_count} users")
        # Enough balance to pay for every seat they hold.
        self.one_users = await fixtures.create_users(one_count, per_user * PRICE, "one")
        self.spread_users = await fixtures.create_users(spread_count, 0, "spread")
        self.has_queue = await fixtures.admit_all(
            http, self.one_users + self.spread_users, self.concert_id
        )
        self.one = hold.Layout(
            "one schedule", [one], await seatpool.seat_ids([one]), self.one_users
        ).shuffled(1)
        self.spread = hold.Layout(
            f"{len(spread)} schedules", spread, await seatpool.seat_ids(spread), self.spread_users
        ).shuffled(2)
        self.ref = hold.Layout(
            REFERENCE, [ref], await seatpool.seat_ids([ref]), self.spread_users
        ).shuffled(3)
        self.users_by_id = {u.id: u for u in self.one_users}

    async def _measure(
        self,
        scenario: str,
        layout: str | None,
        endpoint: str,
        requests: list[Request],
        concurrency: int,
        cycle: bool,
        on_reference: bool = False,
    ) -> Measurement:
        target = self.reference if on_reference else self.server
        pids = self.reference_pids if on_reference else self.pids
        name = f"{scenario} {layout or ''} c{concurrency}".replace("  ", " ")
        recording: AbstractAsyncContextManager[profiling.Profile | None] = nullcontext()
        if self.profile and not on_reference and scenario in ("hold", "pay", "baseline"):
            recording = profiling.recording(name, pids, self.out_dir / "profiles", True)
        async with recording as recorded:
            found = await measure(
                scenario,
                layout,
                endpoint,
                target.root_url,
                requests,
                concurrency,
                self.sizes.warmup_seconds,
                self.sizes.duration_seconds,
                pids,
                cycle,
            )
        if recorded is not None:
            self.profiles.append(recorded)
        self.measurements.append(found)
        return found

    async def _reads(self, c: int) -> None:
        ref = baseline.requests(self.concert_id, prefix="")
        await self._measure(REFERENCE, "read", baseline.ENDPOINT, ref, c, True, True)
        own = baseline.requests(self.concert_id)
        await self._measure("baseline", None, baseline.ENDPOINT, own, c, True)

    async def _holds(self, c: int) -> None:
        per_user = self.sizes.holds_per_user
        ref_owners = hold.in_blocks(self.ref.seats, self.ref.users, c, per_user)
        ref_requests = hold.reference_requests(self.ref.seats, ref_owners)
        await self._measure(REFERENCE, "hold", hold.ENDPOINT, ref_requests, c, False, True)
        await seatpool.put_back_on_sale(self.ref.schedule_ids)

        seats = self.one.seats[self.one_cursor :]
        users = self.one.users[self.one_user_cursor :] or self.one.users
        owners = hold.in_blocks(seats, users, c, per_user)
        found = await self._measure(
            "hold", self.one.name, hold.ENDPOINT, hold.requests(seats, owners), c, False
        )
        used = found.warmup_sent + found.result.sent_lines
        self.one_cursor += used
        self.one_user_cursor += math.ceil(used / (c * per_user)) * c

        owners = hold.in_blocks(self.spread.seats, self.spread.users, c, per_user)
        spread_requests = hold.requests(self.spread.seats, owners)
        await self._measure("hold", self.spread.name, hold.ENDPOINT, spread_requests, c, False)
        await seatpool.put_back_on_sale(self.spread.schedule_ids)

    async def _payments(self, c: int) -> None:
        held = await seatpool.live_holds(self.one.schedule_ids[0])
        if not held:
            return
        requests = pay.requests(held, self.users_by_id)
        await self._measure("pay", None, pay.ENDPOINT, requests, c, False)

    async def _status(self, c: int) -> None:
        people: list[User] = self.spread_users[: max(c, 1)]
        await self._measure("status", "redis", status.ENDPOINT, status.requests(people), c, True)


def ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's throughput as a share of the reference's at the same concurrency (reads of
    the reference read, holds and payments of the reference hold), and its p99 as a multiple
    of the service's own baseline read."""
    ref_read = {
        r["concurrency"]: r for r in rows if r["scenario"] == REFERENCE and r["layout"] == "read"
    }
    ref_hold = {
        r["concurrency"]: r for r in rows if r["scenario"] == REFERENCE and r["layout"] == "hold"
    }
    base = {r["concurrency"]: r for r in rows if r["scenario"] == "baseline"}
    for row in rows:
        c = row["concurrency"]
        against = ref_hold if row["scenario"] in ("hold", "pay") else ref_read
        if row["scenario"] == REFERENCE:
            against = ref_hold if row["layout"] == "hold" else ref_read
        ref = against.get(c)
        if ref is not None and ref["throughput_per_s"]:
            row["ratio_to_reference"] = round(row["throughput_per_s"] / ref["throughput_per_s"], 3)
        own = base.get(c)
        if own is not None and own["p99_ms"]:
            row["p99_to_baseline_p99"] = round(row["p99_ms"] / own["p99_ms"], 2)
