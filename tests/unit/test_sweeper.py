"""The sweeper's loop: it stops when asked, even if a job swallows its cancellation; throttled
jobs run once per period."""

from __future__ import annotations

import asyncio
import contextlib

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
