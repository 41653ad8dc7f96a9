"""The closed-loop scenarios against one server: baseline, hold and status, interleaved at
each concurrency so that every ratio compares measurements taken moments apart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bench import fixtures, profiling
from bench.http import ClientPool
from bench.progress import say
from bench.scenarios import baseline, hold, status
from bench.sizes import Sizes
from bench.stack import Server, running_service
from bench.steady import Measurement, closed_loop

PRICE = 50_000
SETTINGS: dict[str, object] = {
    # Everyone is admitted at once: the line is not what these scenarios measure.
    "queue_max_active": 1_000_000,
    "queue_active_ttl_seconds": 3600,
    # Holds outlive the run, so that the sweeper has nothing to release meanwhile.
    "hold_ttl_seconds": 3600,
    "hold_limit": 1_000_000,
}


async def run(
    sizes: Sizes, wanted: set[str], workers: int, out_dir: Path, profile: bool
) -> dict[str, Any]:
    say("closed loop: starting the service")
    async with running_service(SETTINGS, workers, out_dir / "logs") as server:
        return await _run(server, sizes, wanted, out_dir, profile)


async def _run(
    server: Server, sizes: Sizes, wanted: set[str], out_dir: Path, profile: bool
) -> dict[str, Any]:
    top = max(sizes.concurrency)
    async with ClientPool(server.base_url, top) as http:
        concert_id = await fixtures.create_concert(http, "Closed-loop benchmark")
        layouts: list[hold.Layout] = []
        people: list[fixtures.User] = []
        has_queue = False
        if wanted & {"hold", "status"}:
            say("closed loop: creating schedules, users, queue tokens")
            one = await fixtures.create_schedule(http, concert_id, sizes.hold_one_seats, PRICE)
            per = sizes.hold_one_seats // sizes.hold_spread_schedules
            spread = [
                await fixtures.create_schedule(http, concert_id, per, PRICE, days_ahead=31 + i)
                for i in range(sizes.hold_spread_schedules)
            ]
            count = math.ceil(sizes.hold_one_seats / sizes.holds_per_user) + top
            people = await fixtures.create_users(count, 0, "closed")
            say(f"closed loop: admitting {len(people)} users")
            has_queue = await fixtures.admit_all(http, people, concert_id)
            seats_one = await fixtures.seat_ids(http, people[0], one)
            seats_spread: list[int] = []
            for schedule_id in spread:
                seats_spread += await fixtures.seat_ids(http, people[0], schedule_id)
            layouts = [
                hold.layout("one schedule", [one], seats_one, seed=1),
                hold.layout(f"{len(spread)} schedules", spread, seats_spread, seed=2),
            ]
        pids = server.worker_pids()
        measurements: list[Measurement] = []
        profiles: list[profiling.Profile] = []
        feeds = {item.name: iter(people) for item in layouts}
        for concurrency in sizes.concurrency:
            say(f"closed loop: measuring at C={concurrency}")
            measurements.append(
                await closed_loop(
                    "baseline",
                    None,
                    baseline.ENDPOINT,
                    baseline.steps(http, concert_id, concurrency),
                    sizes.warmup_seconds,
                    sizes.duration_seconds,
                    pids,
                )
            )
            if "hold" in wanted:
                for where in layouts:
                    name = f"hold {where.name} c{concurrency}"
                    async with profiling.recording(
                        name, pids, out_dir / "profiles", profile
                    ) as recorded:
                        measurements.append(
                            await closed_loop(
                                "hold",
                                where.name,
                                hold.ENDPOINT,
                                hold.steps(
                                    http,
                                    where,
                                    feeds[where.name],
                                    concurrency,
                                    sizes.holds_per_user,
                                ),
                                sizes.warmup_seconds,
                                sizes.duration_seconds,
                                pids,
                            )
                        )
                    if profile:
                        profiles.append(recorded)
            if "status" in wanted and has_queue:
                measurements.append(
                    await closed_loop(
                        "status",
                        "redis",
                        status.ENDPOINT,
                        status.steps(http, people, concurrency),
                        sizes.warmup_seconds,
                        sizes.duration_seconds,
                        pids,
                    )
                )
    rows = [m.summary() for m in measurements]
    ratios(rows)
    return {
        "server": {"workers": len(pids), "settings": server.settings},
        "waiting_room": has_queue if wanted & {"hold", "status"} else None,
        "measurements": rows,
        "profiles": [p.summary() for p in profiles],
    }


def ratios(rows: list[dict[str, Any]]) -> None:
    """Add each row's throughput as a share of the baseline at the same concurrency, and its
    p99 as a multiple of the baseline's."""
    base = {r["concurrency"]: r for r in rows if r["scenario"] == "baseline"}
    for row in rows:
        ref = base.get(row["concurrency"])
        if ref is None or not ref["throughput_per_s"]:
            continue
        row["ratio_to_baseline"] = round(row["throughput_per_s"] / ref["throughput_per_s"], 3)
        if ref["p99_ms"]:
            row["p99_to_baseline_p99"] = round(row["p99_ms"] / ref["p99_ms"], 2)
