"""Queue status: C clients polling GET /queue/status with their X-Queue-Token."""

from __future__ import annotations

from bench.fixtures import User
from bench.http import ClientPool
from bench.stats import Recorder
from bench.steady import Step

ENDPOINT = "GET /queue/status"


def steps(http: ClientPool, people: list[User], concurrency: int) -> list[Step]:
    def one_client(user: User) -> Step:
        async def step(recorder: Recorder) -> bool:
            await http.call(recorder, ENDPOINT, "GET", "/queue/status", headers=user.headers)
            return True

        return step

    return [one_client(people[i]) for i in range(concurrency)]
