"""How big each scenario is: the full run and the `--quick` one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    concurrency: tuple[int, ...]
    # Steady measurements (wrk): warm-up, then the measured window, in whole seconds.
    warmup_seconds: float
    duration_seconds: float
    # Hold: one schedule of `hold_one_seats` seats (used up across the run; the payments pay
    # for its holds), and `hold_spread_schedules` schedules of `hold_spread_seats` seats in all
    # (put back on sale after each measurement, as is the reference's schedule).
    hold_one_seats: int
    hold_spread_schedules: int
    hold_spread_seats: int
    reference_seats: int
    # Each user holds this many seats, then the next user takes over.
    holds_per_user: int
    # Drop: `drop_users` arrive evenly over the `drop_pre_queue_seconds` before the sale opens
    # and `drop_late_users` evenly over the `drop_join_seconds` after it. Those who joined before
    # it ask about their place again within `drop_opening_spread_seconds` of the opening.
    drop_users: int
    drop_pre_queue_seconds: float
    drop_late_users: int
    drop_join_seconds: float
    drop_opening_spread_seconds: float
    drop_seats: int
    drop_max_active: int
    drop_max_poll_seconds: float
    drop_timeout_seconds: float
    drop_connections: int


FULL = Sizes(
    name="full",
    concurrency=(8, 32, 64),
    warmup_seconds=2,
    duration_seconds=8,
    hold_one_seats=80_000,
    hold_spread_schedules=20,
    hold_spread_seats=40_000,
    reference_seats=50_000,
    holds_per_user=25,
    drop_users=20_000,
    drop_pre_queue_seconds=60,
    drop_late_users=2_000,
    drop_join_seconds=5,
    drop_opening_spread_seconds=10,
    drop_seats=5_000,
    drop_max_active=500,
    drop_max_poll_seconds=300,
    drop_timeout_seconds=900,
    drop_connections=64,
)

QUICK = Sizes(
    name="quick",
    concurrency=(8, 32, 64),
    warmup_seconds=1,
    duration_seconds=2,
    hold_one_seats=20_000,
    hold_spread_schedules=20,
    hold_spread_seats=10_000,
    reference_seats=12_000,
    holds_per_user=25,
    drop_users=1_000,
    drop_pre_queue_seconds=10,
    drop_late_users=200,
    drop_join_seconds=2,
    drop_opening_spread_seconds=2,
    drop_seats=250,
    drop_max_active=100,
    drop_max_poll_seconds=30,
    drop_timeout_seconds=120,
    drop_connections=64,
)
