"""The sweeper's loop: it stops when asked, even if a job swallows its cancellation; throttled
jobs run once per period; a job that keeps failing is logged once, not every round."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from boxoffice.sweeper import Sweeper, throttled


async def test_stop_ends_the_loop_even_when_a_job_swallows_the_cancellation() -> None:
    rounds = 0
    in_job = asyncio.Event()

    async def stubborn_job() -> None:
        nonlocal rounds
        rounds += 1
        in_job.set()
        # Some drivers catch the cancellation while closing a connection and carry on.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)

    sweeper = Sweeper({"stubborn": stubborn_job}, interval_seconds=0.01)
    sweeper.start()
    await in_job.wait()
    stopping = asyncio.create_task(sweeper.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    assert done, "stop() is still waiting for the loop"
    stopped_after = rounds
    await asyncio.sleep(0.1)
    assert rounds == stopped_after


async def test_a_failing_job_does_not_stop_the_others() -> None:
    ran: list[str] = []

    async def failing() -> None:
        ran.append("failing")
        raise RuntimeError("boom")

    async def fine() -> None:
        ran.append("fine")

    sweeper = Sweeper({"failing": failing, "fine": fine}, interval_seconds=60)
    await sweeper.run_once()
    assert ran == ["failing", "fine"]


async def test_a_throttled_job_runs_on_the_first_round_then_once_per_period() -> None:
    runs = 0

    async def housekeeping() -> None:
        nonlocal runs
        runs += 1

    sweeper = Sweeper({"slow": throttled(housekeeping, 0.3)}, interval_seconds=60)
    for _ in range(5):
        await sweeper.run_once()
    assert runs == 1
    await asyncio.sleep(0.35)
    await sweeper.run_once()
    await sweeper.run_once()
    assert runs == 2


async def test_a_job_failing_the_same_way_every_round_is_logged_once_then_on_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = True

    async def needs_the_database() -> None:
        if failing:
            raise ConnectionRefusedError("the database is down")

    sweeper = Sweeper({"expire holds": needs_the_database}, interval_seconds=60)
    with caplog.at_level(logging.INFO, logger="boxoffice.sweeper"):
        for _ in range(50):
            await sweeper.run_once()
        failing = False
        await sweeper.run_once()
        await sweeper.run_once()

    logged = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert logged == [
        ("ERROR", "sweep job expire holds failed; it runs again next interval"),
        ("WARNING", "sweep job expire holds works again after 50 failures"),
    ]
    assert caplog.records[0].exc_info is not None


async def test_a_job_failing_a_new_way_is_logged_again_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = iter([ConnectionRefusedError("down"), TimeoutError("slow"), TimeoutError("slow")])

    async def flaky() -> None:
        raise next(errors)

    sweeper = Sweeper({"fold seat counts": flaky}, interval_seconds=60)
    with caplog.at_level(logging.INFO, logger="boxoffice.sweeper"):
        for _ in range(3):
            await sweeper.run_once()

    assert [record.exc_info is not None for record in caplog.records] == [True, True]
