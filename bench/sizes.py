"""How big each scenario is: the full run and the `--quick` one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    concurrency: tuple[int, ...]
    # Closed-loop measurements (baseline, hold, status): warm-up, then the measured window.
    warmup_seconds: float
    duration_seconds: float
    # Hold: one schedule of `hold_one_seats` seats, and `hold_spread_schedules` schedules that
    # add up to the same number of seats.
    hold_one_seats: int
    hold_spread_schedules: int
    # Each client moves on to a fresh user after this many holds, so that no user piles up
    # thousands of live holds (a benchmark artefact that would slow every later hold).
    holds_per_user: int
    # Drop.
    drop_users: int
    drop_seats: int
    drop_join_seconds: float
    drop_max_active: int
    drop_max_poll_seconds: float
    drop_timeout_seconds: float
    drop_connections: int


FULL = Sizes(
    name="full",
    concurrency=(8, 32, 64),
    warmup_seconds=2,
    duration_seconds=10,
    hold_one_seats=50_000,
    hold_spread_schedules=20,
    holds_per_user=25,
    drop_users=20_000,
    drop_seats=5_000,
    drop_join_seconds=5,
    drop_max_active=500,
    drop_max_poll_seconds=300,
    drop_timeout_seconds=900,
    drop_connections=64,
)

QUICK = Sizes(
    name="quick",
    concurrency=(8, 32, 64),
    warmup_seconds=0.5,
    duration_seconds=1.5,
    hold_one_seats=5_000,
    hold_spread_schedules=20,
    holds_per_user=10,
    drop_users=1_000,
    drop_seats=250,
    drop_join_seconds=1,
    drop_max_active=100,
    drop_max_poll_seconds=30,
    drop_timeout_seconds=120,
    drop_connections=64,
)
